"""The nox sessions of release-train: wiring only; the logic lives in the `release` package.

Any repository gets them with a short noxfile.py (`invoke init-ci` writes it):

    import nox

    from release.noxsessions import *  # noqa: F403

    nox.options.default_venv_backend = "none"
    nox.options.sessions = []
    nox.options.stop_on_first_error = True

Importing this module changes no nox option: the noxfile decides, and the one above stops
`nox -s build testpypi verify` at the first session that fails.

Sessions run in the environment release-train is installed in (`venv_backend="none"`): the
isolation that matters (build environments, install-back environments per Python) is made by
the `release` package itself, with uv, where it can be measured and proven. `testpypi`, `pypi`
and `verify` are parametrized over the repository's `[tool.release] pythons` (read when nox
loads the noxfile: $RELEASE_REPO, `-- --repo PATH`, or the current directory; the defaults
3.11, 3.12, 3.13 without a config): `nox -s verify -p 3.12`, or `verify-3.12` in a CI matrix.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

from release.config import configured_pythons


def release_repo(argv: list[str] | None = None) -> Path:
    """The repository being released, as nox loads the noxfile: $RELEASE_REPO, else the
    `--repo PATH` given after `--` on nox's command line, else the current directory (the
    same rule the sessions follow when they run)."""
    if os.environ.get("RELEASE_REPO"):
        return Path(os.environ["RELEASE_REPO"])
    args = sys.argv if argv is None else argv
    posargs = args[args.index("--") + 1:] if "--" in args else []
    for i, arg in enumerate(posargs):
        if arg == "--repo" and i + 1 < len(posargs):
            return Path(posargs[i + 1])
        if arg.startswith("--repo="):
            return Path(arg.split("=", 1)[1])
    return Path.cwd()


# `nox -l` lists verify-3.11, verify-3.12, ...: `nox -s verify -p 3.12` runs one, a bare
# `nox -s verify` all of them (one upload and one wait between them: the record says so).
PYTHONS = list(configured_pythons(release_repo()))


def _run(session: nox.Session, func_name: str, per_python: bool = False) -> None:
    """Call release.sessions.<func_name>(posargs); a ReleaseError fails the session cleanly.
    A per-Python session installs back with the interpreter nox resolved for session.python
    (the python of the empty environment nox made with it)."""
    from release import sessions

    func = getattr(sessions, func_name)
    if per_python and isinstance(session.python, str):
        name = "python.exe" if os.name == "nt" else "python"
        code = func(list(session.posargs), python=session.python,
                    interpreter=str(Path(session.bin) / name))
    else:
        code = func(list(session.posargs))
    if code:
        session.error(f"{func_name} failed")


# nox parametrizes `python` only for sessions with an environment ("none" drops the list), so
# the per-Python sessions get one from uv: empty, reused, made in milliseconds, and never
# with a downloaded interpreter. Nothing is installed into it: the session runs in nox's own
# process, install-back makes its own environments from the interpreter behind it.


@nox.session(name="build", venv_backend="none")
def build(session: nox.Session) -> None:
    """Build the selected trains' sdists and wheels from a clean worktree; manifest with sha256."""
    _run(session, "build")


@nox.session(name="testpypi", python=PYTHONS, venv_backend="uv", reuse_venv=True,
             download_python="never")
def testpypi(session: nox.Session) -> None:
    """Upload to TestPyPI once, wait, install back on this Python, resolve for each platform."""
    _run(session, "testpypi", per_python=True)


@nox.session(name="pypi", python=PYTHONS, venv_backend="uv", reuse_venv=True,
             download_python="never")
def pypi(session: nox.Session) -> None:
    """Upload a verified final/post to PyPI once from its tag, then verify it on this Python."""
    _run(session, "pypi", per_python=True)


@nox.session(name="verify", python=PYTHONS, venv_backend="uv", reuse_venv=True,
             download_python="never")
def verify(session: nox.Session) -> None:
    """Verify the release on the latest index it reached, on this Python; platform table."""
    _run(session, "verify", per_python=True)


@nox.session(name="report", venv_backend="none")
def report(session: nox.Session) -> None:
    """Merge release records of CI jobs (-- --merge DIR) and print the platform table."""
    _run(session, "report")


@nox.session(name="gates", venv_backend="none")
def gates(session: nox.Session) -> None:
    """The release's validation gates on a clean worktree of HEAD (or --ref), as released."""
    _run(session, "gates")


@nox.session(name="rehearse", venv_backend="none")
def rehearse(session: nox.Session) -> None:
    """The whole release end to end on a scratch clone against local devpi indexes."""
    _run(session, "rehearse")
