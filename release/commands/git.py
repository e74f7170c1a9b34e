"""Repository commands: `invoke preflight`, `tag`, `push` and the release-branch flow
(`branch`, `freeze`, `cut-beta`, `final`)."""

from __future__ import annotations

from pathlib import Path

from release.config import load
from release.errors import ReleaseError
from release.git.branches import create_release_branch, cut_beta, final_release, freeze
from release.git.preflight import preflight
from release.git.tagging import push_release, tag_release
from release.publish.availability import availability
from release.versions.agreement import train_version
from release.versions.pep440 import bump
from release.versions.scan import scan


def run_preflight(root: Path, train: str | None, part: str | None = None,
                  to: str | None = None, require_index_check: bool = False) -> str:
    """`invoke preflight`: the version checked is the planned one (--part/--to) or, without
    them, the one the files carry now (about to be tagged)."""
    config = load(root)
    chosen = config.pick(train) if train or len(config.trains) == 1 else None
    if chosen is None:
        if part or to:
            raise ReleaseError(f"choose a train with --train ({', '.join(config.trains)})")
        lines = preflight(config)
        lines.append("several trains: pass --train to check a version and its tag")
    else:
        current = train_version(scan(config, [chosen]), chosen)
        version = bump(current, part=part, to=to).text if (part or to) else current.text
        lines = preflight(config, chosen, version)
        lines += availability(config, chosen, version, require_index_check)
    return "\n".join(line if line.startswith("warning:") else f"ok: {line}" for line in lines)


def run_tag(root: Path, train: str | None, sign: bool = False, dry_run: bool = False) -> str:
    """`invoke tag`: tag HEAD with the train's version."""
    config = load(root)
    return tag_release(config, config.pick(train), sign=sign, dry_run=dry_run)


def run_push(root: Path, branch: str | None = None, tag: str | None = None,
             remote: str | None = None, dry_run: bool = False) -> str:
    """`invoke push`: the branch and the release tags it carries."""
    return push_release(load(root), branch=branch, tag=tag, remote=remote, dry_run=dry_run)


def run_branch(root: Path, train: str | None, part: str | None = None,
               to: str | None = None, dry_run: bool = False) -> str:
    return create_release_branch(load(root), train, part, to, dry_run)


def run_freeze(root: Path, train: str | None, dry_run: bool = False) -> str:
    return freeze(load(root), train, dry_run)


def run_cut_beta(root: Path, train: str | None, branch: str | None = None,
                 sign: bool = False, dry_run: bool = False) -> str:
    return cut_beta(load(root), train, branch, sign, dry_run)


def run_final(root: Path, train: str | None, branch: str | None = None,
              sign: bool = False, dry_run: bool = False) -> str:
    return final_release(load(root), train, branch, sign, dry_run)
