"""Plan a version change of one train across every file, then apply it all-or-nothing
(`applying`: a transaction the caller extends with the release commit or the next plan)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

from release import repo as git
from release.config import Config, Train
from release.errors import ReleaseError
from release.versions.agreement import problems, set_pending, train_version
from release.versions.edits import FileEdit, LineChange, Transaction, line_changes, transaction
from release.versions.pep440 import Written, bump
from release.versions.scan import Scan, Spot, new_requirement, rewrite, scan


@dataclass(frozen=True)
class Plan:
    """Everything a bump will change, computed before anything is written."""

    train: Train
    old: Written
    new: Written
    edits: tuple[FileEdit, ...]
    tag_driven: bool = False  # the version is the tag: `invoke tag` makes the release

    @property
    def tag(self) -> str:
        return self.train.tag(self.new.text)

    @property
    def changes(self) -> list[LineChange]:
        return [c for e in self.edits for c in line_changes(e)]

    @property
    def paths(self) -> list[Path]:
        return [e.path for e in self.edits]


def _moves(spot: Spot, old: Written, new: Written) -> bool:
    """Does this spot follow the train? Own versions and lock entries do; requirements where
    a clause names `old` (==, ===, ~=, >=, <=); downstream pins only after a verified release."""
    if spot.kind in ("version", "lock"):
        return True
    if spot.kind == "requirement":
        return new_requirement(spot, old, new) != spot.requirement
    return False


def plan_change(config: Config, train: Train, new_text: str | None = None, *,
                part: str | None = None, found: Scan | None = None) -> Plan:
    """Plan moving `train` to `--to new_text` or by `--part part`."""
    found = found or scan(config)
    mine = {s.where for s in found.for_train(train.name)}
    own = [p for p in problems(config, found) if p.where in mine]
    if own:
        raise ReleaseError(f"train {train.name} does not agree with itself ({own[0]}); "
                           "fix it, or leave that file alone with exclude = "
                           f"[\"{own[0].where.rsplit(':', 1)[0]}\"] in the train's config")
    old = train_version(found, train)
    new = bump(old, part=part, to=new_text)
    by_file: dict[Path, list[Spot]] = defaultdict(list)
    for spot in found.for_train(train.name):
        if _moves(spot, old, new):
            by_file[spot.path].append(spot)
    edits = []
    for path, spots in by_file.items():
        text = found.texts[path]
        new_text_of_file = rewrite(text, spots, old, new)
        if new_text_of_file != text:
            edits.append(FileEdit(path, text, new_text_of_file))
    for spot in found.for_train(train.name, ("requirement",)):
        moved = new_requirement(spot, old, new)
        if not Requirement(moved).specifier.contains(new.version, prereleases=True):
            raise ReleaseError(f"{spot.where}: {spot.what} would not admit {new}; widen it first")
    return Plan(train, old, new, tuple(edits), train.name in found.tag_driven)


@contextmanager
def applying(config: Config, plan: Plan) -> Iterator[Transaction]:
    """The plan written, in a transaction the body extends (the release commit, the next
    train's plan): if the body raises, every file is as before. A train versioned by its tag
    has its next version noted only once the transaction holds."""
    with transaction(config.root, plan.edits) as done:
        yield done
    if plan.tag_driven:
        set_pending(config, plan.train, plan.new.text)


def apply_plan(config: Config, plan: Plan) -> None:
    """Write the plan, all or nothing."""
    with applying(config, plan):
        pass


def commit_message(config: Config, plan: Plan) -> str:
    v = plan.new.version
    minor = v.release[1] if len(v.release) > 1 else 0
    return config.commit_message.format(train=plan.train.name, version=plan.new.text,
                                        major=v.major, minor=minor)


def apply_and_commit(config: Config, plan: Plan) -> str:
    """Write the plan and commit exactly the files it touched (never `git add -A`: other
    local edits stay out and untouched). A failed commit rolls the edits back."""
    with applying(config, plan):
        return git.commit_paths(config.root, plan.paths, commit_message(config, plan))


def describe(plan: Plan, dry_run: bool) -> str:
    """The plan as people read it: every file and line that changes, the tag to come."""
    lines = [f"{plan.train.name}: {plan.old} -> {plan.new}  (tag {plan.tag})"]
    for change in plan.changes:
        lines.append(f"  {change.path}:{change.line}")
        lines.append(f"    - {change.old.strip()}")
        lines.append(f"    + {change.new.strip()}")
    if plan.tag_driven:
        lines.append(f"  the version is the git tag: `invoke tag` makes {plan.tag}")
    count = len(plan.edits)
    verb = "would change (dry run: nothing written)" if dry_run else "changed"
    lines.append(f"{count} file(s) {verb}")
    return "\n".join(lines)


def dependency_order(config: Config, trains: Sequence[Train]) -> list[Train]:
    """Trains whose packages others require exactly come first: their bump moves those
    requirements, so the requiring train's release commit (and build) already names the new
    versions."""
    found = scan(config, trains)
    owner_of_file = {p.path / "pyproject.toml": t.name for t in trains for p in t.packages}
    needs: dict[str, set[str]] = {t.name: set() for t in trains}
    for spot in found.spots:
        requiring = owner_of_file.get(spot.path)
        if spot.kind == "requirement" and "==" in spot.requirement and requiring \
                and requiring != spot.train and spot.train in needs:
            needs[requiring].add(spot.train)
    ordered: list[Train] = []
    pending = list(trains)
    while pending:
        ready = [t for t in pending if needs[t.name] <= {o.name for o in ordered}] or pending[:1]
        ordered.append(ready[0])
        pending.remove(ready[0])
    return ordered
