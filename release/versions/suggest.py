"""`invoke check --audit --suggest`: each audit finding as an occurrence entry to paste into
the train's config, with the smallest search that matches nothing but lines carrying the
version; one glob entry where three or more files share a search (`init` adds them as they are).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import tomlkit

from release.config import Config
from release.versions.audit import Finding
from release.versions.scan import glob_regex, search_regex

GLOB_MIN = 3  # files sharing one search before they become one glob entry
_QUOTES = "\"'`"
_OPENERS = _QUOTES + "([<"
_OPENERS_CLOSE = {**{q: q for q in _QUOTES}, "(": ")", "[": "]", "<": ">"}


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
