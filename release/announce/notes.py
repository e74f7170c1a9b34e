"""Release notes, gathered and written: what `invoke notes` does around the pure `render`.

`gather` reads what the notes of one release are made from: the configuration, the release
record, change fragments, the tags before the release and the commit subjects since. The notes
are written to `.release/notes/<train>-<version>.md` (ignored: the tree stays clean), or, when
told to commit them, to `release-notes/<train>-<version>.md` in a commit of that file alone.
The output depends only on its inputs and the date, so a rerun on the same state writes the
same bytes.

Change fragments follow towncrier: one file per change in `changes/` (or `changes/<train>/` in
a repository with several trains), named `<id>.<type>.md`.
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from release import confine
from release import repo as git
from release.announce.render import CHANGES_DIR, TYPES, Commit, Fragment, NotesError, render
from release.config import Config, Train, load
from release.errors import ReleaseError
from release.lock import first_root, locked
from release.record import DIRECTORY, Record, private_dir
from release.record import load as load_record
from release.versions.agreement import train_version
from release.versions.changes import train_paths
from release.versions.scan import scan

NOTES_DIR = "notes"  # under .release/, ignored
COMMITTED_NOTES_DIR = "release-notes"
RELEASE_COMMIT_PREFIX = "chore(release):"
_IGNORED = re.compile(r"^(\..*|readme(\..*)?|template(\..*)?)$", re.IGNORECASE)


# --- gathering (reads the repository) -------------------------------------------------------

def parse_fragment_name(path: Path, shown: str) -> tuple[str, str, int]:
    """(id, type, counter) from `<id>.<type>.md` or `<id>.<type>.<n>.md`; NotesError naming
    the file otherwise."""
    known = ", ".join(TYPES)
    name = path.name
    if not name.endswith(".md"):
        raise NotesError(f"{shown}: a change fragment is named <id>.<type>.md (types: {known})")
    parts = name[: -len(".md")].split(".")
    counter = 0
    if len(parts) == 3 and parts[2].isdigit():
        counter = int(parts[2])
        parts = parts[:2]
    if len(parts) != 2 or not parts[0]:
        raise NotesError(f"{shown}: a change fragment is named <id>.<type>.md (types: {known})")
    ident, kind = parts
    if kind not in TYPES:
        raise NotesError(f"{shown}: unknown change type {kind!r} (known: {known})")
    return ident, kind, counter


def read_fragments(root: Path, train: str, several_trains: bool) -> list[Fragment]:
    """Fragments in changes/ and, in a repository of several trains, changes/<train>/."""
    directories = [root / CHANGES_DIR]
    if several_trains:
        directories.append(root / CHANGES_DIR / train)
    found = []
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if path.is_dir() or _IGNORED.match(path.name):
                continue
            shown = str(path.relative_to(root))
            ident, kind, counter = parse_fragment_name(path, shown)
            try:
                text = path.read_text(encoding="utf-8").strip()
            except UnicodeDecodeError:
                raise NotesError(f"{shown}: not UTF-8 text") from None
            if not text:
                raise NotesError(f"{shown}: empty change fragment: say what changed, or "
                                 "delete it")
            found.append(Fragment(ident, kind, text, counter))
    return sorted(found, key=lambda f: (list(TYPES).index(f.type), f.sort_key()))


def read_commits(config: Config, train: Train, start: str | None, end: str) -> list[Commit]:
    """Subjects of the commits start..end (all up to end without start), oldest first,
    without merges and release commits."""
    spec = f"{start}..{end}" if start else end
    args = ["log", "--no-merges", "--reverse", "--format=%H%x00%s", spec]
    paths = train_paths(train)
    if paths:
        args += ["--", *paths]
    out = git.git(config.root, *args, what=f"git log {spec}")
    prefixes = {RELEASE_COMMIT_PREFIX}
    configured = config.commit_message.split("{", 1)[0].strip()
    if configured:
        prefixes.add(configured)
    commits = []
    for line in out.splitlines():
        sha, _, subject = line.partition("\0")
        if subject and not subject.startswith(tuple(prefixes)):
            commits.append(Commit(sha, subject))
    return commits


def previous_tags(repo: Path, train: Train, version: Version,
                  end: str) -> tuple[str | None, str | None]:
    """(where the change list starts, what users roll back to): the train's nearest older
    tags reachable from the release's commit (by ancestry, as `git.last_tag` finds them).

    A final's notes cover everything since the previous final, not only since its last rc;
    rolling back always means the previous final (what PyPI users had)."""
    final = git.last_tag(repo, train.tag_format, train.name, end, below=version, final=True)
    rollback = final[1] if final else None
    if version.is_prerelease:
        nearest = git.last_tag(repo, train.tag_format, train.name, end, below=version)
        return (nearest[1] if nearest else None), rollback
    return rollback, rollback


def current_version(config: Config, train: Train) -> str:
    return train_version(scan(config, [train]), train).text


def notes_path(root: Path, train: str, version: str, *, committed: bool = False) -> Path:
    """Where the notes go: `.release/notes/` (ignored), or `release-notes/` to commit."""
    where = root / COMMITTED_NOTES_DIR if committed else root / DIRECTORY / NOTES_DIR
    return where / f"{train}-{version}.md"


def today() -> str:
    """The date in the title: SOURCE_DATE_EPOCH when set (reproducible builds), else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).date().isoformat()
    return datetime.datetime.now(datetime.UTC).date().isoformat()


# --- the effect --------------------------------------------------------------------------

@dataclass(frozen=True)
class Sources:
    """Everything the notes of one release are made from."""

    config: Config
    train: Train
    version: str
    record: Record | None
    fragments: list[Fragment]
    commits: list[Commit]
    since_tag: str | None
    rollback_tag: str | None
    downstream: tuple[str, ...] = ()


def downstream_lines(config: Config, train: Train, version: str) -> list[str]:
    """Each artifact train that pins this one: its version and what it pins now."""
    pinning = [t for t in config.trains.values()
               if t.kind == "artifact" and train.name in {p.train for p in t.pins}]
    if not pinning:
        return []
    found = scan(config)
    lines = []
    for artifact in pinning:
        own = train_version(found, artifact).text
        paths = {p.path for p in artifact.pins if p.train == train.name}
        for spot in found.spots:
            if spot.kind == "pin" and spot.train == train.name and spot.path in paths:
                state = "this release" if spot.written == version else \
                    (f"{spot.written}; it moves to {version} once {version} is verified on "
                     f"PyPI (invoke pin-downstream --train {artifact.name})")
                lines.append(f"{artifact.name} {own} (tag `{artifact.tag(own)}`) pins "
                             f"{train.name} at `{spot.where}`: {state}")
    return lines


def _end_ref(config: Config, train: Train, version: str, record: Record | None) -> str:
    """The release's commit: its tag, else the record's commit, else HEAD."""
    tag = train.tag(version)
    if git.tag_commit(config.root, tag):
        return f"refs/tags/{tag}"
    commit = str(record.data.get("commit", "")) if record else ""
    if commit and git.rev(config.root, commit):
        return commit
    return "HEAD"


def gather(root: Path, train_name: str | None = None, version: str | None = None) -> Sources:
    """Read config, record, fragments, tags and commits for a train's version."""
    config = load(root)
    train = config.pick(train_name)
    version = version or current_version(config, train)
    try:
        parsed = Version(version)
    except InvalidVersion:
        raise NotesError(f"{version!r} is not a valid PEP 440 version") from None
    found = load_record(config.root, train.name, version)
    record = found if found.path.exists() else None
    fragments = read_fragments(config.root, train.name, len(config.trains) > 1)
    commits: list[Commit] = []
    since = rollback = None
    if git.toplevel(config.root) is not None and git.rev(config.root, "HEAD"):
        end = _end_ref(config, train, version, record)
        since, rollback = previous_tags(config.root, train, parsed, end)
        commits = read_commits(config, train, since, end)
    if since is None and record is not None and record.data.get("previous_tag"):
        since = rollback = str(record.data["previous_tag"])
    return Sources(config, train, version, record, fragments, commits, since, rollback,
                   tuple(downstream_lines(config, train, version)))


def render_sources(sources: Sources, date: str) -> str:
    pypi = sources.config.indexes.get("pypi")
    indexes = {name: ix.simple_url for name, ix in sources.config.indexes.items()}
    return render(sources.train, sources.version, date=date,
                  record=sources.record.data if sources.record else None,
                  fragments=sources.fragments, commits=sources.commits,
                  since_tag=sources.since_tag, rollback_tag=sources.rollback_tag,
                  indexes=indexes, prerelease_on_pypi=bool(pypi and pypi.allow_prereleases),
                  downstream=sources.downstream)


@locked(first_root)
def write_notes(root: Path, train: str | None = None, version: str | None = None,
                date: str | None = None) -> Path:
    """Write .release/notes/<train>-<version>.md. The record is only read: the pipeline's
    notes stage journals this call."""
    sources = gather(root, train, version)
    path = notes_path(sources.config.root, sources.train.name, sources.version)
    private_dir(sources.config.root)
    _write(path, render_sources(sources, date or today()))
    return path


def _write(path: Path, text: str) -> None:
    """Atomically, confined to the repository (a committed symlink is never written through)."""
    confine.mkdir(path.parent)
    confine.write_atomic(path, text)


@locked(first_root)
def commit_notes(root: Path, train: str | None = None, version: str | None = None) -> str:
    """Write release-notes/<train>-<version>.md and commit that file alone."""
    from release.git.preflight import check_clean

    sources = gather(root, train, version)
    path = notes_path(sources.config.root, sources.train.name, sources.version, committed=True)
    check_clean(sources.config.root, [path])  # a hand-edited file is not overwritten
    text = render_sources(sources, today())
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return f"{path} is committed already"
    _write(path, text)
    try:
        sha = git.commit_paths(sources.config.root, [path], f"docs(release): notes for "
                               f"{sources.train.name} {sources.version}")
    except ReleaseError:
        path.unlink()
        raise
    return f"committed {path} ({git.short(sha)})"


def describe_notes(root: Path, train: str | None = None, version: str | None = None,
                   commit: bool = False) -> str:
    """What `invoke notes` would write (and commit): the path and the text."""
    sources = gather(root, train, version)
    path = notes_path(sources.config.root, sources.train.name, sources.version,
                      committed=commit)
    then = f" and commit it alone (docs(release): notes for {sources.train.name} " \
        f"{sources.version})" if commit else ""
    return (f"would write {path}{then}:\n\n{render_sources(sources, today()).rstrip()}\n\n"
            "dry run: nothing written")
