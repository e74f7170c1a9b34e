"""Do all the files agree? The CI gate behind `invoke check`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from release import repo as git
from release.config import Config, Train
from release.errors import ReleaseError
from release.versions.pep440 import Written, parse
from release.versions.scan import Scan, Spot, parse_loose, scan


@dataclass(frozen=True)
class Problem:
    where: str  # "path:line"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def tag_version(config: Config, train: Train, ref: str = "HEAD") -> Written | None:
    """The version of the train's last release tag reachable from ref (None: no tag yet)."""
    if git.toplevel(config.root) is None:
        return None
    last = git.last_tag(config.root, train.tag_format, train.name, ref)
    return parse(str(last[0])) if last else None


def _pending_file(config: Config, train: Train) -> Path:
    """Where a prepared tag version waits: in git's common directory, so every worktree of
    the repository sees it and the working tree stays clean (outside git: .release/)."""
    common = None
    if git.toplevel(config.root) is not None:
        common = git.git(config.root, "rev-parse", "--path-format=absolute",
                         "--git-common-dir")
    base = Path(common) / "release-train" if common else config.root / ".release"
    return base / "pending" / train.name


def pending_version(config: Config, train: Train) -> Written | None:
    """The version a bump prepared for a tag-driven train, if no tag has it yet."""
    path = _pending_file(config, train)
    if not path.is_file():
        return None
    try:
        prepared = parse(path.read_text(encoding="utf-8").strip())
    except ReleaseError:
        return None
    tagged = tag_version(config, train)
    return prepared if tagged is None or prepared.version > tagged.version else None


def set_pending(config: Config, train: Train, version: str) -> Path:
    """Remember the version a tag-driven train's next tag will carry."""
    path = _pending_file(config, train)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.parent.parent.name == ".release" and not (path.parent.parent / ".gitignore").exists():
        (path.parent.parent / ".gitignore").write_text("*\n", encoding="utf-8")
    path.write_text(version + "\n", encoding="utf-8")
    return path


def train_version(found: Scan, train: Train) -> Written:
    """The train's version: what most of its own spots say (the rest are reported by check);
    for a train versioned by git tags with no file carrying it, the prepared or last tag."""
    every = found.for_train(train.name, ("version",))
    spots = [s for s in every if not s.template] or every
    if not spots and train.name in found.tag_driven:
        return pending_version(found.config, train) or tag_version(found.config, train) \
            or parse("0.0.0")
    if not spots:
        raise ReleaseError(f"train {train.name!r} has no version anywhere")
    votes = Counter(parse_loose(s.written) for s in spots)
    votes.pop(None, None)
    if not votes:
        raise ReleaseError(f"{spots[0].where}: {spots[0].written!r} is not a valid version")
    best = max(votes.values())
    winner = next(v for s in spots if votes.get(v := parse_loose(s.written)) == best)
    return parse(next(s.written for s in spots if parse_loose(s.written) == winner))


def agrees(spot: Spot, value: Version, version: Version) -> bool:
    """Does what a spot says stand for the train's version? A template (`{major}.{minor}`
    parts) carries only the release numbers."""
    if spot.template and "{version" not in spot.template:
        return value.release == tuple((list(version.release) + [0, 0])[:3])
    return value == version


def _requirement_problem(spot: Spot, version: Version) -> str | None:
    if not Requirement(spot.requirement).specifier.contains(version, prereleases=True):
        return f"{spot.what} does not admit {spot.train} {version}"
    return None


def problems(config: Config, found: Scan | None = None) -> list[Problem]:
    """Every disagreement between files, trains, internal requirements, downstream pins and
    uv.lock."""
    found = found or scan(config)
    result: list[Problem] = []
    current: dict[str, Version] = {}
    for train in config.trains.values():
        written = train_version(found, train)
        current[train.name] = written.version
        for spot in found.for_train(train.name, ("version", "lock")):
            value = parse_loose(spot.written)
            if value is None:
                result.append(Problem(spot.where, f"{spot.written!r} is not a valid version"))
            elif not agrees(spot, value, written.version):
                result.append(Problem(spot.where, f"{spot.what} is {spot.written}, but train "
                                      f"{train.name} is at {written}"))
    seen_requirements: set[tuple[str, str]] = set()
    for spot in found.spots:
        if spot.kind == "requirement" and (spot.where, spot.requirement) not in seen_requirements:
            seen_requirements.add((spot.where, spot.requirement))
            message = _requirement_problem(spot, current[spot.train])
            if message:
                result.append(Problem(spot.where, message))
        elif spot.kind == "pin" and spot.train in current:  # (a downstream checkout: upstream's)
            value = parse_loose(spot.written)
            if value is None:
                result.append(Problem(spot.where, f"{spot.written!r} is not a valid version"))
            elif value > current[spot.train]:
                result.append(Problem(spot.where, f"{spot.what} is {spot.written}, newer than "
                                      f"{spot.train} {current[spot.train]}"))
    return result
