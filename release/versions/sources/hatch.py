"""hatchling: `[tool.hatch.version] path` (and an optional `pattern` with a `version` group)."""

from __future__ import annotations

import re

from release.errors import ConfigError
from release.versions.sources.base import Found, Project
from release.versions.spots import span_spot

# hatchling's own default, plus an optional annotation (`__version__: str = ...`).
DEFAULT_PATTERN = r"(?i)^(?:__version__|VERSION) *(?::[^=\n]*)?= *(['\"])v?(?P<version>.+?)\1"


def find(p: Project) -> Found | None:
    table = p.tool("hatch", "version")
    path = table.get("path")
    if not p.dynamic_version or not isinstance(path, str):
        return None
    pattern = table.get("pattern")
    file = p.dir / path
    if not isinstance(pattern, str):
        return Found("hatch [tool.hatch.version] path", p.version_file(file, f"of {p.name}"),
                     (file,))
    if not file.is_file():
        raise ConfigError(f"{p.pyproject}: [tool.hatch.version] path {path!r} does not exist")
    rel, text = p.text_of(file)
    try:
        regex = re.compile(pattern, re.MULTILINE)
    except re.error as exc:
        raise ConfigError(f"{p.pyproject}: [tool.hatch.version] pattern: {exc}") from None
    m = regex.search(text)
    if m is None or "version" not in regex.groupindex:
        raise ConfigError(f"{rel}: [tool.hatch.version] pattern finds no version group")
    return Found("hatch [tool.hatch.version] path + pattern", [span_spot(
        p.train, rel, text, m.start("version"), m.end("version"), m["version"],
        f"version of {p.name}", discovered=True)], (file,))
