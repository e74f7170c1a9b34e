"""`invoke pin-downstream`: point an artifact train at a release that passed PyPI
verification, and bump it (in its own repository: branch, commit, tag, push)."""

from __future__ import annotations

from pathlib import Path

from release.config import load
from release.errors import UsageError
from release.pipeline.downstream import describe_pins, pin_downstream


def run_pin_downstream(root: Path, train: str | None, to: str | None = None,
                       part: str = "patch", commit: bool = False, pull_request: bool = False,
                       dry_run: bool = False) -> str:
    """The pins, files and lines that move (with `dry_run`: that would move); the pinned
    releases' records note their downstream stage done."""
    if not train:
        raise UsageError("pin-downstream needs --train (the artifact train whose pins move)")
    config = load(root)
    if dry_run:
        return describe_pins(config, train, to=to, part=part, commit=commit)
    return pin_downstream(config, train, to=to, part=part, commit=commit, journal=True,
                          pull_request=pull_request or None)
