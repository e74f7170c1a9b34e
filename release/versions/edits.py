"""File edits, applied all-or-nothing in one transaction.

Each file is replaced atomically (write a temporary file beside it, then rename), so a process
killed mid-way leaves every file either old or new, never half-written; a failure part-way, in
the writes or in the body of the `transaction` (`uv lock`, the release commit, the next train's
bump), restores every file already replaced.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


class Transaction:
    """The edits written so far, and what each file held before the first of them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.before: dict[Path, str] = {}  # each file written, as it was; in writing order

    def write(self, edits: Sequence[FileEdit]) -> None:
        """Write these edits too: every file must still hold what its edit was planned from
        (checked for all before any is written)."""
        for edit in edits:
            with (self.root / edit.path).open(encoding="utf-8", newline="") as handle:
                current = handle.read()
            if current != edit.old:
                raise ReleaseError(f"{edit.path} changed since the plan was made; nothing "
                                   "written")
        for edit in edits:
            write_atomic(self.root / edit.path, edit.new)
            self.before.setdefault(edit.path, edit.old)

    def roll_back(self, exc: BaseException) -> None:
        """Restore every file written, proven byte for byte; a ReleaseError saying what
        failed (and, if the rollback did too, which files still differ)."""
        left = _roll_back(self.root, self.before)
        if left:
            names = ", ".join(str(p) for p in left)
            raise ReleaseError(
                f"{_reason(exc)}; the rollback failed: {len(left)} file(s) still differ from "
                f"before: {names} (git checkout -- them)") from None
        if isinstance(exc, OSError):
            raise ReleaseError(f"{_reason(exc)}; every file was rolled back (checked byte "
                               "for byte): nothing changed") from None


@contextmanager
def transaction(root: Path, edits: Sequence[FileEdit] = ()) -> Iterator[Transaction]:
    """All or nothing: `edits` are written on entry, the body may write more
    (`t.write(...)`) and do what must succeed with them (`uv lock`, the release commit); if
    anything raises, every file written is restored, else all of them stay."""
    done = Transaction(root)
    try:
        done.write(edits)
        yield done
    except BaseException as exc:
        done.roll_back(exc)
        raise


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"writing the version edits failed: {exc.strerror or exc}{where}"
    return str(exc) or type(exc).__name__


def _roll_back(root: Path, before: dict[Path, str]) -> list[Path]:
    """Restore every file written, then prove it by comparing bytes; the files left."""
    for path, old in reversed(before.items()):
        try:
            write_atomic(root / path, old)
        except OSError:
            try:  # no room for a temporary file: rewrite in place
                (root / path).write_bytes(old.encode())
            except OSError:
                pass
    return [p for p, old in before.items() if _bytes(root / p) != old.encode()]


def _bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        return b"\0unreadable"
