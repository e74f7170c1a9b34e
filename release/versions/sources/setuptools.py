"""setuptools: `[tool.setuptools.dynamic] version = {attr = ...}` or `{file = ...}`."""

from __future__ import annotations

from pathlib import Path

from release.errors import ConfigError
from release.versions.sources.base import Found, Project
from release.versions.spots import table


def _module_file(p: Project, attr: str) -> Path | None:
    """The file an `attr:` points into (`pkg.mod.__version__`)."""
    parts = attr.rsplit(".", 1)[0].split(".")
    package_dir = {k: v for k, v in p.tool("setuptools", "package-dir").items()
                   if isinstance(v, str)}
    where = table(p.tool("setuptools", "packages").get("find")).get("where", [])
    bases = [p.dir / package_dir[""]] if "" in package_dir else []
    bases += [p.dir / w for w in where if isinstance(w, str)] if isinstance(where, list) else []
    bases += [p.dir / "src", p.dir]
    for base in bases:
        for candidate in (base.joinpath(*parts) / "__init__.py",
                          base.joinpath(*parts[:-1]) / f"{parts[-1]}.py"):
            if candidate.is_file():
                return candidate
    return None


def find(p: Project) -> Found | None:
    version = p.tool("setuptools", "dynamic").get("version")
    if not p.dynamic_version or not isinstance(version, dict):
        return None
    if isinstance(version.get("attr"), str):
        file = _module_file(p, version["attr"])
        if file is None:
            raise ConfigError(f"{p.pyproject}: setuptools attr {version['attr']!r}: no such "
                              "module file")
        return Found("setuptools attr", p.version_file(file, f"of {p.name}"), (file,))
    files = version.get("file")
    name = files if isinstance(files, str) else files[0] if isinstance(files, list) and files \
        else None
    if not isinstance(name, str):
        return None
    file = p.dir / name
    return Found("setuptools file", p.version_file(file, f"of {p.name}"), (file,))
