"""Version sources: where a package's build config says its version lives.

Each module reads one kind of build config and answers `find(project) -> Found | None`;
the first that recognises a package wins. Adding a source is adding a module to `SOURCES`.
"""

from __future__ import annotations

from typing import Any

from release.errors import ConfigError
from release.versions.sources import flit, hatch, maturin, pdm, pep621, poetry, scm, setuptools
from release.versions.sources.base import Found, Project

SOURCES: tuple[Any, ...] = (pep621, scm, poetry, hatch, setuptools, pdm, flit, maturin)
SUPPORTED = ("static [project] version, hatch path/pattern, setuptools attr/file, flit module, "
             "pdm-backend file/scm, poetry, maturin Cargo.toml, setuptools-scm, hatch-vcs, "
             "versioningit")


def find(project: Project) -> Found:
    """Where the version of this package lives, or one line saying why it cannot be told."""
    for source in SOURCES:
        found: Found | None = source.find(project)
        if found is not None:
            return found
    what = "dynamic version" if project.dynamic_version else "version"
    raise ConfigError(f"{project.pyproject}: {what} of {project.name} not found "
                      f"(supported: {SUPPORTED})")


__all__ = ["Found", "Project", "SOURCES", "find"]
