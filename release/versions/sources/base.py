"""What every version source sees: one package's build config, read once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from release.errors import ConfigError
from release.versions.spots import Spot, dunder_spots, inside, read, span_spot, table

_NAME = re.compile(r"\s*([A-Za-z0-9._-]+)")  # a requirement's distribution name


@dataclass
class Project:
    """A package directory of a train, with its parsed pyproject.toml."""

    root: Path  # the repository, resolved
    rel: Path  # the package directory, relative to root
    name: str
    train: str
    data: dict[str, Any]
    texts: dict[Path, str]  # the scan's file cache

    @property
    def dir(self) -> Path:
        return self.root / self.rel

    @property
    def pyproject(self) -> Path:
        return self.rel / "pyproject.toml"

    @property
    def project(self) -> dict[str, Any]:
        return table(self.data.get("project"))

    def tool(self, *keys: str) -> dict[str, Any]:
        """[tool.a.b...] as a table ({} when absent)."""
        value: Any = self.data.get("tool")
        for key in keys:
            value = table(value).get(key)
        return table(value)

    @property
    def backend(self) -> str:
        return str(table(self.data.get("build-system")).get("build-backend", ""))

    @property
    def requires(self) -> list[str]:
        value = table(self.data.get("build-system")).get("requires", [])
        return [str(v) for v in value] if isinstance(value, list) else []

    def requires_any(self, *names: str) -> bool:
        """Does build-system.requires name one of these distributions?"""
        wanted = {canonicalize_name(n) for n in names}
        for req in self.requires:
            head = _NAME.match(req)
            if head and canonicalize_name(head[1]) in wanted:
                return True
        return False

    @property
    def dynamic_version(self) -> bool:
        dynamic = self.project.get("dynamic", [])
        return isinstance(dynamic, list) and "version" in dynamic

    def text_of(self, path: Path) -> tuple[Path, str]:
        """(path relative to the repository, text) of a file the build config names."""
        rel = inside(self.root, path, f"the version of {self.name}")
        return rel, read(self.root, rel, self.texts)

    def version_file(self, path: Path, what: str) -> list[Spot]:
        """Spots of a version file: `__version__ = "..."` in Python, else the whole text."""
        if not path.is_file():
            shown = path.relative_to(self.root) if path.is_relative_to(self.root) else path
            raise ConfigError(f"{self.pyproject}: the version of {self.name} should be in "
                              f"{shown}, which does not exist")
        rel, text = self.text_of(path)
        if path.suffix == ".py":
            found = dunder_spots(self.train, rel, text, f"__version__ {what}")
            if not found:
                raise ConfigError(f"{rel}: no __version__ = \"...\" to carry {self.name}'s "
                                  "version")
            return found
        stripped = text.strip()
        start = text.index(stripped) if stripped else 0
        return [span_spot(self.train, rel, text, start, start + len(stripped), stripped,
                          f"VERSION file of {self.name}", discovered=True)]


@dataclass(frozen=True)
class Found:
    """Where a source says the version lives."""

    source: str  # for people: "PEP 621", "hatch path", "setuptools-scm (tag)", ...
    spots: list[Spot] = field(default_factory=list)
    files: tuple[Path, ...] = ()  # files the spots were read from (absolute)
    tag_driven: bool = False  # the version is the git tag: no package file carries it
