"""Which trains changed since their last release: what `status` shows and what `invoke bump`
without `--train` bumps.

A train's last release is its nearest tag by ancestry (`git.last_tag`); its changes are the
commits and files since that tag under the train's own paths (its packages' directories, or an
artifact train's files). A train whose only changed lines are requirements naming another
train's packages (internal requirements) changed because of them, and is reported so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from release import repo as git
from release.config import Config, Train

SHOWN = 8  # commits and files listed per train in `status`


@dataclass(frozen=True)
class Change:
    """What changed in one train since its last release tag."""

    train: str
    tag: str | None  # None: never released (everything is new)
    commits: tuple[tuple[str, str], ...] = ()  # (sha, subject), newest first
    files: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()  # moved internal requirements, the only change

    @property
    def changed(self) -> bool:
        return self.tag is None or bool(self.files)

    @property
    def summary(self) -> str:
        if self.tag is None:
            return "no release tag yet"
        if not self.files:
            return f"unchanged since {self.tag}"
        if self.requirements:
            return (f"changed since {self.tag} only by a moved pin: "
                    f"{', '.join(self.requirements)}")
        return f"changed since {self.tag}: {len(self.commits)} commit(s), {len(self.files)} file(s)"

    def lines(self) -> list[str]:
        """For `status`: the summary, then the commits and files (a few of each)."""
        out = [f"  {self.summary}"]
        if not self.changed or self.tag is None:
            return out
        out += [f"    {git.short(sha)[:7]} {subject}" for sha, subject in self.commits[:SHOWN]]
        out += [f"    {path}" for path in self.files[:SHOWN]]
        more = max(0, len(self.commits) - SHOWN) + max(0, len(self.files) - SHOWN)
        if more:
            out.append(f"    … and {more} more (git log {self.tag}..HEAD)")
        return out


def _requirement_pattern(config: Config, train: Train) -> re.Pattern[str] | None:
    """A requirement naming a package of another train, with a version operator."""
    names = [p.name for t in config.trains.values() if t.name != train.name for p in t.packages]
    if not names:
        return None
    spelled = "|".join("[-_.]+".join(map(re.escape, canonicalize_name(n).split("-")))
                       for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w.-])(?:{spelled})\s*(?:\[[^\]]*\])?\s*(?:===|==|~=|>=|<=|!=)",
                      re.IGNORECASE)


def _moved_requirements(config: Config, train: Train, tag: str,
                        paths: Sequence[str]) -> list[str]:
    """The requirement lines added since tag, if every changed line is such an internal
    requirement; else []."""
    pattern = _requirement_pattern(config, train)
    if pattern is None:
        return []
    diff = git.git(config.root, "diff", "-U0", "--no-color", tag, "HEAD", "--", *paths,
                   what=f"git diff {tag}")
    changed = [ln for ln in diff.splitlines()
               if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    if not changed or not all(pattern.search(ln) for ln in changed):
        return []
    moved = set()
    for ln in changed:
        if ln.startswith("+"):
            quoted = [q for q in re.findall(r"[\"']([^\"']+)[\"']", ln) if pattern.search(q)]
            moved |= set(quoted) if quoted else {ln[1:].strip()}
    return sorted(moved)


def change_of(config: Config, train: Train) -> Change:
    """The train's committed changes since its nearest release tag."""
    last = git.last_tag(config.root, train.tag_format, train.name)
    if last is None:
        return Change(train.name, None)
    tag = last[1]
    paths = train_paths(train) or ["."]
    files = git.git(config.root, "diff", "--name-only", tag, "HEAD", "--", *paths,
                    what=f"git diff {tag}").splitlines()
    if not files:
        return Change(train.name, tag)
    log = git.git(config.root, "log", "--no-merges", "--format=%H%x00%s", f"{tag}..HEAD",
                  "--", *paths, what=f"git log {tag}..HEAD")
    commits = tuple((sha, subject) for sha, _, subject in
                    (ln.partition("\0") for ln in log.splitlines()))
    return Change(train.name, tag, commits, tuple(files),
                  tuple(_moved_requirements(config, train, tag, paths)))


def changes(config: Config) -> list[Change]:
    """Every train's change, or [] outside a git repository with commits."""
    if git.toplevel(config.root) is None or git.rev(config.root, "HEAD") is None:
        return []
    return [change_of(config, t) for t in config.trains.values()]


# --- `invoke bump` without --train ----------------------------------------------------------


def train_paths(train: Train) -> list[str]:
    """Where a train's changes happen, to keep other trains' commits out of its notes
    (empty: the whole repository)."""
    if train.kind == "python":
        paths = [str(p.path) for p in train.packages]
    else:
        files = [o.path for o in train.occurrences] + [p.path for p in train.pins]
        if train.version_source is not None:
            files.append(train.version_source.path)
        paths = sorted({str(f.parent) for f in files})
    return [] if "." in paths else paths
