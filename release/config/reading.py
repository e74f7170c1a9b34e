"""Reading a release configuration: `[tool.release]` in pyproject.toml, or `release.toml`.

Everything is validated on load, so later steps can trust it: unknown keys, wrong types,
missing paths, empty globs, packages claimed twice and paths outside the repository are
refused with one line naming the file and the key (the train tables: `config.trains`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from release import confine
from release.config.model import (
    BUILTIN_INDEXES,
    DEFAULT_COMMIT_MESSAGE,
    DEFAULT_MAX_FILE_SIZE,
    DEFAULT_PLATFORMS,
    DEFAULT_PYTHONS,
    DEFAULT_TAG_FORMAT,
    DEFAULT_UPLOAD_CONCURRENCY,
    MAX_UPLOAD_CONCURRENCY,
    BranchModel,
    Config,
    IndexConfig,
)
from release.config.tables import GATE_KEYS, Table, gates
from release.config.trains import check_package_names, check_pins, trains_of
from release.errors import ConfigError

TOP_KEYS = {"tag-format", "commit-message", "branches", "pythons", "optional-pythons",
            "platforms", "max-file-size", "upload-concurrency", "indexes", "trains",
            "branch-model"} | GATE_KEYS


INDEX_KEYS = {"upload-url", "simple-url", "token-env", "production", "allow-prereleases"}


def _read_table(root: Path) -> tuple[Path, str, dict[str, Any]]:
    release_toml = root / "release.toml"
    pyproject = root / "pyproject.toml"

    def parse(path: Path) -> dict[str, Any]:
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None

    in_pyproject: dict[str, Any] | None = None
    if pyproject.is_file():
        tool = parse(pyproject).get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{pyproject.name}: tool must be a table ([tool.…]), not "
                              f"{type(tool).__name__}")
        in_pyproject = tool.get("release")
    if release_toml.is_file():
        if in_pyproject is not None:
            raise ConfigError("release.toml and [tool.release] in pyproject.toml both exist; "
                              "keep one")
        return release_toml, "", parse(release_toml)
    if in_pyproject is None:
        raise ConfigError(f"{root}: no release configuration ([tool.release] in pyproject.toml "
                          "or release.toml)")
    return pyproject, "tool.release.", in_pyproject


def load(root: Path | str) -> Config:
    """Read and validate the repository's release configuration."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise ConfigError(f"{root}: no such directory")
    confine.allow(root)  # the repository: writes may go anywhere inside it, nowhere through it
    file, prefix, table = _read_table(root)
    top = Table(file, prefix.rstrip(".") or "release.toml", table, TOP_KEYS)
    tag_format = top.template("tag-format", DEFAULT_TAG_FORMAT, ("version",))
    commit_message = top.template("commit-message", DEFAULT_COMMIT_MESSAGE, ())
    trains_raw = top.get("trains", dict, None, expect="a table of trains")
    if not trains_raw:
        top.fail(f"[{prefix}trains] must declare at least one train")
    indexes = _indexes(top, prefix)
    every = trains_of(root, top, prefix, trains_raw, tag_format)
    downstreams = {n: t for n, t in every.items() if t.repository is not None}
    trains = {n: t for n, t in every.items() if t.repository is None}
    check_pins(top, prefix, trains, [*trains.values(), *downstreams.values()])
    check_package_names(top, trains)
    branch_model = _branch_model(file, prefix, top)
    max_size = top.get("max-file-size", int, DEFAULT_MAX_FILE_SIZE, lambda v: v > 0,
                       "a positive number of bytes")
    concurrency = top.get("upload-concurrency", int, DEFAULT_UPLOAD_CONCURRENCY,
                          lambda v: 1 <= v <= MAX_UPLOAD_CONCURRENCY,
                          f"a number of connections from 1 to {MAX_UPLOAD_CONCURRENCY}")
    return Config(
        root=root, source=file, trains=trains, tag_format=tag_format,
        commit_message=commit_message,
        branches=top.strings("branches", ("main", "release/*")),
        pythons=top.strings("pythons", DEFAULT_PYTHONS),
        optional_pythons=top.strings("optional-pythons", ()),
        platforms=top.strings("platforms", DEFAULT_PLATFORMS),
        max_file_size=max_size, upload_concurrency=concurrency, indexes=indexes,
        branch_model=branch_model, gates=gates(top),
        downstreams=downstreams,
    )


def _indexes(top: Table, prefix: str) -> dict[str, IndexConfig]:
    """The built-in indexes, with the configured ones added or changed."""
    indexes = dict(BUILTIN_INDEXES)
    for name, raw in top.get("indexes", dict, {}).items():
        r = Table(top.file, f"{prefix}indexes.{name}", raw, INDEX_KEYS)
        base = indexes.get(name)
        upload = r.get("upload-url", str, base.upload_url if base else None)
        simple = r.get("simple-url", str, base.simple_url if base else None)
        if upload is None or simple is None:
            r.fail(f"[{r.where}] a new index needs upload-url and simple-url")
        indexes[name] = IndexConfig(
            name, upload, simple,
            r.get("token-env", str, base.token_env if base else f"{name.upper()}_TOKEN"),
            r.get("production", bool, base.production if base else False),
            r.get("allow-prereleases", bool, False),
        )
    return indexes


def _branch_model(file: Path, prefix: str, top: Table) -> BranchModel:
    bm = Table(file, f"{prefix}branch-model", top.get("branch-model", dict, {}),
                 {"main", "rc", "version-branch", "release-branch"})
    return BranchModel(
        bm.get("main", str, "main"), bm.get("rc", str, "rc"),
        bm.template("version-branch", "{major}.{minor}", ()),
        bm.template("release-branch", "release/{train}-v{version}", ()),
    )


def configured_pythons(root: Path | str) -> tuple[str, ...]:
    """`pythons` of the repository at root, read without validating the rest (nox asks while
    it loads the noxfile, before any session runs: a broken config is reported by the session
    itself); the defaults when there is no configuration or it cannot be read."""
    try:
        _, _, table = _read_table(Path(root))
    except (ConfigError, OSError):
        return DEFAULT_PYTHONS
    pythons = table.get("pythons")
    if isinstance(pythons, list) and pythons and all(isinstance(p, str) for p in pythons):
        return tuple(pythons)
    return DEFAULT_PYTHONS
