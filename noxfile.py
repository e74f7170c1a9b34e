"""nox sessions of release-train (defined in release/noxsessions.py, so any repo can use them)."""

import os
import sys

import nox

from release.noxsessions import *  # noqa: F403


@nox.session(name="fuzz")
def fuzz(session: nox.Session) -> None:
    """This repository's fuzz tests with the deep hypothesis profile (many more examples)."""
    session.run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "tests/test_fuzz.py", *session.posargs,
                env={"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "deep")})
