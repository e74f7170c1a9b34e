"""The audit: lines that carry a train's current version but that no bump would move.

`invoke check --audit` reads every git-tracked text file once and lists each line where a
train's current version is written but no spot of the scan sits. Matches are bounded: `1.2.3`
is not in `1.2.30`, `11.2.3`, `1.2.3.4` or `1.2.3rc1` (other versions), but it is in `v1.2.3`,
`app:1.2.3-cuda` and `pkg-1.2.3.tar.gz`. Files that record history rather than state
(changelogs, news, release notes), lock files, binaries, the release configuration and
`.release/` are not audited. `--suggest` turns each finding into an occurrence entry to paste
into the config, with the smallest search that matches nothing but lines carrying the version,
and one glob entry where three or more files share a search.

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

import tomlkit
from packaging.version import InvalidVersion, Version

from release import repo as git
from release.config import Config
from release.versions.agreement import pending_version, tag_version, train_version
from release.versions.scan import Scan, glob_regex, search_regex

MAX_BYTES = 2 * 1024 * 1024  # larger files are data, not places a version is written by hand
MAX_SHOWN = 120
GLOB_MIN = 3  # files sharing one search before they become one glob entry

# Files and directories that record history, not the current state (matched per path part).
_HISTORY = re.compile(r"(changelog|changes|history|news|release.*notes).*|.*\.changes", re.I)
_LOCKS = frozenset({"uv.lock", "poetry.lock", "cargo.lock", "pdm.lock", "package-lock.json",
                    "yarn.lock", "pnpm-lock.yaml", "npm-shrinkwrap.json"})
# After the version: what would make it a longer, different version (1.2.3rc1, 1.2.3.dev0).
_LONGER = (r"(?i:[-_.]?(?:alpha|beta|preview|pre|rc|a|b|c|post|rev|r|dev)[-_.]?[0-9]*)"
           r"(?![A-Za-z])")
_TOML_HEADER = re.compile(r"^[ \t]*\[\[?[ \t]*([A-Za-z0-9_.\-\"' \t]+?)[ \t]*\]\]?[ \t]*(#.*)?$")
_QUOTES = "\"'`"
_OPENERS = _QUOTES + "([<"
_OPENERS_CLOSE = {**{q: q for q in _QUOTES}, "(": ")", "[": "]", "<": ">"}


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


@dataclass(frozen=True)
class Suggestion:
    """An occurrence entry for a train's config; `note` says why it is only a comment."""

    train: str
    path: str  # a path or a glob, posix
    search: str
    note: str = ""
    also: tuple[str, ...] = ()  # trains at the same version, which it may belong to instead

    def toml(self) -> str:
        entry = (f"{{ path = {tomlkit.string(self.path).as_string()}, "
                 f"search = {tomlkit.string(self.search).as_string()} }},")
        if self.note:
            return f"# {entry}  # {self.note}"
        if self.also:
            return f"{entry}  # or under {', '.join(self.also)}: same version"
        return entry


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


# --- suggesting ------------------------------------------------------------------------------

def search_starts(before: str, after: str, text: str) -> set[int]:
    """Where an occurrence search would find a version in text (as the bump reads it)."""
    regex = search_regex(before + "{version}" + after)
    return {m.start("version") for m in regex.finditer(text)}


def _word_start(line: str, end: int) -> int:
    """Start of the run of non-space characters ending at end (braces end it too: they are
    template syntax in a search)."""
    while end > 0 and not line[end - 1].isspace() and line[end - 1] not in "{}":
        end -= 1
    return end


def _trim_openers(run: str) -> str:
    """Without leading quotes or brackets that the run does not close (`"pkg==` -> `pkg==`,
    but `"version": "` stays)."""
    while run and run[0] in _OPENERS and _OPENERS_CLOSE[run[0]] not in run[1:]:
        run = run[1:]
    return run


def _lefts(line: str, start: int) -> list[str]:
    """Contexts before the version, shortest first: its word (without an opening quote or
    bracket), then with the words before it; never the line's indentation."""
    lefts: list[str] = []
    word = _word_start(line, start)
    while True:
        run = line[word:start]
        trimmed = _trim_openers(run)
        if any(c.isalnum() for c in trimmed):
            lefts.append(trimmed)
        lefts.append(run)
        gap = word
        while gap > 0 and line[gap - 1].isspace():
            gap -= 1
        if gap == 0 or line[gap - 1] in "{}" or word > 0 and line[word - 1] in "{}":
            break
        word = _word_start(line, gap)
    meaningful = [c for c in lefts if any(ch.isalnum() for ch in c)]
    return list(dict.fromkeys(meaningful + lefts[-1:]))


def _rights(line: str, end: int) -> list[str]:
    """Contexts after the version, shortest first, up to the end of the line."""
    rights: list[str] = []
    stop = len(line.rstrip())
    at = end
    while at < stop:
        while at < stop and line[at].isspace():
            at += 1
        while at < stop and not line[at].isspace() and line[at] not in "{}":
            at += 1
        rights.append(line[end:at])
        if at < stop and line[at] in "{}":
            break
    return rights


def search_for(line: str, span: tuple[int, int], text: str, offset: int,
               allowed: set[int], bounds: tuple[int, int] | None = None) -> tuple[str, str, bool]:
    """The smallest (before, after) around the version at span that, in the whole file,
    finds versions only where allowed (lines carrying the current version); and whether one
    was found (else the largest tried). The context stays within bounds (by default the
    line): a search cannot hold the version twice."""
    lo, hi = bounds or (0, len(line))
    if (lo, hi) != (0, len(line)):
        before, after, ok = search_for(line[lo:hi], (span[0] - lo, span[1] - lo), text,
                                       offset + lo, allowed)
        return before, after, ok
    start, end = span
    candidates: list[tuple[str, str]] = []
    for left in _lefts(line, start):
        closing = left[-1:] if left[-1:] and left[-1] in _QUOTES else ""
        right = closing if closing and line[end:end + 1] == closing else ""
        candidates.append((left, right))
    widest = candidates[-1][0]
    candidates += [(widest, right) for right in _rights(line, end)]
    for before, after in candidates:
        starts = search_starts(before, after, text)
        if offset + start in starts and starts <= allowed:
            return before, after, True
    return candidates[-1][0], candidates[-1][1], False


def _common_dir(paths: list[PurePosixPath]) -> tuple[str, ...]:
    dirs = [p.parent.parts for p in paths]
    common: tuple[str, ...] = dirs[0]
    for parts in dirs[1:]:
        size = 0
        while size < min(len(common), len(parts)) and common[size] == parts[size]:
            size += 1
        common = common[:size]
    return common


def _glob_for(paths: list[PurePosixPath], name: str) -> str:
    """A glob for files `name` (a file name or `*.ext`) under their common directory."""
    common = _common_dir(paths)
    depths = {len(p.parent.parts) for p in paths}
    if depths == {len(common)}:
        middle: tuple[str, ...] = ()
    elif depths == {len(common) + 1}:
        middle = ("*",)
    else:
        middle = ("**",)
    return "/".join((*common, *middle, name))


def _glob_holds(glob: str, search: str, members: set[str], texts: Mapping[Path, str],
                allowed: Mapping[str, set[int]]) -> bool:
    """Exactly the member files of the glob hold the search, only where versions are due."""
    regex = glob_regex(glob)
    before, after = search.split("{version}", 1)
    holders = set()
    for rel, text in texts.items():
        posix = rel.as_posix()
        if not regex.match(posix) or before not in text:
            continue
        starts = search_starts(before, after, text)
        if starts:
            if not starts <= allowed.get(posix, set()):
                return False
            holders.add(posix)
    return holders == members


def _same_name(path: PurePosixPath) -> str:
    return path.name


def _same_extension(path: PurePosixPath) -> str:
    return "*" + path.suffix if path.suffix else ""


def _collapse(train: str, entries: list[Suggestion], texts: Mapping[Path, str],
              allowed: Mapping[str, set[int]]) -> list[Suggestion]:
    """Three or more files with one search, of one name or one extension: one glob entry."""
    by_search: dict[str, list[Suggestion]] = defaultdict(list)
    for entry in entries:
        if not entry.note:
            by_search[entry.search].append(entry)
    replaced: dict[Suggestion, Suggestion | None] = {}  # the first member -> its glob entry
    for search, group in by_search.items():
        left = list(group)
        for key in (_same_name, _same_extension):
            kinds: dict[str, list[Suggestion]] = defaultdict(list)
            for entry in left:
                kinds[key(PurePosixPath(entry.path))].append(entry)
            for name, members in kinds.items():
                if not name or len(members) < GLOB_MIN:
                    continue
                glob = _glob_for([PurePosixPath(m.path) for m in members], name)
                if not _glob_holds(glob, search, {m.path for m in members}, texts, allowed):
                    continue
                replaced[members[0]] = Suggestion(train, glob, search, also=members[0].also)
                replaced.update(dict.fromkeys(members[1:]))
                left = [e for e in left if e not in members]
    result = []
    for entry in entries:
        if entry not in replaced:
            result.append(entry)
        elif (glob_entry := replaced[entry]) is not None:
            result.append(glob_entry)
    return result


def suggest(findings: list[Finding], texts: Mapping[Path, str]) -> list[Suggestion]:
    """Occurrence entries that would manage every finding, by train, globbed where they can."""
    allowed: dict[tuple[str, str], set[int]] = defaultdict(set)
    for f in findings:
        allowed[f.train, f.path.as_posix()] |= {f.offset + s for s, _ in f.spans}
    trains = list(dict.fromkeys(f.train for f in findings))
    result: list[Suggestion] = []
    for train in trains:
        entries: list[Suggestion] = []
        covered: dict[str, set[int]] = defaultdict(set)
        mine = {path: starts for (t, path), starts in allowed.items() if t == train}
        for f in (f for f in findings if f.train == train):
            posix, text = f.path.as_posix(), texts[f.path]
            for index, span in enumerate(f.spans):
                if f.offset + span[0] in covered[posix]:
                    continue
                bounds = (f.spans[index - 1][1] if index else 0,
                          f.spans[index + 1][0] if index + 1 < len(f.spans) else len(f.text))
                before, after, ok = search_for(f.text, span, text, f.offset, mine[posix],
                                               bounds)
                search = before + "{version}" + after
                if ok:
                    covered[posix] |= search_starts(before, after, text)
                    entry = Suggestion(train, posix, search, also=f.also)
                else:
                    covered[posix].add(f.offset + span[0])
                    entry = Suggestion(train, posix, search,
                                       f"line {f.line}: every search around it also matches "
                                       "another version in the file")
                if entry not in entries:
                    entries.append(entry)
        result += _collapse(train, entries, texts, mine)
    return result


# --- reports ---------------------------------------------------------------------------------

def render_findings(findings: list[Finding]) -> str:
    lines = [str(f) for f in findings]
    per_train = ", ".join(f"{train} {sum(f.train == train for f in findings)}"
                          for train in dict.fromkeys(f.train for f in findings))
    lines.append(f"audit: {len(findings)} unmanaged line(s) carry a train's version"
                 + (f" ({per_train})" if findings else ""))
    return "\n".join(lines)


def render_suggestions(config: Config, suggestions: list[Suggestion]) -> str:
    """Entries to paste into each train's `occurrences = [...]`, under a header per train."""
    prefix = "tool.release." if config.source.name == "pyproject.toml" else ""
    lines: list[str] = []
    for train in dict.fromkeys(s.train for s in suggestions):
        if lines:
            lines.append("")
        lines.append(f"# [{prefix}trains.{train}]: add to its occurrences = [...]")
        lines += [s.toml() for s in suggestions if s.train == train]
    return "\n".join(lines)
