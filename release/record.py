"""The release record: one JSON journal per train and version, the audit trail of a release.

`.release/<train>-<version>.json` holds every step's inputs, outputs, timings and errors, the
artifacts with their sha256, the indexes used and what was verified where. It is written
atomically after every change (a temporary file, fsync, rename), so a crash or a full disk
leaves the previous record intact; a rerun reads it and resumes at the first unfinished step.
Secrets are redacted before anything is written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release import confine
from release.errors import ReleaseError
from release.platforms import merge_verification
from release.redaction import redact

DIRECTORY = ".release"
FORMAT = 2  # 2: index stages are bound to the index URL they reached ("where")
READABLE = (1, 2)

# The release, in order. Each step runs only when the ones before it are done.
STEPS = ("preflight", "confirm", "bump", "commit", "gates", "tag", "push", "build", "ci",
         "testpypi-upload", "testpypi-verify", "testpypi-smoke", "pypi-upload", "pypi-verify",
         "pypi-smoke", "downstream", "notes")
STATUSES = ("pending", "running", "done", "failed")


def _scrub(value: Any) -> Any:
    """Redact every string in a JSON-able value."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def private_dir(root: Path) -> Path:
    """`.release/`, ignored by git through its own .gitignore: records, notes and builds
    written here never make the tree dirty nor end up in a commit."""
    path = confine.mkdir(root / DIRECTORY)
    ignore = confine.check(path / ".gitignore")
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    return path


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Record:
    """The journal of one train's release of one version."""

    root: Path
    train: str
    version: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.root / DIRECTORY / f"{self.train}-{self.version}.json"

    # -- reading ------------------------------------------------------------------------------

    def step(self, name: str) -> dict[str, Any]:
        steps: dict[str, dict[str, Any]] = self.data.setdefault("steps", {})
        return steps.setdefault(name, {"status": "pending"})

    def done(self, name: str, where: str | None = None) -> bool:
        """Finished (and, for a stage bound to an index, finished against `where`)."""
        step = self.data.get("steps", {}).get(name, {})
        return bool(step.get("status") == "done"
                    and (where is None or step.get("where") == where))

    def require(self, key: str, step: str | None = None) -> Any:
        """A value a finished step left (in the record, or in that step's outputs); a record
        without it is damaged: one line, never a KeyError."""
        holder = self.outputs(step) if step else self.data
        if key not in holder:
            where = f"step {step} outputs" if step else "the record"
            raise ReleaseError(f"{self.path}: damaged release record ({where} lack {key!r}); "
                               "nothing was done: restore the record, or move it aside and "
                               "check by hand what this release already did")
        return holder[key]

    def outputs(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.data.get("steps", {}).get(name, {}).get("outputs", {})
        return result

    def next_step(self, skip: Collection[str] = ()) -> str | None:
        """The first step not done after the last one done (sessions run only some steps:
        `nox -s testpypi` on its own has no preflight to come back to), leaving out the
        steps this release has no use for (`skip`)."""
        done = [i for i, s in enumerate(STEPS) if self.done(s)]
        start = done[-1] + 1 if done else 0
        return next((s for s in STEPS[start:] if not self.done(s) and s not in skip), None)

    # -- writing ------------------------------------------------------------------------------

    def set(self, key: str, value: Any) -> None:
        self.data[key] = _scrub(value)
        self.save()

    def check_inputs(self, name: str, inputs: Mapping[str, Any]) -> None:
        """A finished step is never redone, nor reused, with other inputs."""
        step = self.step(name)
        if step.get("status") == "done" and step.get("inputs") != _scrub(dict(inputs)):
            raise ReleaseError(f"step {name} of {self.train} {self.version} already finished with "
                               "other inputs; a finished step is never redone differently "
                               f"(see {self.path})")

    def begin(self, name: str, inputs: Mapping[str, Any], where: str | None = None) -> None:
        """Start (or restart) a step. Inputs of a step that already finished must not change,
        except its index: a stage done against one URL is done again against another (the
        earlier run is kept under `earlier`)."""
        step = self.step(name)
        if where is not None and step.get("status") == "done" and step.get("where") != where:
            earlier = [*step.get("earlier", []),
                       {k: v for k, v in step.items() if k != "earlier"}]
            step.clear()
            step["earlier"] = earlier
        else:
            self.check_inputs(name, inputs)
        step.update({"status": "running", "inputs": _scrub(dict(inputs)), "started": now(),
                     "attempts": int(step.get("attempts", 0)) + 1})
        if where is not None:
            step["where"] = where
        step.pop("error", None)
        self.save()

    def finish(self, name: str, outputs: Mapping[str, Any], seconds: float) -> None:
        step = self.step(name)
        step.update({"status": "done", "outputs": _scrub(dict(outputs)), "finished": now(),
                     "seconds": round(seconds, 3)})
        self.save()

    def fail(self, name: str, error: str, seconds: float) -> None:
        step = self.step(name)
        step.update({"status": "failed", "error": redact(error), "finished": now(),
                     "seconds": round(seconds, 3)})
        self.save()

    @contextmanager
    def running(self, name: str, inputs: Mapping[str, Any],
                where: str | None = None) -> Iterator[dict[str, Any]]:
        """Journal one step of this record (see `journaled`): yields the dict the step
        fills with its outputs."""
        with journaled([self], name, {self.train: inputs}, where) as outputs:
            yield outputs[self.train]

    def save(self) -> None:
        """Write atomically: the old record stays whole if anything fails on the way."""
        self.data.update({"format": FORMAT, "train": self.train, "version": self.version,
                          "updated": now()})
        self.data.setdefault("created", self.data["updated"])
        text = json.dumps(self.data, indent=2, sort_keys=False) + "\n"
        try:
            private_dir(self.root)
            confine.write_atomic(self.path, text, mode=0o600)
        except OSError as exc:  # a full disk, a read-only directory: say so, no trace
            raise ReleaseError(
                f"cannot write the release record {self.path}: {exc.strerror or exc}; the "
                "record is as it was before this write: free some space (or fix the "
                "permissions), then run the same command again") from None


@contextmanager
def journaled(records: Sequence[Record], name: str, inputs: Mapping[str, Mapping[str, Any]],
              where: str | None = None) -> Iterator[dict[str, dict[str, Any]]]:
    """The one journaled step, of one record or of several at once (a stage of every train
    of a release): marks it running in each record with its inputs (by train; `where`: the
    index URL a stage is bound to), yields each train's outputs dict for the step to fill,
    then marks it done with those outputs and its seconds, or failed with its error (the
    error goes on)."""
    started = time.monotonic()
    for record in records:
        record.begin(name, inputs[record.train], where)
    outputs: dict[str, dict[str, Any]] = {record.train: {} for record in records}
    try:
        yield outputs
    except BaseException as exc:
        for record in records:
            record.fail(name, str(exc) or type(exc).__name__, time.monotonic() - started)
        raise
    for record in records:
        record.finish(name, outputs[record.train], time.monotonic() - started)


def _read(path: Path) -> dict[str, Any]:
    """A record file's data; one ReleaseError line naming the file when it cannot be used."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"{path}: unreadable release record ({exc}); nothing was done: "
                           "restore it (or move it aside and check by hand what this release "
                           "already did: its tag, the indexes) before running again") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps", {}), dict):
        raise ReleaseError(f"{path}: not a release record (no JSON object with steps); move "
                           "it aside") from None
    if data.get("format") not in READABLE:
        raise ReleaseError(f"{path}: unknown release record format {data.get('format')!r} "
                           f"(this release-train reads {', '.join(map(str, READABLE))}): "
                           "upgrade release-train, or move the file aside")
    if not data.get("train") or not data.get("version"):
        raise ReleaseError(f"{path}: release record without train or version; move it aside")
    for name, step in data.get("steps", {}).items():
        if not isinstance(step, dict) or step.get("status") not in STATUSES or not isinstance(
                    step.get("outputs", {}), dict):
            raise ReleaseError(f"{path}: damaged release record (step {name!r} is not a step "
                               "as release-train writes it); nothing was done: restore the "
                               "record (or move it aside and check by hand what this release "
                               "already did: its tag, the indexes)")
    if not isinstance(data.get("artifacts", []), list):
        raise ReleaseError(f"{path}: damaged release record (artifacts); nothing was done")
    return data


def load(root: Path, train: str, version: str) -> Record:
    """The record of that release (a new, empty one if none exists yet)."""
    record = Record(root, train, version)
    if record.path.exists():
        record.data = _read(record.path)
    return record


def all_records(root: Path) -> list[Record]:
    """Every release record in the repository, oldest first (a file that is not a usable
    record is a ReleaseError naming it, never skipped)."""
    found = []
    for path in sorted((root / DIRECTORY).glob("*.json")):
        data = _read(path)
        found.append(Record(root, str(data["train"]), str(data["version"]), data))
    return sorted(found, key=lambda r: str(r.data.get("created", "")))


def _merge_steps(mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """A step finished in either record is finished; two finished ones keep the later."""
    merged = dict(mine)
    for name, step in theirs.items():
        have = merged.get(name)
        if have is None or (step.get("status") == "done" and (
                have.get("status") != "done"
                or str(step.get("finished", "")) > str(have.get("finished", "")))):
            merged[name] = step
    return merged


def merge_data(mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """One train's record from two jobs' copies of it (CI: one job per runner and Python).
    Both must hold the same files; verifications of an index merge check by check."""
    if mine.get("artifacts") and theirs.get("artifacts") \
            and mine["artifacts"] != theirs["artifacts"]:
        raise ReleaseError(f"release records of {mine.get('train')} {mine.get('version')} "
                           "hold different files: they are not copies of one release")
    merged = {**theirs, **mine}
    merged["steps"] = _merge_steps(mine.get("steps", {}), theirs.get("steps", {}))
    verifications = dict(mine.get("verifications", {}))
    for index, seen in theirs.get("verifications", {}).items():
        verifications[index] = merge_verification(verifications.get(index), seen) \
            if index in verifications else seen
    merged["verifications"] = verifications
    for name, step in merged["steps"].items():  # a verify step says what the merge says
        index = name.removesuffix("-verify")
        if name.endswith("-verify") and step.get("status") == "done" \
                and index in verifications:
            step["outputs"] = {**step.get("outputs", {}), "ok": verifications[index]["ok"]}
    return merged


def merge_records(root: Path, sources: Sequence[Path]) -> list[str]:
    """Merge every release record found under the source directories into root's; returns
    what was merged, one line per file."""
    lines = []
    for source in sources:
        if not source.is_dir():
            raise ReleaseError(f"{source}: no such directory of release records")
        for path in sorted(source.rglob("*.json")):
            data = _read(path)
            record = load(root, str(data["train"]), str(data["version"]))
            record.data = merge_data(record.data, data) if record.data else data
            record.save()
            lines.append(f"merged {path} into {record.path}")
    return lines
