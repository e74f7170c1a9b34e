"""The audit: lines that carry a train's current version but that no bump would move.

`invoke check --audit` reads every git-tracked text file once and lists each line where a
train's current version is written but no spot of the scan sits. Matches are bounded: `1.2.3`
is not in `1.2.30`, `11.2.3`, `1.2.3.4` or `1.2.3rc1` (other versions), but it is in `v1.2.3`,
`app:1.2.3-cuda` and `pkg-1.2.3.tar.gz`. Files that record history rather than state
(changelogs, news, release notes), lock files, binaries, the release configuration and
`.release/` are not audited. `--suggest` turns the findings into occurrence entries
(`versions.suggest`).

A short version (`1.0`, `6.0`) is audited literally like any other, so it finds more lines that
merely look like it (`minversion = "6.0"`): the audit reports, the user decides.
"""

from __future__ import annotations

import os
import re
import stat
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.version import InvalidVersion, Version

from release import repo as git
from release.config import Config
from release.versions.agreement import pending_version, tag_version, train_version
from release.versions.pep440 import DEV_SPELLING, POST_SPELLINGS, PRE_SPELLINGS
from release.versions.scan import Scan

MAX_BYTES = 2 * 1024 * 1024  # larger files are data, not places a version is written by hand
MAX_SHOWN = 120

# Files and directories that record history, not the current state (matched per path part).
_HISTORY = re.compile(r"(changelog|changes|history|news|release.*notes).*|.*\.changes", re.I)
_LOCKS = frozenset({"uv.lock", "poetry.lock", "cargo.lock", "pdm.lock", "package-lock.json",
                    "yarn.lock", "pnpm-lock.yaml", "npm-shrinkwrap.json"})
# After the version: what would make it a longer, different version (1.2.3rc1, 1.2.3.dev0).
_LONGER = (rf"(?i:[-_.]?(?:{PRE_SPELLINGS}|{POST_SPELLINGS}|{DEV_SPELLING})[-_.]?[0-9]*)"
           r"(?![A-Za-z])")
_TOML_HEADER = re.compile(r"^[ \t]*\[\[?[ \t]*([A-Za-z0-9_.\-\"' \t]+?)[ \t]*\]\]?[ \t]*(#.*)?$")


@dataclass(frozen=True)
class Finding:
    """One line that carries a train's current version and that no spot covers."""

    train: str
    version: str  # as the train writes it
    path: Path  # relative to the repository root
    line: int  # 1-based
    text: str  # the line, without its line break
    spans: tuple[tuple[int, int], ...]  # where the version stands on the line
    offset: int = 0  # where the line starts in the file
    also: tuple[str, ...] = ()  # other trains at the same version: the line may be theirs

    @property
    def trains(self) -> str:
        return self.train + (f" (or {', '.join(self.also)})" if self.also else "")

    def __str__(self) -> str:
        shown = self.text.strip()
        if len(shown) > MAX_SHOWN:
            shown = shown[:MAX_SHOWN - 3] + "..."
        return f"{self.path.as_posix()}:{self.line}: {self.trains} {self.version}: {shown}"


# --- what is audited -------------------------------------------------------------------------

def skip_reason(rel: Path, config: Config) -> str | None:
    """Why a tracked file is not audited, or None."""
    parts = PurePosixPath(rel.as_posix()).parts
    if parts and parts[0] == ".release":
        return "release records"
    if config.source.name == "release.toml" and rel == _config_rel(config):
        return "release configuration"
    name = rel.name.lower()
    if name in _LOCKS or name.endswith(".lock"):
        return "lock file"
    if any(_HISTORY.fullmatch(part) for part in parts):
        return "changelog, news or release notes"
    return None


def _config_rel(config: Config) -> Path:
    return config.source.relative_to(config.root)


def release_table_lines(text: str) -> set[int]:
    """Line numbers of the [tool.release...] tables of a pyproject.toml."""
    inside, found = False, set()
    for number, line in enumerate(text.split("\n"), 1):
        m = _TOML_HEADER.match(line)
        if m:
            key = re.sub(r"[\s\"']", "", m[1])
            inside = key == "tool.release" or key.startswith("tool.release.")
        if inside:
            found.add(number)
    return found


def read_texts(root: Path, files: Iterable[Path]) -> dict[Path, str]:
    """The UTF-8 text of each regular file (no symlinks, nothing over MAX_BYTES, no NUL byte)."""
    texts: dict[Path, str] = {}
    top = root.resolve()
    for rel in files:
        path = root / rel
        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
                continue
            if not path.resolve().is_relative_to(top):  # through a symlinked directory
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if b"\0" in data:
            continue
        try:
            texts[rel] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return texts


# --- finding ---------------------------------------------------------------------------------

def version_forms(written: str) -> list[str]:
    """The version as written and, when it differs, normalized (0.66b0.dev -> 0.66b0.dev0)."""
    forms = {written}
    try:
        forms.add(str(Version(written)))
    except InvalidVersion:
        pass
    return sorted(forms, key=len, reverse=True)


def version_pattern(written: str) -> re.Pattern[str]:
    """The version as a bounded match: it ends where its own text ends (1.2.3-cuda matches),
    and is never part of a longer version (1.2.30, 11.2.3, 1.2.3.4, 1.2.3rc1)."""
    alternatives = "|".join(re.escape(form) for form in version_forms(written))
    return re.compile(rf"(?<![0-9])(?<![0-9]\.)(?:{alternatives})(?!\.?[0-9])(?!{_LONGER})")


def current_versions(config: Config, found: Scan) -> dict[str, str]:
    """Each train's version as written; not a train versioned by tags that has no tag yet."""
    versions = {}
    for train in config.trains.values():
        if train.name in found.tag_driven and not found.for_train(train.name, ("version",)) \
                and not (pending_version(config, train) or tag_version(config, train)):
            continue
        versions[train.name] = train_version(found, train).text
    return versions


def managed_lines(found: Scan, versions: Mapping[str, str]) -> dict[str, set[tuple[Path, int]]]:
    """Per train, the path:line places a bump moves: its own spots, and those of any train at
    the same version (the same text cannot tell the trains apart)."""
    def key(text: str) -> object:
        try:
            return Version(text)
        except InvalidVersion:
            return text

    by_version: dict[object, set[tuple[Path, int]]] = defaultdict(set)
    for spot in found.spots:
        if spot.train in versions:
            by_version[key(versions[spot.train])].add((spot.path, spot.line))
    return {name: by_version[key(text)] for name, text in versions.items()}


def find_lines(train: str, version: str, rel: Path, text: str,
               pattern: re.Pattern[str], skip: set[int],
               also: tuple[str, ...] = ()) -> list[Finding]:
    """The lines of one file where pattern matches, but not those numbered in skip."""
    spans: dict[int, list[tuple[int, int]]] = {}
    offsets: dict[int, int] = {}
    line, line_start, counted = 1, 0, 0
    for m in pattern.finditer(text):
        breaks = text.count("\n", counted, m.start())
        if breaks:
            line += breaks
            line_start = text.rfind("\n", 0, m.start()) + 1
        counted = m.start()
        if line not in skip:
            spans.setdefault(line, []).append((m.start() - line_start, m.end() - line_start))
            offsets[line] = line_start
    findings = []
    for number, found in spans.items():
        start = offsets[number]
        end = text.find("\n", start)
        body = text[start:end if end >= 0 else len(text)].removesuffix("\r")
        findings.append(Finding(train, version, rel, number, body, tuple(found), start, also))
    return findings


def audit(config: Config, found: Scan, texts: Mapping[Path, str]) -> list[Finding]:
    """Every unmanaged line of the texts that carries a train's current version, by train.
    Trains that write the same version share their findings: each is reported once, under the
    first of them, naming the others."""
    versions = current_versions(config, found)
    managed = managed_lines(found, versions)
    sharing: dict[str, list[str]] = defaultdict(list)
    for name, written in versions.items():
        sharing[written].append(name)
    also = {names[0]: tuple(names[1:]) for names in sharing.values()}
    patterns = {name: version_pattern(versions[name]) for name in also}
    forms = {name: version_forms(versions[name]) for name in also}
    config_rel = _config_rel(config)
    per_train: dict[str, list[Finding]] = {name: [] for name in versions}
    for rel, text in texts.items():
        if skip_reason(rel, config):
            continue
        table = release_table_lines(text) if rel == config_rel else set()
        for name, pattern in patterns.items():
            if not any(form in text for form in forms[name]):
                continue
            skip = table | {line for path, line in managed[name] if path == rel}
            per_train[name] += find_lines(name, versions[name], rel, text, pattern, skip,
                                          also[name])
    return [f for name in versions for f in per_train[name]]


def tracked_texts(config: Config) -> dict[Path, str]:
    """The text of every file git knows under the config's root (tracked, or untracked and
    not ignored: the files a glob occurrence sees)."""
    git.require_repo(config.root)
    return read_texts(config.root, git.tracked_files(config.root) or [])


def run_audit(config: Config, found: Scan) -> list[Finding]:
    """Audit the repository's git-tracked files."""
    return audit(config, found, tracked_texts(config))


def render_findings(findings: list[Finding]) -> str:
    lines = [str(f) for f in findings]
    per_train = ", ".join(f"{train} {sum(f.train == train for f in findings)}"
                          for train in dict.fromkeys(f.train for f in findings))
    lines.append(f"audit: {len(findings)} unmanaged line(s) carry a train's version"
                 + (f" ({per_train})" if findings else ""))
    return "\n".join(lines)
