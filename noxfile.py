"""nox sessions of release-train (defined in release/noxsessions.py, so any repo can use them),
and this repository's own: lint and fuzz."""

import os
import sys

import nox

from release.noxsessions import *  # noqa: F403

nox.options.default_venv_backend = "none"
nox.options.sessions = []  # nothing runs by accident: name the session
nox.options.stop_on_first_error = True  # `nox -s build testpypi verify` stops at a failure


@nox.session(name="lint", venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff on everything, mypy --strict on release/ (what .ci/run runs besides the tests)."""
    bin_dir = os.path.dirname(sys.executable)
    session.run(os.path.join(bin_dir, "ruff"), "check", ".", *session.posargs, external=True)
    session.run(os.path.join(bin_dir, "mypy"), external=True)


@nox.session(name="fuzz", venv_backend="none")
def fuzz(session: nox.Session) -> None:
    """The deep fuzz: hypothesis's deep profile (many more examples) on the fuzz tests, and
    the release killed at 20 random moments (RELEASE_KILLS; the suite kills it once)."""
    session.run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "tests/versions/test_fuzz.py", "tests/test_fuzz_config.py",
                "tests/pipeline/test_resume.py::"
                "test_a_release_killed_at_random_moments_always_resumes", *session.posargs,
                env={"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "deep"),
                     "RELEASE_KILLS": os.environ.get("RELEASE_KILLS", "20")})
