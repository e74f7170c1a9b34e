"""pdm-backend: `[tool.pdm.version] source = "file"` with a `path` (scm: see scm.py)."""

from __future__ import annotations

from release.versions.sources.base import Found, Project


def find(p: Project) -> Found | None:
    table = p.tool("pdm", "version")
    path = table.get("path")
    if not p.dynamic_version or table.get("source") != "file" or not isinstance(path, str):
        return None
    file = p.dir / path
    return Found("pdm-backend file", p.version_file(file, f"of {p.name}"), (file,))
