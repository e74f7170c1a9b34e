"""maturin: the version is the crate's, in `Cargo.toml` (`[package]` or, with
`version.workspace = true`, the workspace's `[workspace.package]`), and in `Cargo.lock`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from release.errors import ConfigError
from release.versions import lockfiles as lockfile
from release.versions.sources.base import Found, Project
from release.versions.spots import Spot, parse_toml, table, toml_key_line


def _workspace_root(p: Project, start: Path) -> Path | None:
    for directory in [start, *start.parents]:
        if not directory.is_relative_to(p.root):
            return None
        cargo = directory / "Cargo.toml"
        if cargo.is_file() and "workspace" in parse_toml(cargo, cargo.read_text("utf-8")):
            return cargo
    return None


def _crate_names(p: Project, workspace: Path, data: dict[str, Any]) -> set[str]:
    """Workspace members that take the workspace's version."""
    names = set()
    members = table(data.get("workspace")).get("members", [])
    for pattern in members if isinstance(members, list) else []:
        for cargo in sorted(workspace.parent.glob(f"{pattern}/Cargo.toml")):
            package = table(parse_toml(cargo, cargo.read_text("utf-8")).get("package"))
            if table(package.get("version")).get("workspace") is True:
                names.add(str(package.get("name", "")))
    return names


def find(p: Project) -> Found | None:
    if p.backend != "maturin" or "version" in p.project:
        return None
    manifest = p.dir / str(p.tool("maturin").get("manifest-path", "Cargo.toml"))
    if not manifest.is_file():
        raise ConfigError(f"{p.pyproject}: maturin's Cargo.toml of {p.name} not found")
    rel, text = p.text_of(manifest)
    package = table(parse_toml(rel, text).get("package"))
    crates = {str(package.get("name", ""))}
    version = package.get("version")
    if isinstance(version, str):
        spot = Spot(p.train, rel, toml_key_line(text, "package", "version"), version,
                    f"Cargo.toml version of {p.name}", "version", key=("package", "version"),
                    form="semver", discovered=True)
        lock_dir = (_workspace_root(p, manifest.parent) or manifest).parent
    elif table(version).get("workspace") is True:
        workspace = _workspace_root(p, manifest.parent.parent)
        if workspace is None:
            raise ConfigError(f"{rel}: version.workspace = true, but no workspace Cargo.toml")
        wrel, wtext = p.text_of(workspace)
        wdata = parse_toml(wrel, wtext)
        shared = table(table(wdata.get("workspace")).get("package")).get("version")
        if not isinstance(shared, str):
            raise ConfigError(f"{wrel}: no [workspace.package] version")
        spot = Spot(p.train, wrel, toml_key_line(wtext, "workspace.package", "version"), shared,
                    f"Cargo workspace version of {p.name}", "version",
                    key=("workspace", "package", "version"), form="semver", discovered=True)
        crates |= _crate_names(p, workspace, wdata)
        lock_dir = workspace.parent
    else:
        raise ConfigError(f"{rel}: [package] has no version")
    spots = [spot]
    lock = lock_dir / "Cargo.lock"
    if lock.is_file():
        lock_rel, _ = p.text_of(lock)
        spots += lockfile.cargo_spots(p.root, lock_rel, p.train, crates, p.texts)
    return Found("maturin Cargo.toml", spots, (manifest,))
