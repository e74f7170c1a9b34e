"""Announcing commands: `invoke notes` (write, or commit, a release's notes) and `invoke
github-release` (publish them as a GitHub release)."""

from __future__ import annotations

from pathlib import Path

from packaging.version import Version

from release.announce.github import api_base, describe_request, publish, repository, token
from release.announce.notes import (
    commit_notes,
    current_version,
    describe_notes,
    gather,
    notes_path,
    render_sources,
    today,
    write_notes,
)
from release.config import load
from release.record import load as load_record
from release.redaction import redact


def run_notes(root: Path, train: str | None = None, version: str | None = None,
              commit: bool = False, dry_run: bool = False) -> str:
    """`invoke notes`: the path written (or the commit made); the release record, when there
    is one, notes the stage done, so `status` moves on."""
    if dry_run:
        return describe_notes(root, train, version, commit)
    if commit:
        said = commit_notes(root, train, version)
    else:
        said = str(write_notes(root, train, version))
    sources_config = load(root)
    chosen = sources_config.pick(train)
    record = load_record(sources_config.root, chosen.name,
                         version or current_version(sources_config, chosen))
    if record.path.exists() and not record.done("notes"):
        with record.running("notes", {}) as out:
            out["path"] = said
    return said


def run_github_release(root: Path, train: str | None = None,
                       version: str | None = None, dry_run: bool = False) -> str:
    """`invoke github-release`: publish the release notes (.release/notes/ or the committed
    release-notes/; an existing file is used as it is, so hand edits survive; a missing one is
    written, into the ignored .release/notes/, only once GitHub has the release). With
    `dry_run`, the request it would send (no token needed, none shown), nothing sent."""
    secret = "" if dry_run else token()
    sources = gather(root, train, version)
    config, chosen = sources.config, sources.train
    owner, name = repository(config.root)
    path = next((p for p in (notes_path(config.root, chosen.name, sources.version),
                             notes_path(config.root, chosen.name, sources.version,
                                        committed=True)) if p.exists()), None)
    lines = []
    # Nothing is written before the release exists on GitHub: a refusal leaves no file.
    body = path.read_text(encoding="utf-8") if path else render_sources(sources, today())
    tag = chosen.tag(sources.version)
    api = api_base()
    if dry_run:
        return redact(describe_request(api, owner, name, tag=tag, body=body, path=path,
                                       title=f"{chosen.name} {sources.version}",
                                       prerelease=Version(sources.version).is_prerelease))
    result = publish(api, owner, name, secret, tag=tag,
                     title=f"{chosen.name} {sources.version}", body=body,
                     prerelease=Version(sources.version).is_prerelease)
    if result.created:
        kind = "pre-release" if Version(sources.version).is_prerelease else "release"
        lines.append(f"published GitHub {kind} {tag} of {owner}/{name}: {result.url}")
    else:
        where = f": {result.url}" if result.url else ""
        lines.append(f"GitHub release {tag} of {owner}/{name} already exists{where}; nothing "
                     "changed (edit it on GitHub to change its notes)")
    if path is None and result.created:  # the notes GitHub now shows, kept in .release/
        lines.append(f"wrote {write_notes(config.root, chosen.name, sources.version)}")
    return redact("\n".join(lines))
