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
the `release` package itself, with uv, where it can be measured and proven.
"""

from __future__ import annotations

import nox


def _run(session: nox.Session, func_name: str) -> None:
    """Call release.sessions.<func_name>(posargs); a ReleaseError fails the session cleanly."""
    from release import sessions

    code = getattr(sessions, func_name)(list(session.posargs))
    if code:
        session.error(f"{func_name} failed")


@nox.session(name="build", venv_backend="none")
def build(session: nox.Session) -> None:
    """Build the selected trains' sdists and wheels from a clean worktree; manifest with sha256."""
    _run(session, "build")


@nox.session(name="testpypi", venv_backend="none")
def testpypi(session: nox.Session) -> None:
    """Upload to TestPyPI, wait, install back on each Python, resolve for each platform."""
    _run(session, "testpypi")


@nox.session(name="pypi", venv_backend="none")
def pypi(session: nox.Session) -> None:
    """Upload a verified final/post to PyPI from its tag, then verify it there."""
    _run(session, "pypi")


@nox.session(name="verify", venv_backend="none")
def verify(session: nox.Session) -> None:
    """Verify the release on the latest index it reached (TestPyPI or PyPI), from its record."""
    _run(session, "verify")


@nox.session(name="gates", venv_backend="none")
def gates(session: nox.Session) -> None:
    """The release's validation gates on a clean worktree of HEAD (or --ref), as released."""
    _run(session, "gates")


@nox.session(name="rehearse", venv_backend="none")
def rehearse(session: nox.Session) -> None:
    """The whole release end to end on a scratch clone against local devpi indexes."""
    _run(session, "rehearse")
