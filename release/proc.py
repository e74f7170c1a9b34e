"""The one way release-train runs other programs: argv lists, logged, redacted, and the one
way a child's environment is scrubbed (`scrubbed_env`: no credential, and for a child that
builds or installs, nothing that configures pip, uv or Python)."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from release.errors import ReleaseError
from release.redaction import redact, without_credentials

log = logging.getLogger("release")

# What steers pip, uv or the interpreter itself (extra indexes, find-links, search paths, the
# active environment): a child that builds or installs never inherits it, and reads no
# configuration file in its place.
INSTALLER_PREFIXES = ("PIP_", "UV_", "PYTHON", "VIRTUAL_ENV", "CONDA")
INSTALLER_NAMES = ("__PYVENV_LAUNCHER__",)
NO_CONFIG = {"PIP_CONFIG_FILE": os.devnull, "UV_NO_CONFIG": "1", "PYTHONNOUSERSITE": "1"}


def scrubbed_env(*, isolated: bool = False, prefixes: Sequence[str] = (),
                 names: Collection[str] = (), **values: str) -> dict[str, str]:
    """The process environment for a child: never a credential (without_credentials), nor a
    variable in `names` or starting with one of `prefixes`; `isolated` also takes out what
    configures pip, uv and Python and turns their configuration files off. `values` last."""
    drop = tuple(prefixes) + (INSTALLER_PREFIXES if isolated else ())
    dropped = set(names) | (set(INSTALLER_NAMES) if isolated else set())
    env = {k: v for k, v in without_credentials(os.environ).items()
           if not k.startswith(drop) and k not in dropped}
    if isolated:
        env.update(NO_CONFIG)
    env.update(values)
    return env


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


def run_together(
    commands: Sequence[Sequence[str | os.PathLike[str]]],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    credentials: bool = False,
) -> list[subprocess.CompletedProcess[str]]:
    """Run several commands at once (argv lists, logged, redacted, like `run`). The first to
    exit non-zero stops the others (SIGTERM, then SIGKILL) and raises its CommandError; past
    the deadline all are stopped and TimedOut raised. Output goes to files, never pipes: a
    chatty child cannot block on a full pipe while its siblings run."""
    argvs = [[os.fspath(a) for a in argv] for argv in commands]
    if not credentials:
        env = without_credentials(os.environ if env is None else env)
    started = time.monotonic()
    procs: list[tuple[list[str], subprocess.Popen[str], IO[str]]] = []
    try:
        for args in argvs:
            log.debug("run: %s (one of %d at once)", redact(shlex.join(args)), len(argvs))
            out = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace",
                                              prefix="release-run-")
            try:
                child = subprocess.Popen(args, env=None if env is None else dict(env),
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, text=True)
            except FileNotFoundError as exc:
                out.close()
                raise ReleaseError(f"{args[0]}: program not found; is it installed?") from exc
            procs.append((args, child, out))
        while any(child.poll() is None for _, child, _ in procs):
            failed = next(((a, c, o) for a, c, o in procs if c.returncode not in (None, 0)),
                          None)
            if failed is not None:
                _stop(procs)
                raise CommandError(failed[0], failed[1].returncode, _read(failed[2]))
            if timeout is not None and time.monotonic() - started > timeout:
                _stop(procs)
                raise TimedOut(redact(f"{shlex.join(argvs[0])} (and {len(argvs) - 1} more) "
                                      f"timed out after {timeout} s"), float(timeout))
            time.sleep(0.02)
        failed = next(((a, c, o) for a, c, o in procs if c.returncode != 0), None)
        if failed is not None:
            raise CommandError(failed[0], failed[1].returncode, _read(failed[2]))
        return [subprocess.CompletedProcess(a, 0, _read(o), "") for a, _, o in procs]
    finally:
        _stop(procs)
        for _, _, kept in procs:
            kept.close()


class Started:
    """A program started before the parent knows what to tell it: it prepares (imports,
    say) while the parent works, then gets its input on stdin (`finish`) or is stopped."""

    def __init__(self, args: list[str], child: subprocess.Popen[str]) -> None:
        self.args = args
        self.child = child

    def finish(self, input: str, timeout: float | None = None
               ) -> subprocess.CompletedProcess[str]:
        """Send `input`, wait for the exit; CommandError when non-zero, TimedOut (after
        stopping it) past the deadline."""
        try:
            out, _ = self.child.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.stop()
            raise TimedOut(redact(f"{shlex.join(self.args)} timed out after {timeout} s"),
                           float(timeout or 0)) from exc
        if self.child.returncode != 0:
            raise CommandError(self.args, self.child.returncode, out or "")
        return subprocess.CompletedProcess(self.args, 0, out or "", "")

    def stop(self) -> None:
        """SIGTERM if it still runs (it passes the signal on to its own children), SIGKILL if
        it has not exited 10 s later; idempotent."""
        if self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        for pipe in (self.child.stdin, self.child.stdout):
            if pipe is not None and not pipe.closed:
                try:
                    pipe.close()
                except OSError:
                    pass


def start(argv: Sequence[str | os.PathLike[str]], *, env: Mapping[str, str] | None = None,
          credentials: bool = False) -> Started:
    """Start argv (logged, redacted, no shell) with stdin kept open for `Started.finish`;
    its stdout and stderr are read together."""
    args = [os.fspath(a) for a in argv]
    if not credentials:
        env = without_credentials(os.environ if env is None else env)
    log.debug("start: %s", redact(shlex.join(args)))
    try:
        child = subprocess.Popen(args, env=None if env is None else dict(env),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                                 errors="replace")
    except FileNotFoundError as exc:
        raise ReleaseError(f"{args[0]}: program not found; is it installed?") from exc
    return Started(args, child)


_REMOVE = "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)"


def discard(path: Path) -> None:
    """Remove a scratch directory without waiting for it: a process of its own deletes it
    (and may finish after we exit). Deleting the virtual environments of an install-back,
    thousands of files and directories, took seconds on a disk mounted with online discard;
    nothing waits on them. Never fails: whatever cannot be removed stays (as files a Windows
    scanner still holds open)."""
    if not path.exists():
        return
    _removers[:] = [r for r in _removers if r.poll() is None]  # reaped once they are done
    try:
        _removers.append(subprocess.Popen(
            [sys.executable, "-c", _REMOVE, str(path)], env=scrubbed_env(),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=os.name == "posix"))
    except OSError:
        shutil.rmtree(path, ignore_errors=True)


_removers: list[subprocess.Popen[bytes]] = []


@contextmanager
def scratch_directory(prefix: str) -> Iterator[Path]:
    """A new temporary directory, discarded (see `discard`) when the block ends."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        discard(path)


def _stop(procs: Sequence[tuple[list[str], subprocess.Popen[str], object]]) -> None:
    """Terminate what still runs; kill what does not stop within 5 s."""
    for _, child, _ in procs:
        if child.poll() is None:
            child.terminate()
    for _, child, _ in procs:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _read(out: IO[str]) -> str:
    out.flush()
    out.seek(0)
    return out.read()
