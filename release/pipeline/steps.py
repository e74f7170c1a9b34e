"""Which steps a release needs: production and the downstream stage only for finals, the smoke
only where a smoke-tested artifact pins the train, the index stages not at all when the tag's
CI run published."""

from __future__ import annotations

from packaging.version import Version

from release.config import Config
from release.record import Record


def has_downstream(config: Config, train: str) -> bool:
    """Does an artifact train pin this train (so its release has a downstream stage)?"""
    return any(train in {p.train for p in t.pins} for t in config.artifacts())


def not_needed(config: Config, record: Record) -> set[str]:
    """Steps a release has no use for: production for a pre-release, the downstream stage
    for a train nothing pins, the smoke for a train no smoke-tested artifact pins."""
    skip = set()
    if record.data.get("via-ci"):  # the tag's CI run published and verified
        skip |= {"testpypi-upload", "testpypi-verify", "testpypi-smoke", "pypi-upload",
                 "pypi-verify", "pypi-smoke"}
    else:
        skip.add("ci")
    if Version(record.version).is_prerelease:
        skip |= {"pypi-upload", "pypi-verify", "pypi-smoke", "downstream"}
    if not has_downstream(config, record.train):
        skip.add("downstream")
    if not any(record.train in {p.train for p in t.pins} and t.downstream and t.downstream.smoke
               for t in config.artifacts()):
        skip |= {"testpypi-smoke", "pypi-smoke"}
    return skip


def next_step(config: Config, record: Record) -> str | None:
    return record.next_step(not_needed(config, record))
