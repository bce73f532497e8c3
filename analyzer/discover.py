"""Find the files of an Airflow repository, and read them safely.

`discover(root)` walks the tree without following symlinked directories out of the root, and
sorts what it finds so every later stage sees files in the same order. `read_text` is the only
way the scanner reads a user's file: size-capped, UTF-8 checked, binary detected, confined to
the root. Problems become E0xx findings, never exceptions.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import scan_error
from .models import Finding, Inventory

MAX_FILE_BYTES = 5 * 1024 * 1024  # DAG and SQL files larger than this are generated or data: skip
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".venv",
        "venv",
        "node_modules",
        ".tox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".kappa-cache",
        "site-packages",
    }
)
SQL_SUFFIXES = frozenset({".sql", ".hql", ".bql"})


@dataclass(frozen=True)
class ReadResult:
    text: str | None
    finding: Finding | None = None


def relative(path: Path, root: Path) -> str:
    """POSIX path of `path` relative to `root` (or the path itself when outside)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def is_file(path: Path) -> bool:
    """`path.is_file()` that never raises: a name too long, a NUL byte or a loop is no file."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def is_dir(path: Path) -> bool:
    """`path.is_dir()` that never raises (see `is_file`)."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _is_symlink(path: Path) -> bool:
    try:
        return path.is_symlink()
    except (OSError, ValueError):
        return False


def inside_root(path: Path, root: Path) -> bool:
    """True when `path`, with every symlink resolved, lies under `root` (already resolved)."""
    try:
        path.resolve(strict=True).relative_to(root)
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def read_bytes(path: Path, root: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[bytes | None, Finding | None]:
    """Read a file under `root`, reporting loops, escapes, size and I/O errors as findings."""
    rel = relative(path, root)
    try:
        resolved = path.resolve(strict=True)
    except RuntimeError:
        return None, scan_error("E006", f"symbolic link loop at {rel}", rel)
    except OSError as error:
        if _is_symlink(path):
            return None, scan_error("E006", f"broken symbolic link {rel}", rel)
        return None, scan_error("E003", f"cannot read {rel}: {error.strerror or type(error).__name__}", rel)
    except ValueError:  # a NUL byte in the name
        return None, scan_error("E003", f"cannot read {rel}: not a valid file name", rel)
    try:
        resolved.relative_to(root)
    except ValueError:
        return None, scan_error("E007", f"{rel} resolves outside the scanned root", rel)
    try:
        status = resolved.stat()
        if not stat.S_ISREG(status.st_mode):  # a FIFO or device would block or never end
            return None, scan_error("E003", f"cannot read {rel}: not a regular file", rel)
        size = status.st_size
        if size > max_bytes:
            message = f"{rel} is {size} bytes, over the {max_bytes}-byte limit; skipped"
            return None, scan_error("E005", message, rel)
        with resolved.open("rb") as handle:
            return handle.read(max_bytes + 1), None
    except OSError as error:
        return None, scan_error("E003", f"cannot read {rel}: {error.strerror or type(error).__name__}", rel)


def decode(data: bytes, rel: str) -> ReadResult:
    """Decode UTF-8 (with or without BOM); binary and other encodings become findings."""
    if b"\x00" in data[:8192]:
        return ReadResult(None, scan_error("E004", f"{rel} contains NUL bytes; looks binary, skipped", rel))
    try:
        return ReadResult(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        col = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        message = f"{rel} is not valid UTF-8 (byte 0x{data[error.start]:02x} at line {line}); skipped"
        return ReadResult(None, scan_error("E002", message, rel, line, col))


def read_text(path: Path, root: Path, max_bytes: int = MAX_FILE_BYTES) -> ReadResult:
    """Read a user's text file safely: the only door through which scanned content enters."""
    data, finding = read_bytes(path, root, max_bytes)
    if data is None:
        return ReadResult(None, finding)
    return decode(data, relative(path, root))


def _walk(root: Path) -> tuple[list[Path], list[Finding]]:
    files: list[Path] = []
    findings: list[Finding] = []
    seen_dirs: set[tuple[int, int]] = set()

    def on_error(error: OSError) -> None:
        where = Path(error.filename) if error.filename else root
        findings.append(
            scan_error("E003", f"cannot list {relative(where, root)}: {error.strerror}", relative(where, root))
        )

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=True):
        current = Path(dirpath)
        try:
            status = current.stat()
        except OSError:
            dirnames[:] = []
            continue
        identity = (status.st_dev, status.st_ino)
        if identity in seen_dirs:
            findings.append(
                scan_error("E006", f"symbolic link loop at {relative(current, root)}", relative(current, root))
            )
            dirnames[:] = []
            continue
        seen_dirs.add(identity)
        kept = []
        for name in sorted(dirnames):
            if name in SKIPPED_DIRS or name.endswith(".egg-info"):
                continue
            child = current / name
            if child.is_symlink() and not inside_root(child, root):
                rel = relative(child, root)
                code = "E006" if _is_broken_or_loop(child) else "E007"
                message = f"symbolic link loop at {rel}" if code == "E006" else f"{rel} links outside the scanned root"
                findings.append(scan_error(code, message, rel))
                continue
            kept.append(name)
        dirnames[:] = kept
        files.extend(current / name for name in sorted(filenames))
    return files, findings


def _is_broken_or_loop(path: Path) -> bool:
    try:
        path.resolve(strict=True)
    except (OSError, RuntimeError):
        return True
    return False


def discover(root: Path) -> Inventory:
    """List the Python and SQL files under `root`, sorted, with findings for what cannot be listed.

    Nothing is read here: the pipeline reads each Python file once, for both the DAG parse and the
    index of custom operators.
    """
    root = root.resolve()
    paths, findings = _walk(root)
    python_files: list[str] = []
    sql_files: list[str] = []
    for path in paths:
        suffix = path.suffix.lower()
        if suffix not in SQL_SUFFIXES and suffix != ".py":
            continue
        rel = relative(path, root)
        if path.is_symlink() and not inside_root(path, root):
            code = "E006" if _is_broken_or_loop(path) else "E007"
            message = f"symbolic link {rel} is broken or loops" if code == "E006" else f"{rel} links outside the root"
            findings.append(scan_error(code, message, rel))
            continue
        if suffix in SQL_SUFFIXES:
            sql_files.append(rel)
            continue
        python_files.append(rel)
    return Inventory(
        root=root.as_posix(),
        python_files=tuple(python_files),
        sql_files=tuple(sql_files),
        findings=tuple(sorted(findings, key=Finding.sort_key)),
    )
