"""Do all the files agree? The CI gate behind `invoke check`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from . import lockfile
from .config import Config, Train
from .errors import ReleaseError
from .locations import Scan, Spot, parse_loose, scan
from .versions import Written, parse


@dataclass(frozen=True)
class Problem:
    where: str  # "path:line"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def train_version(found: Scan, train: Train) -> Written:
    """The train's version: what most of its own spots say (the rest are reported by check)."""
    spots = found.for_train(train.name, ("version",))
    if not spots:
        raise ReleaseError(f"train {train.name!r} has no version anywhere")
    votes = Counter(parse_loose(s.written) for s in spots)
    votes.pop(None, None)
    if not votes:
        raise ReleaseError(f"{spots[0].where}: {spots[0].written!r} is not a valid version")
    best = max(votes.values())
    winner = next(v for s in spots if votes.get(v := parse_loose(s.written)) == best)
    return parse(next(s.written for s in spots if parse_loose(s.written) == winner))


def _requirement_problem(spot: Spot, version: Version) -> str | None:
    if not Requirement(spot.requirement).specifier.contains(version, prereleases=True):
        return f"{spot.what} does not admit {spot.train} {version}"
    return None


def problems(config: Config, found: Scan | None = None) -> list[Problem]:
    """Every disagreement between files, trains, internal pins, downstream pins and uv.lock."""
    found = found or scan(config)
    result: list[Problem] = []
    current: dict[str, Version] = {}
    for train in config.trains.values():
        written = train_version(found, train)
        current[train.name] = written.version
        for spot in found.for_train(train.name, ("version",)):
            value = parse_loose(spot.written)
            if value is None:
                result.append(Problem(spot.where, f"{spot.written!r} is not a valid version"))
            elif value != written.version:
                result.append(Problem(spot.where, f"{spot.what} is {spot.written}, but train "
                                      f"{train.name} is at {written}"))
    seen_requirements: set[tuple[str, str]] = set()
    for spot in found.spots:
        if spot.kind == "requirement" and (spot.where, spot.requirement) not in seen_requirements:
            seen_requirements.add((spot.where, spot.requirement))
            message = _requirement_problem(spot, current[spot.train])
            if message:
                result.append(Problem(spot.where, message))
        elif spot.kind == "pin":
            value = parse_loose(spot.written)
            if value is None:
                result.append(Problem(spot.where, f"{spot.written!r} is not a valid version"))
            elif value > current[spot.train]:
                result.append(Problem(spot.where, f"{spot.what} is {spot.written}, newer than "
                                      f"{spot.train} {current[spot.train]}"))
    if lockfile.has_lock(config.root):
        locked = lockfile.local_versions(config.root)
        for train in config.trains.values():
            for pkg in train.packages:
                have = locked.get(canonicalize_name(pkg.name))
                if have is not None and parse_loose(have) != current[train.name]:
                    result.append(Problem("uv.lock", f"{pkg.name} is locked at {have}, but "
                                      f"train {train.name} is at {current[train.name]} "
                                      "(run uv lock)"))
    return result
