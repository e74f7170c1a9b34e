"""The release configuration of a repository: `[tool.release]` or `release.toml`.

`model` holds what a configuration says (trains, packages, version places, downstream pins,
indexes, gates, branch names: frozen dataclasses); `reading` loads and validates it (`load`),
with `tables` (typed access to one table) and `trains` (the train tables) beside it. Every
stage imports from here: `from release.config import Config, Train, load`.
"""

from release.config.model import (
    BUILTIN_INDEXES,
    DEFAULT_COMMIT_MESSAGE,
    DEFAULT_MAX_FILE_SIZE,
    DEFAULT_PLATFORMS,
    DEFAULT_PYTHONS,
    DEFAULT_TAG_FORMAT,
    DEFAULT_UPLOAD_CONCURRENCY,
    MAX_UPLOAD_CONCURRENCY,
    Argv,
    BranchModel,
    Config,
    Downstream,
    DownstreamPin,
    Gates,
    IndexConfig,
    Occurrence,
    Package,
    Train,
    TrainKind,
    branch_allowed,
    is_glob,
    smoke_spec,
)
from release.config.reading import configured_pythons, load

__all__ = [
    "BUILTIN_INDEXES", "DEFAULT_COMMIT_MESSAGE", "DEFAULT_MAX_FILE_SIZE", "DEFAULT_PLATFORMS",
    "DEFAULT_PYTHONS", "DEFAULT_TAG_FORMAT", "DEFAULT_UPLOAD_CONCURRENCY",
    "MAX_UPLOAD_CONCURRENCY", "Argv", "BranchModel", "Config", "Downstream", "DownstreamPin",
    "Gates", "IndexConfig", "Occurrence", "Package", "Train", "TrainKind", "branch_allowed",
    "configured_pythons", "is_glob", "load", "smoke_spec",
]
