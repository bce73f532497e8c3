"""Writing generated files: only inside the output folder, atomically, and never over a user's
non-empty folder unless asked (`--force`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from analyzer.errors import UsageError


def resolve_inside(out_dir: Path, relative: str) -> Path:
    """The absolute path of `relative` under `out_dir`; anything that escapes is refused."""
    base = out_dir.resolve()
    target = (base / relative).resolve()
    if os.path.isabs(relative) or base not in target.parents:
        raise UsageError(f"refusing to write {relative!r}: it is outside {out_dir}")
    return target


def prepare_output(out_dir: Path, force: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise UsageError(f"{out_dir} is not empty; use --force to write into it")
    out_dir.mkdir(parents=True, exist_ok=True)


def write_atomically(path: Path, text: str) -> None:
    """Temporary file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_outputs(out_dir: Path, files: Mapping[str, str], *, force: bool = False) -> list[Path]:
    """Write every file (relative path -> text) under `out_dir`; returns the paths, sorted."""
    prepare_output(out_dir, force)
    targets = {relative: resolve_inside(out_dir, relative) for relative in files}
    written = []
    for relative in sorted(files):
        write_atomically(targets[relative], files[relative])
        written.append(targets[relative])
    return written
