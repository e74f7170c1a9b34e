"""Poetry: `[tool.poetry] version` (poetry-core), when `[project]` has none."""

from __future__ import annotations

from release.versions.sources.base import Found, Project
from release.versions.spots import Spot, toml_key_line


def find(p: Project) -> Found | None:
    version = p.tool("poetry").get("version")
    if "version" in p.project or not isinstance(version, str):
        return None
    line = toml_key_line(p.texts[p.pyproject], "tool.poetry", "version")
    return Found("poetry [tool.poetry] version", [Spot(
        p.train, p.pyproject, line, version, f"[tool.poetry] version of {p.name}", "version",
        key=("tool", "poetry", "version"), discovered=True)])
