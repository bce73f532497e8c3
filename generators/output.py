"""Writing generated files: only inside the output folder, under safe names, atomically, and never
over a user's non-empty folder unless asked (`--force`).

Every file is written to a temporary name beside its target and renamed into place, so a reader
(or a run killed half-way) never sees half a file; `analysis.json` is written last, so its
presence says the run finished. Temporary files left by a killed run are removed by the next.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from analyzer.errors import UsageError

#: Device names Windows reserves in every folder, with any extension (`CON`, `nul.sql`, `COM1`).
RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
)
MAX_NAME_CHARS = 80  # plus a 9-character hash: well under every file system's 255 bytes
TEMPORARY_PREFIX = ".kappa-tmp-"
_TEMPORARY = re.compile(re.escape(TEMPORARY_PREFIX) + r".+\.tmp\Z")
#: Written after everything else: a folder with an `analysis.json` holds a finished run.
WRITTEN_LAST = ("analysis.json",)


def safe_name(name: str) -> str:
    """A file or folder name for an id (dag_id, task_id): ASCII letters, digits, `.`, `_` and `-`
    (anything else becomes `_`), never empty, `.`, `..`, hidden, a Windows device name or longer
    than `MAX_NAME_CHARS`. Where that would lose the name, a short hash of the id is appended, so
    long ids that share a prefix keep apart; other collisions (`a/b` and `a_b`, `Daily` and
    `daily`) are settled over the whole job set by `generators.flink`.

    >>> safe_name("daily_sales"), safe_name("staging.stage_orders"), safe_name("../../etc/passwd")
    ('daily_sales', 'staging.stage_orders', 'etc_passwd')
    >>> safe_name("CON"), safe_name(""), safe_name("日本語")
    ('CON-a3dbc4b6', 'unnamed-e3b0c442', 'unnamed-77710aed')
    """
    cleaned = re.sub(r"[^0-9A-Za-z._-]+", "_", name).strip("._-")
    short = cleaned[:MAX_NAME_CHARS].rstrip("._-")
    if short and short == cleaned and short.split(".", 1)[0].upper() not in RESERVED_NAMES:
        return short
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{short or 'unnamed'}-{digest}"


def resolve_inside(out_dir: Path, relative: str) -> Path:
    """The absolute path of `relative` under `out_dir`; anything that escapes is refused."""
    base = out_dir.resolve()
    if "\x00" in relative or os.path.isabs(relative):
        raise UsageError(f"refusing to write {relative!r}: it is outside {out_dir}")
    target = (base / relative).resolve()
    if base not in target.parents:
        raise UsageError(f"refusing to write {relative!r}: it is outside {out_dir}")
    return target


def remove_temporary_files(out_dir: Path) -> list[Path]:
    """Delete the temporary files a killed run left in `out_dir` (only ours, by their name)."""
    removed = []
    for folder, _, names in os.walk(out_dir):
        for name in names:
            if _TEMPORARY.match(name):
                path = Path(folder) / name
                path.unlink(missing_ok=True)
                removed.append(path)
    return sorted(removed)


def prepare_output(out_dir: Path, force: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} exists and is not a folder")
    if out_dir.is_dir():
        remove_temporary_files(out_dir)
    # empty folders (what a run killed before its first file leaves) hold nothing to overwrite
    if out_dir.is_dir() and any(not p.is_dir() for p in out_dir.rglob("*")) and not force:
        raise UsageError(f"{out_dir} is not empty; use --force to write into it")
    out_dir.mkdir(parents=True, exist_ok=True)


def write_atomically(path: Path, text: str | Iterable[str]) -> None:
    """Temporary file in the same folder, then rename: readers never see half a file. `text` may
    come in pieces (a large analysis.json is never held as one string)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMPORARY_PREFIX}{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); the result is shared like any file the user writes
        os.fchmod(handle, _mode_for_new_files())
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.writelines((text,) if isinstance(text, str) else text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode_for_new_files() -> int:
    """0666 less the process's umask: what `open()` would have given the file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_outputs(out_dir: Path, files: Mapping[str, str | Iterable[str]], *, force: bool = False) -> list[Path]:
    """Write every file (relative path -> text, or its pieces) under `out_dir`, `analysis.json`
    last; returns the paths, sorted. Every path is checked before the first file is written."""
    prepare_output(out_dir, force)
    targets = {relative: resolve_inside(out_dir, relative) for relative in files}
    for relative in sorted(files, key=lambda r: (r in WRITTEN_LAST, r)):
        write_atomically(targets[relative], files[relative])
    return sorted(targets.values())
