"""The one way release-train runs other programs: argv lists, logged, redacted."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import ReleaseError
from .secrets import redact, without_credentials

log = logging.getLogger("release")


class CommandError(ReleaseError):
    """A program we ran exited non-zero."""

    def __init__(self, argv: Sequence[str], returncode: int, output: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.output = redact(output)
        tail = self.output.strip().splitlines()[-1:] or [""]
        super().__init__(
            redact(f"{shlex.join(argv)} exited {returncode}: {tail[0]}".rstrip(": "))
        )


class TimedOut(ReleaseError):
    """A program ran past its deadline (and was killed)."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
    input: str | None = None,
    credentials: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run argv (never through a shell), capture its output, raise CommandError on failure.
    The child gets no credential (secrets.without_credentials) unless it needs them and says
    so (`credentials=True`: twine's upload)."""
    args = [os.fspath(a) for a in argv]
    if not credentials:
        env = without_credentials(os.environ if env is None else env)
    log.debug("run: %s (cwd=%s)", redact(shlex.join(args)), cwd)
    try:
        proc = subprocess.run(
            args,
            cwd=cwd,
            env=None if env is None else dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ReleaseError(f"{args[0]}: program not found; is it installed?") from exc
    except subprocess.TimeoutExpired as exc:
        raise TimedOut(redact(f"{shlex.join(args)} timed out after {timeout} s"),
                       float(timeout or 0)) from exc
    if check and proc.returncode != 0:
        raise CommandError(args, proc.returncode, (proc.stdout or "") + (proc.stderr or ""))
    return proc
