"""PEP 621: a static `version` in `[project]`."""

from __future__ import annotations

from release.versions.sources.base import Found, Project
from release.versions.spots import Spot, toml_key_line


def find(p: Project) -> Found | None:
    if "version" not in p.project:
        return None
    line = toml_key_line(p.texts[p.pyproject], "project", "version")
    return Found("PEP 621 [project] version", [Spot(
        p.train, p.pyproject, line, str(p.project["version"]), f"[project] version of {p.name}",
        "version", key=("project", "version"), discovered=True)])
