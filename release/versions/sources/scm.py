"""Versions taken from git tags: setuptools-scm, hatch-vcs, pdm-backend `scm`, versioningit,
poetry-dynamic-versioning. The tag *is* the version: no package file carries it."""

from __future__ import annotations

from release.versions.sources.base import Found, Project


def find(p: Project) -> Found | None:
    if not p.dynamic_version and not p.tool("poetry-dynamic-versioning").get("enable"):
        return None
    if p.tool("hatch", "version").get("source") == "vcs":
        return Found("hatch-vcs (git tag)", tag_driven=True)
    if p.tool("pdm", "version").get("source") == "scm":
        return Found("pdm-backend scm (git tag)", tag_driven=True)
    if p.tool("versioningit"):
        return Found("versioningit (git tag)", tag_driven=True)
    if p.tool("poetry-dynamic-versioning").get("enable"):
        return Found("poetry-dynamic-versioning (git tag)", tag_driven=True)
    uses_scm = "setuptools_scm" in p.tool() or "setuptools-scm" in p.tool() or \
        p.requires_any("setuptools-scm")
    if uses_scm and "version" not in p.tool("setuptools", "dynamic"):
        return Found("setuptools-scm (git tag)", tag_driven=True)
    return None
