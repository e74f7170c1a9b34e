"""Setting a repository up: `release-train init` (a starting release configuration, tasks.py,
noxfile.py) and `invoke init-ci` (GitHub workflows and the locked requirements CI installs
release-train from)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from release.config import load
from release.onboarding.proposal import InitError, propose
from release.onboarding.writing import refuse_existing, render, write
from release.scaffold import write_workflows
from release.versions.agreement import problems


def run_init(root: Path, file: str | None = None, dry_run: bool = False,
             force: bool = False) -> str:
    """`release-train init`: propose, explain, write; then check what was written."""
    root = root.resolve()
    name = file or ("pyproject.toml" if (root / "pyproject.toml").is_file() else "release.toml")
    if name not in ("pyproject.toml", "release.toml"):
        raise InitError(f"--file {name}: the configuration goes in pyproject.toml or "
                        "release.toml")
    refuse_existing(root, force)
    proposal = propose(root, name)
    if dry_run:
        return render(proposal).rstrip("\n")
    lines = [f"found {sum(len(t.packages) for t in proposal.trains.values())} package(s) in "
             f"{len(proposal.trains)} train(s)"]
    lines += proposal.reasons
    if proposal.skipped:
        lines.append(f"not released ({len(proposal.skipped)}): " + "; ".join(
            proposal.skipped[:6]) + ("; ..." if len(proposal.skipped) > 6 else ""))
    lines += [f"wrote {w}" if not w.startswith("(") else w for w in write(proposal, force=force)]
    config = load(root)
    listed = problems(config)
    if listed:
        lines.append(f"check: {len(listed)} disagreement(s), first: {listed[0]}")
    else:
        lines.append("check: ok; next: invoke check --audit, invoke status, "
                     "then commit the configuration")
    return "\n".join(lines)


def run_init_ci(root: Path, force: bool = False, install: str | None = None, *,
                dry_run: bool = False, trains: Sequence[str] | None = None) -> str:
    """`invoke init-ci`: what was written, and what GitHub needs besides."""
    lines = write_workflows(root, force=force, install=install, dry_run=dry_run,
                            trains=trains)
    if dry_run:
        lines.append("dry run: nothing written")
    else:
        lines.append("next: create the GitHub environments testpypi and pypi, and register "
                     "this repository and release.yml / release-candidate.yml as trusted "
                     "publishers on TestPyPI and PyPI")
    return "\n".join(lines)
