"""nox sessions of release-train (defined in release/noxsessions.py, so any repo can use them)."""

import os
import sys

import nox

from release.noxsessions import *  # noqa: F403

nox.options.default_venv_backend = "none"
nox.options.sessions = []  # nothing runs by accident: name the session
nox.options.stop_on_first_error = True  # `nox -s build testpypi verify` stops at a failure


@nox.session(name="fuzz", venv_backend="none")
def fuzz(session: nox.Session) -> None:
    """This repository's fuzz tests with the deep hypothesis profile (many more examples)."""
    session.run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "tests/test_fuzz.py", *session.posargs,
                env={"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "deep")})
