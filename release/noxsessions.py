"""The nox sessions of release-train: wiring only; the logic lives in the `release` package.

Any repository gets them with a two-line noxfile.py (`invoke init-ci` writes it):

    from release.noxsessions import *  # noqa: F403

Sessions run in the environment release-train is installed in (`venv_backend="none"`): the
isolation that matters (build environments, install-back environments per Python) is made by
the `release` package itself, with uv, where it can be measured and proven.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = []  # nothing runs by accident: name the session


def _run(session: nox.Session, func_name: str) -> None:
    """Call release.sessions.<func_name>(posargs); a ReleaseError fails the session cleanly."""
    from release import sessions

    code = getattr(sessions, func_name)(list(session.posargs))
    if code:
        session.error(f"{func_name} failed")


@nox.session(name="build")
def build(session: nox.Session) -> None:
    """Build the selected trains' sdists and wheels from a clean worktree; manifest with sha256."""
    _run(session, "build")


@nox.session(name="testpypi")
def testpypi(session: nox.Session) -> None:
    """Upload to TestPyPI, wait, install back on each Python, resolve for each platform."""
    _run(session, "testpypi")


@nox.session(name="pypi")
def pypi(session: nox.Session) -> None:
    """Upload a verified final/post to PyPI from its tag, then verify it there."""
    _run(session, "pypi")


@nox.session(name="verify")
def verify(session: nox.Session) -> None:
    """Production install-back: exact --no-deps installs, pins, Pythons and platforms."""
    _run(session, "verify")


@nox.session(name="rehearse")
def rehearse(session: nox.Session) -> None:
    """The whole release end to end on a scratch clone against local devpi indexes."""
    _run(session, "rehearse")
