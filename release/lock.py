"""One release-train command at a time per repository (and per rehearsal workspace).

Every command that writes (bump, tag, push, build, upload, notes, release, rehearse) holds an
exclusive `flock` on a file in the repository's git directory (a workspace: in the workspace)
while it works. A second command waits a little (`RELEASE_LOCK_WAIT`, default 10 s), then stops
with one line naming the holder's PID and command. The kernel drops the lock when its holder
dies, so a killed run never leaves a stale lock behind; the file is removed on release.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from release.errors import ReleaseError

NAME = "release-train.lock"
_HELD: dict[Path, int] = {}  # lock file -> nesting depth in this process


class LockedError(ReleaseError):
    """Another release-train command holds the lock."""


def wait_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("RELEASE_LOCK_WAIT", "10")))
    except ValueError:
        return 10.0


def lock_file(root: Path) -> Path:
    """The repository's lock: in its git directory (never a file of the tree), else beside it."""
    for base in (root, *root.parents):
        dot_git = base / ".git"
        if dot_git.is_dir() and not dot_git.is_symlink():
            return dot_git / NAME
        if dot_git.is_file():  # a linked worktree: `gitdir: <common>/worktrees/<name>`
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                gitdir = (base / text.removeprefix("gitdir:").strip()).resolve()
                common = gitdir.parent.parent if gitdir.parent.name == "worktrees" else gitdir
                return common / NAME
    return root / f".{NAME}"


def _holder(path: Path) -> str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {data['pid']} ({data['command']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not said who it is yet"


@contextmanager
def held(root: Path, what: str = "repository", path: Path | None = None) -> Iterator[None]:
    """Hold root's lock (re-entrant within this process)."""
    from release.confine import check

    lock = (path or lock_file(root)).absolute()
    if lock in _HELD:
        _HELD[lock] += 1
        try:
            yield
        finally:
            _HELD[lock] -= 1
        return
    deadline = time.monotonic() + wait_seconds()
    while True:
        check(lock)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise LockedError(
                    f"another release-train command is working on the {what} {root}: "
                    f"{_holder(lock)}; wait for it to finish (or end it), then run this "
                    "command again") from None
            time.sleep(0.1)
            continue
        try:  # the holder before us may have removed the file: lock the file that is there
            same = os.fstat(fd).st_ino == os.stat(lock, follow_symlinks=False).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(),
                                 "command": shlex.join([os.path.basename(sys.argv[0]),
                                                        *sys.argv[1:]])}).encode())
        _HELD[lock] = 1
        yield
    finally:
        _HELD.pop(lock, None)
        try:
            lock.unlink(missing_ok=True)
        except OSError:
            pass
        os.close(fd)


P = ParamSpec("P")
R = TypeVar("R")


def locked(root_of: Callable[..., Path]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a writing command: it runs holding the lock of the repository that
    `root_of(*args, **kwargs)` names."""
    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with held(Path(root_of(*args, **kwargs))):
                return func(*args, **kwargs)
        return wrapper
    return decorate


def config_root(config: Any, *_: Any, **__: Any) -> Path:
    """root_of for functions taking a Config first."""
    return Path(config.root)


def first_root(root: Path | str, *_: Any, **__: Any) -> Path:
    """root_of for functions taking the repository's path first."""
    return Path(root)
