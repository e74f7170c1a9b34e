"""The server tests.helpers.launcher starts: a Python that has imported invoke, release-train
(with every task's adapter), nox and twine once, then forks one child per command. The child is
the command, run exactly as its console script runs it (the same argv, working directory,
environment and standard streams, `sys.exit(main())`), and exits the way a process exits
(threads joined, atexit handlers run, buffered output flushed). What it imports here reads no
variable a test sets and not the working directory (tests/test_launcher.py checks).

Protocol, one connection per command: the client sends a JSON request (program, argv, cwd,
env) with three file descriptors (stdin, stdout, stderr); the server answers the child's pid,
then its exit code (negative: killed by that signal), each as one line."""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import pkgutil
import signal
import socket
import sys
import threading
from typing import NoReturn

PROGRAMS = {  # each as its console script runs it: sys.exit(main())
    "invoke": lambda: importlib.import_module("invoke.main").program.run(),
    "release-train": lambda: importlib.import_module("release.cli").main(),
    "nox": lambda: importlib.import_module("nox.__main__").main(),
    "twine": lambda: importlib.import_module("twine.__main__").main(),
}


def preload() -> None:
    """Import what the commands import: the four programs and every task's adapter. Never
    release.noxsessions, which reads the repository's Pythons when a noxfile imports it."""
    for name in ("invoke.main", "release.cli", "nox.__main__", "twine.__main__"):
        importlib.import_module(name)
    commands = importlib.import_module("release.commands")
    for module in pkgutil.iter_modules(commands.__path__, "release.commands."):
        importlib.import_module(module.name)


def command(request: dict[str, object], fds: list[int]) -> NoReturn:
    """In the child: become the command, run it, exit as the interpreter would."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(str(request["cwd"]))
    os.environ.clear()
    os.environ.update(request["env"])  # type: ignore[arg-type]
    sys.argv = list(request["argv"])  # type: ignore[call-overload]
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        raise SystemExit(PROGRAMS[str(request["program"])]())
    except SystemExit as done:
        status = exit_status(done.code)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        status = 1
    exit_as_the_interpreter_does(status)


def exit_status(code: object) -> int:
    """What the interpreter makes of `sys.exit(code)`."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def exit_as_the_interpreter_does(status: int) -> NoReturn:
    """Wait for the threads that are not daemons, run the atexit handlers (weakref finalizers
    among them), flush the standard streams, and end. The teardown of every module is skipped:
    it prints nothing, and in a forked child it would copy every page of the parent's heap."""
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            status = status or 120
    os._exit(status)


def handle(conn: socket.socket) -> None:
    """In a handler process: fork the command, report its pid and how it ended."""
    message, fds, _, _ = socket.recv_fds(conn, 1 << 22, 3)
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        conn.close()
        command(request, fds)
    for fd in fds:
        os.close(fd)
    reply(conn, pid)
    _, status = os.waitpid(pid, 0)
    reply(conn, os.waitstatus_to_exitcode(status))
    os._exit(0)


def reply(conn: socket.socket, number: int) -> None:
    """One line to the client, which may be gone (it timed out and killed the command)."""
    try:
        conn.sendall(f"{number}\n".encode())
    except OSError:
        pass


def serve(path: str, parent: int) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    listener.settimeout(1.0)
    print("ready", flush=True)
    while os.getppid() == parent:  # the test process that started us is gone: stop
        while True:  # reap finished handlers
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        conn.settimeout(None)
        if os.fork() == 0:
            listener.close()
            handle(conn)
        conn.close()


if __name__ == "__main__":
    sys.path[0] = os.path.dirname(sys.executable)  # as a console script in our venv's bin
    preload()
    gc.freeze()  # the children's collections skip what is imported: fewer pages copied
    serve(sys.argv[1], int(sys.argv[2]))
