"""Apply a set of file edits all-or-nothing.

Each file is replaced atomically (write a temporary file beside it, then rename), so a process
killed mid-way leaves every file either old or new, never half-written; a failure part-way
restores every file already replaced.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ReleaseError
from .platforms import replace_file


@dataclass(frozen=True)
class FileEdit:
    path: Path  # relative to the repository root
    old: str
    new: str


@dataclass(frozen=True)
class LineChange:
    path: Path
    line: int
    old: str
    new: str


def line_changes(edit: FileEdit) -> list[LineChange]:
    """The changed lines of an edit, for showing a plan."""
    old_lines, new_lines = edit.old.splitlines(), edit.new.splitlines()
    changes = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            old = old_lines[i1 + k] if i1 + k < i2 else ""
            new = new_lines[j1 + k] if j1 + k < j2 else ""
            changes.append(LineChange(edit.path, i1 + k + 1, old, new))
    return changes


def write_atomic(path: Path, text: str) -> None:
    """Replace path's content in one rename, keeping its permission bits."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        replace_file(tmp, path)  # retried while Windows holds it open
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def apply(root: Path, edits: Sequence[FileEdit], after: Callable[[], None] | None = None,
          after_touches: Sequence[Path] = ()) -> None:
    """Write every edit or none. `after` runs once all are written (e.g. `uv lock`); if it
    fails, the edits and the files it may touch (`after_touches`) are restored."""
    for edit in edits:
        with (root / edit.path).open(encoding="utf-8", newline="") as handle:
            current = handle.read()
        if current != edit.old:
            raise ReleaseError(f"{edit.path} changed since the plan was made; nothing written")
    saved = {p: (root / p).read_bytes() if (root / p).exists() else None for p in after_touches}
    done: list[FileEdit] = []
    try:
        for edit in edits:
            write_atomic(root / edit.path, edit.new)
            done.append(edit)
        if after is not None:
            after()
    except BaseException:
        for edit in reversed(done):
            write_atomic(root / edit.path, edit.old)
        for path, content in saved.items():
            if content is None:
                (root / path).unlink(missing_ok=True)
            elif (root / path).read_bytes() != content:
                (root / path).write_bytes(content)
        raise
