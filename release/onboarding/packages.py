"""Finding the packages `init` proposes to release: every `pyproject.toml` that is a package
(not under tests, examples, fixtures, templates, docs or vendored code; uv workspace members
always count), where each keeps its version (the same discovery a bump uses) and which other
packages of the repository it requires."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from release.errors import ConfigError
from release.versions import sources
from release.versions.scan import repo_files
from release.versions.spots import parse_toml, read, table

# Directories whose pyproject.toml files are not packages of the repository's release.
SKIP_DIRS = frozenset({
    "tests", "test", "testing", "fixtures", "testdata", "test_data", "examples", "example",
    "docs", "doc", "templates", "template", "_template", "benchmarks", "bench",
    "_vendor", "vendor", "vendored", "third_party", "node_modules", "site-packages",
})


@dataclass(frozen=True)
class Found:
    """A package init found: its directory, name and version (None: the version is a tag)."""

    path: Path  # relative to the root; Path(".") for the root package
    name: str
    version: str | None
    source: str
    requires: tuple[str, ...] = ()  # names of other packages of the repository it requires


def _workspace(root: Path, texts: dict[Path, str]) -> tuple[list[str], list[str]]:
    """uv workspace member and exclude globs of the root pyproject ([], [] without one)."""
    rel = Path("pyproject.toml")
    if not (root / rel).is_file():
        return [], []
    data = parse_toml(rel, read(root, rel, texts))
    ws = table(table(table(data.get("tool")).get("uv")).get("workspace"))
    members, exclude = ws.get("members", []), ws.get("exclude", [])
    return ([str(m) for m in members] if isinstance(members, list) else [],
            [str(e) for e in exclude] if isinstance(exclude, list) else [])


def _skipped_dir(rel: Path) -> str | None:
    """Why a package directory is not part of the release (None: it is)."""
    for part in rel.parts:
        if part.startswith("."):
            return f"{part}/ is hidden"
        if part.lower() in SKIP_DIRS:
            return f"{part}/ holds no released packages"
    return None


def _name_of(data: dict[str, Any]) -> str | None:
    name = table(data.get("project")).get("name") or \
        table(table(data.get("tool")).get("poetry")).get("name")
    return name if isinstance(name, str) and name else None


def _requirements(data: dict[str, Any]) -> list[str]:
    project = table(data.get("project"))
    lists = [project.get("dependencies", [])]
    lists += list(table(project.get("optional-dependencies")).values())
    lists += list(table(data.get("dependency-groups")).values())
    names: list[str] = []
    for reqs in lists:
        for raw in reqs if isinstance(reqs, list) else []:
            if isinstance(raw, str):
                try:
                    names.append(canonicalize_name(Requirement(raw).name))
                except InvalidRequirement:
                    continue
    return names


def find_packages(root: Path, skipped: list[str]) -> list[Found]:
    """Every package of the repository and where its version lives; what was left out goes
    to `skipped` with the reason."""
    texts: dict[Path, str] = {}
    members, ws_exclude = _workspace(root, texts)
    candidates = sorted(p.parent for p in repo_files(root) if p.name == "pyproject.toml")
    datas: dict[Path, dict[str, Any]] = {}
    for rel in candidates:
        posix = rel.as_posix() if rel != Path(".") else "."
        member = any(fnmatch.fnmatchcase(posix, m) for m in members)
        if any(fnmatch.fnmatchcase(posix, e) for e in ws_exclude):
            skipped.append(f"{posix}: excluded from the uv workspace")
            continue
        why = None if member else _skipped_dir(rel)
        if why:
            skipped.append(f"{posix}: {why}")
            continue
        try:
            data = parse_toml(rel / "pyproject.toml", read(root, rel / "pyproject.toml", texts))
        except ConfigError as exc:
            skipped.append(str(exc))
            continue
        if _name_of(data) is None:
            if rel != Path("."):
                skipped.append(f"{posix}: no [project] name (not a package)")
            continue
        datas[rel] = data
    names = {canonicalize_name(n) for d in datas.values() if (n := _name_of(d))}
    found: list[Found] = []
    first: dict[str, Path] = {}
    for rel, data in datas.items():
        name = _name_of(data) or ""
        if canonicalize_name(name) in first:  # a copy (layer/ and layer_v3/): one is enough
            skipped.append(f"{rel.as_posix()}: {name} again (first in "
                           f"{first[canonicalize_name(name)].as_posix()})")
            continue
        first[canonicalize_name(name)] = rel
        project = sources.Project(root, rel, name, "init", data, texts)
        try:
            where = sources.find(project)
        except ConfigError as exc:
            skipped.append(f"{rel.as_posix()}: {exc}")
            continue
        requires = tuple(sorted({n for n in _requirements(data) if n in names}
                                - {canonicalize_name(name)}))
        if where.tag_driven:
            found.append(Found(rel, name, None, where.source, requires))
            continue
        own = [s for s in where.spots if s.kind == "version" and not s.template]
        if not own:
            skipped.append(f"{rel.as_posix()}: {name} has no version")
            continue
        found.append(Found(rel, name, own[0].written, where.source, requires))
    return found
