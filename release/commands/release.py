"""`release-train release`: the whole release against the configured indexes, or its plan."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from release.lock import first_root, locked
from release.pipeline.order import describe_release, run_release
from release.pipeline.release import Say, prepare


@locked(first_root)
def release_command(root: Path, trains: Sequence[str] | None, part: str | None,
                    to: str | None = None, pythons: Sequence[str] | None = None,
                    platforms: Sequence[str] | None = None, say: Say = print,
                    require_index_check: bool = False, via_ci: bool = False,
                    dry_run: bool = False) -> str:
    """Prepare, then run (or resume) the whole release (with `dry_run`: say what it would
    do, from the same preparation, and do nothing)."""
    release = prepare(root, trains, part, to, pythons, platforms, say, require_index_check,
                      via_ci)
    if dry_run:
        return describe_release(release)
    return run_release(release)
