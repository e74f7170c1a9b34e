"""`init`'s proposal: the trains it found, with the excludes that make `check` pass from the
start and the occurrences the audit finds carrying a train's version, each decision with one
line saying why."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from release import repo as git
from release.config import DEFAULT_TAG_FORMAT, Config, Occurrence, Package, Train
from release.errors import ReleaseError
from release.onboarding.packages import Found, find_packages
from release.onboarding.trains import (
    bare_owner,
    package_patterns,
    shared_prefix,
    tag_format_for,
    tag_styles,
    train_name,
    version_key,
)
from release.versions.agreement import train_version
from release.versions.audit import audit, read_texts
from release.versions.scan import scan
from release.versions.suggest import GLOB_MIN, search_starts, suggest


class InitError(ReleaseError):
    """`init` cannot write a configuration (one exists, or nothing to release was found)."""


@dataclass
class Proposal:
    """What init decided, and why (one line per decision)."""

    root: Path
    file: Path  # where the configuration goes
    tag_format: str | None  # top level (one train)
    trains: dict[str, Train] = field(default_factory=dict)
    patterns: dict[str, list[str]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def in_pyproject(self) -> bool:
        return self.file.name == "pyproject.toml"

    def config(self) -> Config:
        """The proposal as a Config object (not read from disk), for scan, check and audit."""
        return Config(root=self.root, source=self.file, trains=dict(self.trains),
                      tag_format=self.tag_format or DEFAULT_TAG_FORMAT)


def propose(root: Path, file_name: str = "pyproject.toml") -> Proposal:
    """Inspect the repository: packages, trains, tag formats, occurrences, excludes."""
    root = root.resolve()
    if not root.is_dir():
        raise InitError(f"{root}: no such directory")
    skipped: list[str] = []
    packages = find_packages(root, skipped)
    if not packages:
        details = f" ({'; '.join(skipped[:3])})" if skipped else ""
        raise InitError(f"{root}: no package with a version found{details}")
    by_version: dict[str, list[Found]] = defaultdict(list)
    for found in packages:
        by_version[version_key(found)].append(found)
    taken: set[str] = set()
    groups = {train_name(group, taken): group for group in by_version.values()}
    styles = tag_styles(root)
    owner = bare_owner(groups, root) if len(groups) > 1 else next(iter(groups))
    proposal = Proposal(root, root / file_name, None, skipped=skipped)
    claimed: set[str] = set()
    for name, group in groups.items():
        fmt, why_tag = tag_format_for(name, group, styles, name == owner, claimed)
        patterns = package_patterns(root, [f.path for f in group])
        proposal.patterns[name] = patterns
        pkgs = tuple(Package(f.name, f.path) for f in group)
        proposal.trains[name] = Train(name, "python", pkgs, fmt)
        version = group[0].version or "the git tag"
        why = (f"{len(group)} packages at {version}" if len(group) > 1
               else f"{group[0].name} at {version}")
        sources_used = ", ".join(sorted({f.source for f in group}))
        required = sorted({r for f in group for r in f.requires
                           if r not in {canonicalize_name(g.name) for g in group}})
        requires = f"; requires {', '.join(required)} of other trains" if required else ""
        proposal.reasons.append(f"train {name}: {why} ({sources_used}): "
                                f"{', '.join(patterns)}; tag {fmt} ({why_tag}){requires}")
    if len(groups) == 1:
        only = next(iter(proposal.trains.values()))
        proposal.tag_format = only.tag_format
    _add_excludes(proposal)
    _add_occurrences(proposal)
    return proposal


def _replace(proposal: Proposal, name: str, **changes: Any) -> None:
    t = proposal.trains[name]
    values = {"name": t.name, "kind": t.kind, "packages": t.packages, "tag_format": t.tag_format,
              "occurrences": t.occurrences, "pins": t.pins, "exclude": t.exclude, **changes}
    proposal.trains[name] = Train(**values)


def _add_excludes(proposal: Proposal) -> None:
    """A discovered spot that disagrees with its train (a stale fallback `__version__`) is
    left alone by an `exclude` entry, so check passes from the start."""
    config = proposal.config()
    found = scan(config)
    by_file: dict[str, set[str]] = defaultdict(set)
    for spot in found.spots:
        if spot.kind != "version" or not spot.discovered:
            continue
        written = train_version(found, config.trains[spot.train])
        try:
            same = Version(spot.written) == written.version
        except InvalidVersion:
            same = False
        if not same:
            by_file[spot.train].add(spot.path.as_posix())
            proposal.reasons.append(f"exclude {spot.path.as_posix()} from {spot.train}: "
                                    f"its {spot.what} is {spot.written!r}, not {written}")
    for name, paths in by_file.items():
        _replace(proposal, name, exclude=tuple(sorted(paths)))


_ASSIGNMENT = re.compile(r"version[\W_]{0,6}\{version\}", re.IGNORECASE)


def _names_train(search: str, train: Train) -> bool:
    """Does a suggested search name the train or one of its packages (`skyline-ext-ai==`,
    `ghcr.io/example/skyline:`), or assign a version (`__version__ = "`)? Others (a requirement on a
    third-party package that happens to share the version) are left to the user."""
    names = {canonicalize_name(train.name)} | {canonicalize_name(p.name) for p in train.packages}
    written = canonicalize_name(search)  # the search's words spelled as names are
    return bool(_ASSIGNMENT.search(search)) or any(len(n) >= 3 and n in written for n in names)


def _merge_same_file(entries: list[Occurrence], texts: Mapping[Path, str],
                     allowed: Mapping[Path, set[int]]) -> list[Occurrence]:
    """Three or more searches in one file (`pkg-a=={version}`, `pkg-b=={version}`, ...)
    become one, their common context (`=={version}`), when that finds versions only where
    the current one stands and every place the separate ones did."""
    by_path: dict[Path, list[Occurrence]] = defaultdict(list)
    for occ in entries:
        by_path[occ.path].append(occ)
    result: list[Occurrence] = []
    for path, occs in by_path.items():
        text = texts.get(path)
        if len(occs) < GLOB_MIN or text is None or any(o.is_glob for o in occs):
            result += occs
            continue
        befores = [o.search.split("{version}", 1)[0] for o in occs]
        afters = [o.search.split("{version}", 1)[1] for o in occs]
        before = shared_prefix([b[::-1] for b in befores])[::-1]
        after = shared_prefix(afters)
        wanted: set[int] = set()
        for b, a in zip(befores, afters, strict=True):
            wanted |= search_starts(b, a, text)
        starts = search_starts(before, after, text) if before.strip() else set()
        if starts and wanted <= starts <= allowed.get(path, set()):
            result.append(Occurrence(path, before + "{version}" + after))
        else:
            result += occs
    return result


def _add_occurrences(proposal: Proposal) -> None:
    """The audit's suggestions become occurrences: lines that carry a train's version, which
    a bump would otherwise leave behind (only those that name the train's packages)."""
    config = proposal.config()
    if git.toplevel(config.root) is None:
        return
    found = scan(config)
    texts = read_texts(config.root, git.tracked_files(config.root) or [])
    findings = audit(config, found, texts)
    if not findings:
        return
    added: dict[str, list[Occurrence]] = defaultdict(list)
    left: list[str] = []
    for entry in suggest(findings, texts):
        train = proposal.trains[entry.train]
        if entry.note or not _names_train(entry.search, train):
            left.append(f"{entry.path} ({entry.search!r})")
            continue
        added[entry.train].append(Occurrence(Path(entry.path), entry.search))
    for name, occs in added.items():
        allowed: dict[Path, set[int]] = defaultdict(set)
        for f in findings:
            if f.train == name:
                allowed[f.path] |= {f.offset + start for start, _ in f.spans}
        occs = _merge_same_file(occs, texts, allowed)
        _replace(proposal, name, occurrences=proposal.trains[name].occurrences + tuple(occs))
        shown = ", ".join(dict.fromkeys(o.path.as_posix() for o in occs))
        proposal.reasons.append(f"train {name}: {len(occs)} occurrence(s) the audit found "
                                f"carrying its version ({shown}): review them")
    if left:
        proposal.reasons.append(f"left out {len(left)} line(s) carrying a version that name "
                                f"no package of the train ({'; '.join(left[:4])}"
                                f"{'; ...' if len(left) > 4 else ''}): `check --audit` lists "
                                "them; add what a bump should move")
