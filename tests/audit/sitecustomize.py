"""Loaded by every Python process started with this directory on PYTHONPATH (the confinement
test): an audit hook logs each path the process writes to $RT_WRITE_LOG, one line each:
pid, event, absolute path. Non-Python children (git, uv) are not seen."""

from __future__ import annotations

import os
import sys

_LOG = os.environ.get("RT_WRITE_LOG")
_WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
# event -> (index of the path written, index of its dir_fd or None)
_TARGET = {"os.rename": (1, 3), "os.replace": (1, 3), "shutil.copyfile": (1, None),
           "shutil.copytree": (1, None), "shutil.move": (1, None), "os.mkdir": (0, 2),
           "os.symlink": (1, 2), "os.link": (1, 3), "os.remove": (0, 1), "os.rmdir": (0, 1),
           "shutil.rmtree": (0, 1), "os.truncate": (0, None), "os.chmod": (0, 2)}


def _install(log: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    busy = []

    def note(event: str, path: object, dir_fd: object = None) -> None:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str | os.PathLike):
            return
        base = os.readlink(f"/proc/self/fd/{dir_fd}") if isinstance(dir_fd, int) and dir_fd >= 0 \
            else os.getcwd()
        full = os.path.normpath(os.path.join(base, os.fspath(path)))
        os.write(fd, f"{os.getpid()}\t{event}\t{full}\n".encode(errors="replace"))

    def hook(event: str, args: tuple[object, ...]) -> None:
        if busy:
            return
        busy.append(1)
        try:
            if event == "open" and len(args) >= 3:
                path, mode, flags = args[:3]
                if isinstance(path, int) or path is None:
                    return
                writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                    isinstance(flags, int) and bool(flags & _WRITING))
                if writing:
                    note(event, path)
            elif event in _TARGET:
                at, fd_at = _TARGET[event]
                if len(args) > at:
                    note(event, args[at], args[fd_at] if fd_at is not None and
                         len(args) > fd_at else None)
        except Exception:  # never break the process under test
            pass
        finally:
            busy.clear()

    sys.addaudithook(hook)


if _LOG:
    _install(_LOG)
