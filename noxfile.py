"""nox sessions of release-train (defined in release/noxsessions.py, so any repo can use them)."""

from release.noxsessions import *  # noqa: F403
