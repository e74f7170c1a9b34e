"""Apply a set of file edits all-or-nothing.

Each file is replaced atomically (write a temporary file beside it, then rename), so a process
killed mid-way leaves every file either old or new, never half-written; a failure part-way
restores every file already replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from release.confine import write_atomic
from release.errors import ReleaseError


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
    """The changed lines of an edit, for showing a plan: linear in the file's size (a version
    edit rewrites spots in place, so lines pair up one to one; when the line count changes,
    the part between the common head and tail is shown paired)."""
    old_lines, new_lines = edit.old.splitlines(), edit.new.splitlines()
    if len(old_lines) == len(new_lines):
        return [LineChange(edit.path, i + 1, old, new)
                for i, (old, new) in enumerate(zip(old_lines, new_lines, strict=True))
                if old != new]
    head = 0
    for old, new in zip(old_lines, new_lines, strict=False):
        if old != new:
            break
        head += 1
    tail = 0
    while (tail < min(len(old_lines), len(new_lines)) - head
           and old_lines[-1 - tail] == new_lines[-1 - tail]):
        tail += 1
    olds, news = old_lines[head:len(old_lines) - tail], new_lines[head:len(new_lines) - tail]
    return [LineChange(edit.path, head + k + 1, olds[k] if k < len(olds) else "",
                       news[k] if k < len(news) else "")
            for k in range(max(len(olds), len(news)))]


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
    except BaseException as exc:
        left = _roll_back(root, done, saved)
        if left:
            names = ", ".join(str(p) for p in left)
            raise ReleaseError(
                f"{_reason(exc)}; the rollback failed: {len(left)} file(s) still differ from "
                f"before: {names} (git checkout -- them)") from None
        if isinstance(exc, OSError):
            raise ReleaseError(f"{_reason(exc)}; every file was rolled back (checked byte "
                               "for byte): nothing changed") from None
        raise


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"writing the version edits failed: {exc.strerror or exc}{where}"
    return str(exc) or type(exc).__name__


def _roll_back(root: Path, done: Sequence[FileEdit], saved: dict[Path, bytes | None]
               ) -> list[Path]:
    """Restore every file written, then prove it by comparing bytes; the files left."""
    for edit in reversed(done):
        try:
            write_atomic(root / edit.path, edit.old)
        except OSError:
            try:  # no room for a temporary file: rewrite in place
                (root / edit.path).write_bytes(edit.old.encode())
            except OSError:
                pass
    for path, content in saved.items():
        try:
            if content is None:
                (root / path).unlink(missing_ok=True)
            elif (root / path).read_bytes() != content:
                (root / path).write_bytes(content)
        except OSError:
            pass
    left = [e.path for e in done if _bytes(root / e.path) != e.old.encode()]
    left += [p for p, content in saved.items() if _bytes(root / p) != content]
    return left


def _bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        return b"\0unreadable"
