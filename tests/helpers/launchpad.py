"""The server tests.helpers.launcher starts: a Python that has imported `invoke` and
`release.cli` once, then forks one child per command. The child is the command, run exactly as
its console script runs it (the same argv, working directory, environment and standard streams,
`sys.exit(program.run())`), and exits the way a process exits (atexit handlers, buffered output
flushed). No module is imported here that reads the environment when imported.

Protocol, one connection per command: the client sends a JSON request (program, argv, cwd,
env) with three file descriptors (stdin, stdout, stderr); the server answers the child's pid,
then its exit code (negative: killed by that signal), each as one line."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

import invoke.main

import release.cli

PROGRAMS = {"invoke": lambda: invoke.main.program.run(),
            "release-train": lambda: release.cli.main()}


def command(request: dict[str, object], fds: list[int]) -> None:
    """In the child: become the command, then exit through the interpreter as it would."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(str(request["cwd"]))
    os.environ.clear()
    os.environ.update(request["env"])  # type: ignore[arg-type]
    sys.argv = list(request["argv"])  # type: ignore[call-overload]
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    raise SystemExit(PROGRAMS[str(request["program"])]())


def handle(conn: socket.socket) -> None:
    """In a handler process: fork the command, report its pid and how it ended."""
    message, fds, _, _ = socket.recv_fds(conn, 1 << 22, 3)
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        conn.close()
        command(request, fds)  # raises SystemExit: the interpreter ends the child
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
    serve(sys.argv[1], int(sys.argv[2]))
