"""Release notes: what a user needs to decide, install, trust and undo a release.

`render` is the pure core: from a train, a version, the release record (what was built, where
it was verified, on which Pythons and platforms, with which hashes), change fragments and commit
subjects, it writes Markdown. `write_notes` gathers those inputs from the repository and writes
`.release/notes/<train>-<version>.md` (ignored: the tree stays clean), or, when told to commit
them, `release-notes/<train>-<version>.md` in a commit of that file alone. The output depends
only on its inputs and the date, so a rerun on the same state writes the same bytes.

Change fragments follow towncrier: one file per change in `changes/` (or `changes/<train>/` in
a repository with several trains), named `<id>.<type>.md`.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from release import repo as git
from release.config import Config, Train, load
from release.errors import ReleaseError
from release.lock import first_root, locked
from release.record import DIRECTORY, Record, private_dir
from release.record import load as load_record
from release.repo import tag_pattern
from release.versions.agreement import train_version
from release.versions.changes import train_paths
from release.versions.pep440 import format_version, next_version, parse
from release.versions.scan import scan

CHANGES_DIR = "changes"
NOTES_DIR = "notes"  # under .release/, ignored
COMMITTED_NOTES_DIR = "release-notes"
# Fragment types, in the order their sections appear. `breaking` has its own section.
TYPES = {
    "breaking": "Breaking changes",
    "feature": "Features",
    "fix": "Fixes",
    "deprecation": "Deprecations",
    "doc": "Documentation",
    "misc": "Other changes",
}
RELEASE_COMMIT_PREFIX = "chore(release):"
INDEX_TITLES = {"testpypi": "TestPyPI", "pypi": "PyPI"}
_IGNORED = re.compile(r"^(\..*|readme(\..*)?|template(\..*)?)$", re.IGNORECASE)


class NotesError(ReleaseError):
    """Release notes cannot be written from what the repository holds."""


@dataclass(frozen=True)
class Fragment:
    """One user-visible change, as written in changes/<id>.<type>.md."""

    id: str
    type: str
    text: str
    counter: int = 0  # towncrier's `<id>.<type>.<n>.md` for a second fragment of one id

    @property
    def reference(self) -> str:
        if self.id.startswith("+"):  # towncrier's orphan fragments name no issue
            return ""
        return f" (#{self.id})" if self.id.isdigit() else f" ({self.id})"

    def sort_key(self) -> tuple[int, int, str, int]:
        numeric = self.id.isdigit()
        return (0 if numeric else 1, int(self.id) if numeric else 0, self.id, self.counter)


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str


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


# --- the pure core ------------------------------------------------------------------------

def _version_of_tag(train: Train, tag: str | None) -> str | None:
    if not tag:
        return None
    m = tag_pattern(train.tag_format, train.name).match(tag)
    return m["version"] if m else None


def _fix_forward(version: str) -> str:
    """The version that fixes this one: .postN after a final, the next pre-release after one."""
    current = parse(version)
    part = "pre" if current.version.pre is not None else "post"
    try:
        return format_version(next_version(current.version, part), current.style)
    except ReleaseError:
        return "the next version"


def _md(text: object) -> str:
    """A table cell: no pipes or newlines to break the row."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(intro: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A Markdown table (with its intro paragraph), or nothing for no rows."""
    if not rows:
        return []
    lines = [intro, ""] if intro else []
    lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def _seconds(value: object) -> str:
    return f"{float(value):.1f} s" if isinstance(value, int | float) else "?"


def _packages(train: Train, version: str, record: Mapping[str, Any] | None) -> list[str]:
    names = {str(a["package"]) for a in (record or {}).get("artifacts", [])
             if str(a.get("version")) == version}
    names |= {p.name for p in train.packages}
    return sorted(names)


def _install_lines(names: Sequence[str], version: str, extra: str) -> list[str]:
    return ["```sh", *(f"pip install --upgrade {extra}{n}=={version}" for n in names), "```"]


def _render_install(train: Train, names: Sequence[str], version: str,
                    indexes: Mapping[str, str], prerelease_on_pypi: bool) -> list[str]:
    lines = ["## Install or upgrade", ""]
    if train.kind != "python":
        return lines + [f"{train.name} is not a Python package: deploy version {version} the "
                        "way this artifact is deployed.", ""]
    if Version(version).is_prerelease and not prerelease_on_pypi:
        test = indexes.get("testpypi", "https://test.pypi.org/simple/")
        prod = indexes.get("pypi", "https://pypi.org/simple/")
        lines += [f"This is a pre-release: it is published on TestPyPI only ({test}). "
                  "Install it for testing, with PyPI for its dependencies:", ""]
        lines += _install_lines(names, version, f"--index-url {test} --extra-index-url {prod} ")
    else:
        lines += _install_lines(names, version, "")
    return lines + [""]


def _render_fragments(fragments: Sequence[Fragment], kind: str) -> list[str]:
    lines = []
    for f in fragments:
        if f.type != kind:
            continue
        first, *rest = f.text.splitlines()
        lines.append(f"- {first}{f.reference if not rest else ''}")
        lines += [f"  {line}".rstrip() for line in rest]
        if rest and f.reference:
            lines.append(f"  {f.reference.strip()}")
    return lines


def _render_changes(fragments: Sequence[Fragment], commits: Sequence[Commit],
                    since: str | None) -> list[str]:
    lines = ["## Changes", ""]
    for kind, title in TYPES.items():
        if kind == "breaking":
            continue
        listed = _render_fragments(fragments, kind)
        if listed:
            lines += [f"### {title}", "", *listed, ""]
    if commits:
        lines += [f"### Commits since {since}" if since else "### Commits", ""]
        lines += [f"- {c.subject} ({c.sha[:7]})" for c in commits]
        lines.append("")
    if len(lines) == 2:
        lines += [f"None recorded: add change fragments to {CHANGES_DIR}/ "
                  "(`<id>.<type>.md`).", ""]
    return lines


def _render_report(name: str, report: Mapping[str, Any], url: str | None) -> list[str]:
    title = INDEX_TITLES.get(name, name)
    verdict = "passed" if report.get("ok") else "FAILED"
    lines = [f"### {title}: {verdict}", ""]
    if url:
        lines.append(f"- index: {url}")
    if report.get("waited") is not None:
        lines.append(f"- every file was visible there, with our sha256, after "
                     f"{_seconds(report['waited'])}")
    if lines[-1]:
        lines.append("")
    rows = []
    for p in report.get("pythons") or []:
        interpreter = p.get("interpreter", "")
        if p.get("version"):
            interpreter = f"{p['version']} ({interpreter})"
        result = "ok" if p.get("ok") else f"FAILED: {p.get('error') or 'see the record'}"
        rows.append([p.get("python", "?"), interpreter, result, _seconds(p.get("seconds"))])
    lines += _table("Installed back in a fresh environment and smoke-tested:",
                    ["Python", "interpreter", "result", "time"], rows)
    rows = [[p.get("platform", "?"), p.get("python", "?"),
             "ok" if p.get("ok") else f"FAILED: {p.get('detail', '')}"]
            for p in report.get("platforms") or []]
    lines += _table("Resolved for other platforms without installing:",
                    ["platform", "Python", "result"], rows)
    problems = report.get("pin_problems") or []
    if problems:
        lines += [f"- pin: {problem}" for problem in problems] + [""]
    return lines


def _render_gates(record: Mapping[str, Any]) -> list[str]:
    """Gates (latest result of each command), manual checkpoints, version availability."""
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for result in record.get("gates") or []:
        latest[(str(result.get("kind")), str(result.get("command")))] = result
    rows = [[f"`{r.get('command')}`", r.get("kind", ""),
             "passed" if r.get("ok") else f"FAILED (exit {r.get('exit')})",
             _seconds(r.get("seconds")), str(r.get("commit", ""))[:12], r.get("log", "")]
            for r in latest.values()]
    lines = ["### Gates", ""]
    if rows:
        lines += _table("Run in a clean worktree of the release commit before any upload:",
                        ["command", "kind", "result", "time", "commit", "log"], rows)
    else:
        lines += ["No validation commands are configured (`checks`).", ""]
    acks = record.get("acks") or {}
    if acks:
        lines += _table("Manual checkpoints, acknowledged:", ["checkpoint", "by", "at"],
                        [[text, a.get("by", ""), a.get("at", "")] for text, a in acks.items()])
    checks = (record.get("steps") or {}).get("preflight", {}).get("outputs", {}).get("checks")
    free = [c for c in checks or [] if "has that version on" in c or "could not check" in c]
    if free:
        lines += ["Version availability, checked before anything was written:", ""]
        lines += [f"- {c}" for c in free] + [""]
    return lines


def _render_summary(record: Mapping[str, Any]) -> list[str]:
    """One line: which Pythons, platforms and indexes the release was verified on."""
    reports: Mapping[str, Any] = record.get("verifications") or {}
    pythons = sorted({str(p.get("python")) for r in reports.values()
                      for p in r.get("pythons") or [] if p.get("ok")})
    platforms = sorted({str(p.get("platform")) for r in reports.values()
                        for p in r.get("platforms") or [] if p.get("ok")})
    indexes = [INDEX_TITLES.get(n, n) for n, r in reports.items() if r.get("ok")]
    gates = {str(r.get("command")) for r in record.get("gates") or [] if r.get("ok")}
    if not (pythons or platforms or indexes or gates):
        return []
    return [f"In short: {len(gates)} gate(s) passed; installed back from "
            f"{', '.join(indexes) or 'no index'} on Python {', '.join(pythons) or 'none'}; "
            f"resolved for {', '.join(platforms) or 'no other platform'}.", ""]


def _render_validation(record: Mapping[str, Any] | None, version: str) -> list[str]:
    lines = ["## Validation performed", ""]
    if record is not None:
        lines += _render_summary(record) + _render_gates(record)
    verifications: Mapping[str, Any] = (record or {}).get("verifications") or {}
    if not verifications:
        why = "no release record exists for this version" if record is None else \
            "the release record holds no verification"
        lines += [f"**Not verified yet**: {why}. Nothing below was installed back from an "
                  "index.", ""]
    order = [n for n in INDEX_TITLES if n in verifications] + \
        sorted(n for n in verifications if n not in INDEX_TITLES)
    indexes: Mapping[str, str] = (record or {}).get("indexes") or {}
    for name in order:
        lines += _render_report(name, verifications[name], indexes.get(name))
    artifacts = [a for a in (record or {}).get("artifacts", [])
                 if str(a.get("version")) == version]
    if artifacts:
        rows = [[a.get("filename"), a.get("kind", ""), a.get("size", ""),
                 f"`{a.get('sha256', '')}`"]
                for a in sorted(artifacts, key=lambda a: str(a.get("filename")))]
        lines += ["### Files", ""] + _table("", ["file", "kind", "size", "sha256"], rows)
    else:
        lines += ["No built files are recorded yet.", ""]
    return lines


def known_issues(record: Mapping[str, Any] | None) -> list[str]:
    """What the record says went wrong: failed platforms, Pythons, pins and steps."""
    issues = []
    for name, report in sorted(((record or {}).get("verifications") or {}).items()):
        where = INDEX_TITLES.get(name, name)
        for p in report.get("platforms") or []:
            if not p.get("ok"):
                issues.append(f"platform {p.get('platform')} (Python {p.get('python')}) does "
                              f"not resolve from {where}: {p.get('detail', '')}".rstrip(": "))
        for p in report.get("pythons") or []:
            if not p.get("ok"):
                issues.append(f"Python {p.get('python')}: install-back from {where} failed: "
                              f"{p.get('error') or 'see the record'}")
        for problem in report.get("pin_problems") or []:
            issues.append(f"{where}: {problem}")
    latest = {str(r.get("command")): r for r in (record or {}).get("gates") or []}
    issues += [f"gate `{c}` failed (exit {r.get('exit')}; log {r.get('log')})"
               for c, r in latest.items() if not r.get("ok")]
    for name, step in ((record or {}).get("steps") or {}).items():
        if isinstance(step, Mapping) and step.get("status") == "failed":
            issues.append(f"step {name} failed: {step.get('error', '')}".rstrip(": "))
    return issues


def _render_rollback(train: Train, names: Sequence[str], version: str,
                     rollback_tag: str | None) -> list[str]:
    lines = ["## Rollback", ""]
    previous = _version_of_tag(train, rollback_tag)
    if train.kind != "python":
        back = f"version {previous} (tag `{rollback_tag}`)" if previous else "the previous version"
        return lines + [f"Deploy {back} again. Published versions are never changed: fix "
                        f"forward with {_fix_forward(version)}.", ""]
    if previous:
        lines += [f"To go back, pin the previous release ({previous}, tag `{rollback_tag}`):",
                  "", "```sh", *(f"pip install {n}=={previous}" for n in names), "```", ""]
    else:
        lines += ["This is the train's first release: there is no earlier version to go back "
                  "to; uninstall instead:", "", "```sh",
                  f"pip uninstall {' '.join(names)}", "```", ""]
    lines += [f"Published files are never deleted or replaced. If {version} is bad, yank it on "
              "the index (new installs skip it; exact pins still work), then fix forward with "
              f"{_fix_forward(version)}.", ""]
    return lines


def render(train: Train, version: str, *, date: str,
           record: Mapping[str, Any] | None = None,
           fragments: Sequence[Fragment] = (),
           commits: Sequence[Commit] = (),
           since_tag: str | None = None,
           rollback_tag: str | None = None,
           indexes: Mapping[str, str] | None = None,
           prerelease_on_pypi: bool = False,
           downstream: Sequence[str] = ()) -> str:
    """The notes of one train's release, as Markdown. Pure: same inputs, same text."""
    try:
        Version(version)
    except InvalidVersion:
        raise NotesError(f"{version!r} is not a valid PEP 440 version") from None
    data: Mapping[str, Any] = record or {}
    names = _packages(train, version, record)
    tag = data.get("tag") or train.tag(version)
    lines = [f"# {train.name} {version} ({date})", ""]
    about = f"Tag `{tag}`"
    if data.get("commit"):
        about += f" on commit `{str(data['commit'])[:12]}`"
    about += "."
    if since_tag:
        about += f" Previous release: `{since_tag}`."
    lines += [about, ""]

    lines += ["## Packages", ""]
    if names:
        lines += [f"- {n} == {version}" for n in names]
    else:
        lines.append(f"- {train.name} == {version} (not a Python package)")
    lines.append("")
    lines += _render_install(train, names, version, {**(indexes or {}),
                                                     **(data.get("indexes") or {})},
                             prerelease_on_pypi)
    if downstream:
        lines += ["## Downstream", "", *(f"- {d}" for d in downstream), ""]

    lines += ["## Breaking changes and upgrade steps", ""]
    lines += _render_fragments(fragments, "breaking") or ["None."]
    lines.append("")
    lines += _render_changes(fragments, commits, since_tag)
    lines += _render_validation(record, version)

    lines += ["## Known issues", ""]
    lines += [f"- {issue}" for issue in known_issues(record)] or ["None known."]
    lines.append("")
    lines += _render_rollback(train, names, version, rollback_tag)
    return "\n".join(lines).rstrip("\n") + "\n"


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
    from release import confine
    from release.versions.edits import write_atomic

    confine.mkdir(path.parent)
    write_atomic(path, text)


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
