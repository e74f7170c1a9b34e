"""Run `invoke ...`, `release-train ...`, `nox ...` and `twine ...` as users type them, without
paying Python's start-up and the programs' imports for each of the ~540 commands the suite types.

A server per test process (tests/helpers/launchpad.py) imports the four programs' modules once
and forks a child per command: the child is the command, with the argv, working directory,
environment and standard streams it would have, and it ends the way the process ends (exit
code, or the signal that killed it). RELEASE_TESTS_SPAWN=1 starts each command as its own
process instead (`RELEASE_TESTS_SPAWN=1 python -m pytest`), and tests/test_launcher.py checks
that both ways give the same output for the same command. Tests that are about the installed
programs themselves (tests/commands/test_surface.py's pipes and plain `invoke`, the lock's two
bumps at once, random kills) start them directly."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

SERVER = Path(__file__).with_name("launchpad.py")


def spawning() -> bool:
    """True: every command is its own process (RELEASE_TESTS_SPAWN=1)."""
    return os.environ.get("RELEASE_TESTS_SPAWN", "") not in ("", "0")


class Launcher:
    """The server of this test process, started on first use."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.home = ""
        atexit.register(self.close)

    def socket_path(self) -> str:
        if self.process is None or self.process.poll() is not None:
            self.home = tempfile.mkdtemp(prefix="rt-launch-")
            path = os.path.join(self.home, "s")
            self.process = subprocess.Popen(
                [sys.executable, str(SERVER), path, str(os.getpid())], env=dict(os.environ),
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
            assert self.process.stdout is not None
            assert self.process.stdout.readline() == "ready\n", "the launch server did not start"
        return os.path.join(self.home, "s")

    def close(self) -> None:
        """Stop the server (if one is running) and remove its socket's directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.home, ignore_errors=True)

    def run(self, program: str, argv: list[str], *, cwd: Path, env: dict[str, str],
            timeout: float, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """The finished command: like subprocess.run(argv, capture_output=True, text=True)."""
        path = self.socket_path()  # started with this process's environment, not env
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
                tempfile.TemporaryFile() as given, \
                socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            given.write((stdin or "").encode())
            given.seek(0)
            conn.connect(path)
            conn.settimeout(60)
            request = {"program": program, "argv": argv, "cwd": str(cwd), "env": env}
            socket.send_fds(conn, [json.dumps(request).encode()],
                            [given.fileno(), out.fileno(), err.fileno()])
            replies = conn.makefile("r")
            pid = int(replies.readline())
            conn.settimeout(timeout)
            try:
                ended = replies.readline()
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(argv, timeout) from None
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(argv, int(ended), _text(out.read()),
                                               _text(err.read()))


def _text(data: bytes) -> str:
    """As subprocess's text mode decodes: UTF-8 here, universal newlines."""
    return data.decode().replace("\r\n", "\n").replace("\r", "\n")


_LAUNCHER = Launcher()


def run(program: str, args: list[str] | tuple[str, ...], *, cwd: Path, env: dict[str, str],
        timeout: float, bin_dir: Path, stdin: str | None = None,
        check: bool = False) -> subprocess.CompletedProcess[str]:
    """`program ARGS` (invoke, release-train, nox or twine, from bin_dir) in cwd with env."""
    argv = [str(bin_dir / program), *args]
    if spawning():
        done = subprocess.run(argv, cwd=cwd, env=env, input=stdin or "", capture_output=True,
                              text=True, timeout=timeout)
    else:
        done = _LAUNCHER.run(program, argv, cwd=cwd, env=env, timeout=timeout, stdin=stdin)
    if check:
        done.check_returncode()
    return done
