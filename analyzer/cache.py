"""The scan cache (`.kappa-cache/`): one entry per scanned file, reused while nothing it read changed.

An entry holds what scanning one file produced (its DAGs, jobs, parsed statements and their
analyses) and a manifest of everything that result depends on:

- the context: kappa's own code (version and a digest of the `analyzer` sources), the versions
  of sqlglot, jinja2 and Python, the scanned root, the configuration, and the repository's
  layout (the names of every file and folder under the root: the scanner asks whether files
  exist when it looks for an imported module or a template, so adding, removing or renaming a
  file invalidates every entry);
- every file the scan of that file read, with a digest of its content: the file itself, the
  repository modules it imports, the `.sql` files it reads through `template_searchpath` or
  `open()`, the templates a `{% include %}` pulls in;
- every custom operator class it looked up in the repository's class index, with its value.

An entry is used only when all of these are unchanged, so a cached scan gives the same
`analysis.json` bytes as a fresh one. One more entry holds the whole run's analysed result (the
rules, classification and lineage are repository-wide, so no file's entry can hold them): its
manifest lists every file any part of the scan read, and an unchanged repository is answered
from it alone (`pipeline.RunRecord`). A missing, stale, corrupt or unreadable entry is a cache
miss, never an error; the folder is safe to delete. Entries are written atomically (a temporary
file renamed into place), so concurrent scans never read half an entry.

Entries are pickles, read back with an unpickler that only builds the analyzer's own model
classes (and a few plain standard types): a cache folder shipped inside a scanned repository
cannot run code, in keeping with the scanner's promise never to run the repository's code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import io
import os
import pickle
import queue
import struct
import sys
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

from . import __version__
from .discover import SKIPPED_DIRS

CACHE_DIR_NAME = ".kappa-cache"
FORMAT = 1
_MAGIC = b"kappa-cache\x00\x00\x00\x00" + bytes([FORMAT])  # 16 bytes
_LENGTH = struct.Struct("<Q")
_PROTOCOL = 5
_GITIGNORE = "# created by kappa-migrate; safe to delete\n*\n"
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by kappa-migrate.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)

# Dependency kinds: how the scanner read a file, and so how its digest is taken.
TEXT = "text"  # through the scanner's own reader (discover.read_text): decoded text, or the finding
BYTES = "bytes"  # opened directly (Jinja includes): the raw bytes


def digest(*parts: str | bytes) -> str:
    """A short, stable content digest (BLAKE2b, 128 bits) of the parts, in order."""
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        hasher.update(_LENGTH.pack(len(data)))
        hasher.update(data)
    return hasher.hexdigest()


def bytes_digest(path: Path) -> str:
    """Digest of a file's bytes; a file that cannot be read has the digest of that fact."""
    try:
        return digest(b"bytes", path.read_bytes())
    except OSError as error:
        return digest(b"unreadable", type(error).__name__)


@cache
def tool_digest() -> str:
    """Everything about kappa itself that a scan result depends on.

    The version alone is not enough: a development checkout changes the scanner without a new
    version, so the digest covers the source of every `analyzer` module too.
    """
    package = Path(__file__).resolve().parent
    sources = sorted(package.rglob("*.py"))
    versions = [_version_of(name) for name in ("sqlglot", "sqlglotc", "jinja2", "networkx", "pyyaml")]
    parts: list[str | bytes] = [__version__, *versions, sys.version, str(FORMAT)]
    for source in sources:
        parts.extend((source.relative_to(package).as_posix(), source.read_bytes()))
    return digest(*parts)


def _version_of(distribution: str) -> str:
    try:
        return f"{distribution} {metadata.version(distribution)}"
    except metadata.PackageNotFoundError:
        return f"{distribution} -"


def layout_digest(root: Path, exclude: Iterable[Path] = ()) -> str:
    """Digest of the names (and kinds, and symlink targets) of everything under `root`.

    Content is not part of it: only whether files exist, which is what the scanner's look-ups
    of modules and templates see. Folders the scanner never enters are left out, and so is the
    cache folder itself when it lies under the root.
    """
    excluded = {os.path.normpath(path) for path in exclude}
    names: list[str] = []
    for folder, dirnames, filenames in os.walk(root):
        relative = os.path.relpath(folder, root)
        kept = []
        for name in sorted(dirnames):
            path = os.path.join(folder, name)
            if name in SKIPPED_DIRS or name.endswith(".egg-info") or os.path.normpath(path) in excluded:
                continue
            if os.path.islink(path):
                names.append(f"l {relative}/{name} -> {_readlink(path)}")
                continue  # followed (or refused) by the scanner at its target, which is listed there
            names.append(f"d {relative}/{name}")
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            path = os.path.join(folder, name)
            if os.path.islink(path):
                names.append(f"l {relative}/{name} -> {_readlink(path)}")
            else:
                names.append(f"f {relative}/{name}")
    return digest("\n".join(names))


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def default_cache_dir() -> Path:
    """`.kappa-cache/` in the working directory, as mypy, ruff and pytest keep theirs."""
    return Path.cwd() / CACHE_DIR_NAME


# ------------------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class Dependency:
    kind: str  # TEXT | BYTES: how the scan read the file (a run's entry names itself with its own kind)
    path: str  # root-relative, POSIX
    digest: str


@dataclass(frozen=True)
class Manifest:
    """What an entry's result depends on, checked before the result is used."""

    context: str  # tool, root, configuration and layout
    own: Dependency  # the scanned file itself
    reads: tuple[Dependency, ...] = ()  # every other file its scan read
    lookups: tuple[tuple[str, str], ...] = ()  # class name -> repr of the class index's value
    classes: Mapping[str, Any] = field(default_factory=dict)  # the classes the file defines


class Entry:
    """A cache entry as read from disk: the manifest now, the payload when asked for."""

    def __init__(self, manifest: Manifest, path: Path, header: bytes = b"") -> None:
        self.manifest = manifest
        self._path = path
        self._header = header  # the manifest as stored: the body is read only behind the same one

    def payload(self) -> Any | None:
        """The cached result, or None when the entry cannot be read back."""
        parts = self.payload_parts()
        return parts[0] if parts is not None and len(parts) == 1 else None

    def payload_parts(self) -> list[Any] | None:
        """The parts of a result written in parts (`write_object_entry`), or None.

        The body is inflated as the unpickler reads it: a whole run's entry holds hundreds of
        megabytes of pickle for a large repository, which are never in memory at once.
        """
        try:
            with self._path.open("rb") as handle:
                prefix = handle.read(len(_MAGIC) + _LENGTH.size)
                header = handle.read(_LENGTH.unpack_from(prefix, len(_MAGIC))[0])
                if header != self._header:  # another scan replaced the entry since its manifest was read
                    return None
                with io.BufferedReader(_Inflating(handle), _CHUNK) as body:
                    parts = [_ModelUnpickler(body).load()]
                    while body.peek(1):
                        parts.append(_ModelUnpickler(body).load())
                    return parts
        except Exception:  # a corrupt entry is a miss, whatever went wrong with it
            return None


_CHUNK = 1 << 16


class _Inflating(io.RawIOBase):
    """The zlib stream of an entry's body, inflated a piece at a time."""

    def __init__(self, compressed: io.BufferedIOBase) -> None:
        self._compressed = compressed
        self._inflater = zlib.decompressobj()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wanted = len(buffer)
        while not self._inflater.eof:
            data = self._inflater.unconsumed_tail or self._compressed.read(_CHUNK)
            if not data:
                raise EOFError("the entry's body is cut short")
            out = self._inflater.decompress(data, wanted)
            if out:
                buffer[: len(out)] = out
                return len(out)
        return 0


class _Deflating:
    """Compresses the byte strings given to it into `target`, on a thread of its own.

    zlib and the file write let go of the interpreter lock, so a run's entry is compressed while
    its next part is pickled (compressing was two thirds of storing a 10,000-DAG run). A few parts
    wait at most; `finish` waits for the last and raises what the thread met.
    """

    _WAITING = 4

    def __init__(self, target: io.BufferedIOBase) -> None:
        self._target = target
        self._parts: queue.Queue[bytes | None] = queue.Queue(self._WAITING)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kappa-cache-deflate", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        deflater = zlib.compressobj(1)
        while (data := self._parts.get()) is not None:
            if self._error is None:  # after a failure, only drain: the writer is not left waiting
                try:
                    self._target.write(deflater.compress(data))
                except BaseException as error:  # handed to the writer by `finish`
                    self._error = error
        if self._error is None:
            try:
                self._target.write(deflater.flush())
            except BaseException as error:  # as above
                self._error = error

    def write(self, data: bytes) -> None:
        self._parts.put(data)

    def finish(self) -> None:
        self._parts.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def encode_entry(manifest: Manifest, payload_pickle: bytes) -> bytes:
    return _entry_header(manifest) + zlib.compress(payload_pickle, 1)


def _entry_header(manifest: Manifest) -> bytes:
    header = pickle.dumps(manifest, protocol=_PROTOCOL)
    return _MAGIC + _LENGTH.pack(len(header)) + header


def _read_manifest(path: Path) -> tuple[Manifest, bytes] | None:
    """An entry's manifest, and its bytes as stored."""
    try:
        with path.open("rb") as handle:
            prefix = handle.read(len(_MAGIC) + _LENGTH.size)
            if len(prefix) != len(_MAGIC) + _LENGTH.size or not prefix.startswith(_MAGIC):
                return None
            length = _LENGTH.unpack_from(prefix, len(_MAGIC))[0]
            if length > 64 * 1024 * 1024:
                return None
            header = handle.read(length)
            manifest = safe_loads(header)
    except Exception:  # unreadable or corrupt: a miss
        return None
    return (manifest, header) if isinstance(manifest, Manifest) else None


@dataclass
class ScanCache:
    """The entries of one scanned root, under `directory` (usually `.kappa-cache/`)."""

    directory: Path
    root: Path
    context: str
    used: set[str] = field(default_factory=set)

    @property
    def folder(self) -> Path:
        return self.directory / f"v{FORMAT}" / digest(self.root.as_posix())[:16]

    def slot(self, kind: str, relative: str) -> Path:
        return self.folder / f"{digest(kind, relative)}.entry"

    def entry(self, kind: str, relative: str, context: str | None = None) -> Entry | None:
        """The entry in a slot, when it was written in `context` (default: the cache's own)."""
        path = self.slot(kind, relative)
        self.used.add(path.name)
        found = _read_manifest(path)
        if found is None or found[0].context != (context or self.context):
            return None
        return Entry(found[0], path, found[1])

    def prepare(self) -> None:
        """Create the folder, with a `.gitignore` that keeps it out of any repository."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, text in ((".gitignore", _GITIGNORE), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
            marker = self.directory / name
            if not marker.exists():
                with contextlib.suppress(OSError):
                    marker.write_text(text, encoding="utf-8")

    def sweep(self) -> int:
        """Remove the entries of files this run did not see (deleted or renamed); their number."""
        removed = 0
        with contextlib.suppress(OSError):
            for path in self.folder.iterdir():
                if path.suffix == ".entry" and path.name not in self.used:
                    with contextlib.suppress(OSError):
                        path.unlink()
                        removed += 1
        return removed


def write_entry(folder: Path, name: str, data: bytes) -> None:
    """Write atomically; a cache that cannot be written is simply not written."""
    _write_atomically(folder, name, lambda out: out.write(data))


def write_object_entry(folder: Path, name: str, manifest: Manifest, parts: Iterable[Any]) -> None:
    """`write_entry` for a large payload, given in parts (read back by `Entry.payload_parts`):
    each is pickled on its own and compressed into the file, so neither the pickle of a whole run
    nor the pickler's memory of every object it wrote (which lasts until the end of its dump:
    about half the size of the pickle) is ever whole in memory."""

    def write(out: io.BufferedIOBase) -> None:
        out.write(_entry_header(manifest))
        body = _Deflating(out)
        try:
            for part in parts:
                body.write(pickle.dumps(part, protocol=_PROTOCOL))
        finally:  # the thread ends whether or not every part was pickled
            body.finish()

    _write_atomically(folder, name, write)


def _write_atomically(folder: Path, name: str, write: Callable[[io.BufferedIOBase], object]) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".entry")
        try:
            with os.fdopen(handle, "wb") as out:
                write(out)
            os.replace(temporary, folder / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError:
        return


# ---------------------------------------------------------------------------- safe unpickling

_PLAIN_TYPES = {
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("datetime", "date"),
    ("datetime", "datetime"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
    ("builtins", "str"),
}


class _ModelUnpickler(pickle.Unpickler):
    """Builds only the analyzer's dataclasses, enums and string subclasses, and plain types."""

    # (module, name) -> the class, once allowed: a cached scan loads thousands of entries
    _allowed: ClassVar[dict[tuple[str, str], Any]] = {}

    def find_class(self, module: str, name: str) -> Any:
        allowed = self._allowed.get((module, name))
        if allowed is not None:
            return allowed
        if (module, name) in _PLAIN_TYPES:
            found = super().find_class(module, name)
        elif module == "analyzer" or module.startswith("analyzer."):
            found = super().find_class(module, name)
            if not isinstance(found, type) or not (
                dataclasses.is_dataclass(found) or issubclass(found, enum.Enum | str | int | float)
            ):
                raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a cache entry")
        else:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a cache entry")
        self._allowed[(module, name)] = found
        return found


def safe_loads(data: bytes) -> Any:
    """`pickle.loads` restricted to the analyzer's own models."""
    return _ModelUnpickler(io.BytesIO(data)).load()


# ------------------------------------------------------------------------ recording file opens


class OpenRecorder:
    """Files under the root opened while recording, seen through Python's `open` audit event.

    The renderer reads `{% include %}` targets itself rather than through the scanner's reader,
    so those reads are observed where every read ends up: in `open`. Only one recorder runs at a
    time per process (the scan of one file); the hook stays installed, idle, afterwards.
    """

    _active: OpenRecorder | None = None
    _installed = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self.paths: set[str] = set()

    def __enter__(self) -> OpenRecorder:
        if not OpenRecorder._installed:
            sys.addaudithook(_audit)
            OpenRecorder._installed = True
        OpenRecorder._active = self
        return self

    def __exit__(self, *_: object) -> None:
        OpenRecorder._active = None

    def relative(self, path: str) -> str | None:
        try:
            return Path(os.path.abspath(path)).relative_to(self.root).as_posix()
        except ValueError:
            return None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    recorder = OpenRecorder._active
    if recorder is None or event != "open" or not args:
        return
    target = args[0]
    if isinstance(target, str | bytes | os.PathLike):
        path = os.fsdecode(target)
        relative = recorder.relative(path)
        if relative is not None:
            recorder.paths.add(relative)


def recorded(paths: Iterable[str], known: Iterable[str]) -> Iterator[str]:
    """The recorded paths not already known as dependencies, sorted."""
    seen = set(known)
    yield from sorted(path for path in paths if path not in seen)
