"""Upload a build manifest to an index, resumably, never replacing a published file.

Before a byte is sent the index is asked about every file: one already there with our sha256
is skipped (a rerun finishes an upload that died part-way); one there with another sha256
stops everything, since published files are immutable and the fix is a new version.

The files still to send go through twine, over `upload-concurrency` connections (default
8): as many twine processes at once, each with a share of whole projects balanced by files and
bytes, a project's files one after another in twine's order (wheels, then the sdist), so no
two of them race to create the project or release on the index. A project with more files
than its connection's fair part is split: its first file goes first, the rest over other
connections once it is there (see `shares`). The sdist is not sent first: twine never did
(it sends a command line's wheels first), and an index creates a project and a release on
their first file of any kind. On Linux twine is imported once, while the index is being
asked, and each share is a forked twine (_sender.py): eight `python -m twine` starting on two
busy cores took longer than the sending. Through a 150 ms round trip the example's 28 files
go over 3x faster than through one twine (bench/upload.py); an index that answers within 30
ms (a local devpi) gets one process, which is faster there. The first share to fail stops the
others and no other starts; what reached the index is counted by asking it, and a rerun
sends only the rest. 1 connection is one twine process with every file, in one order.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from release.build.frontend import Manifest, mismatch
from release.config import DEFAULT_UPLOAD_CONCURRENCY
from release.errors import UploadError
from release.proc import (
    CommandError,
    Started,
    TimedOut,
    log,
    run,
    run_together,
    scrubbed_env,
    start,
)
from release.publish.endpoints import Endpoint
from release.publish.index import IndexFile
from release.publish.timeouts import policy
from release.redaction import redact


@dataclass(frozen=True)
class UploadResult:
    uploaded: tuple[str, ...]
    skipped: tuple[str, ...]  # already on the index with our sha256


def _preflight(manifests: Sequence[Manifest], target: Endpoint) -> tuple[list[Path], float]:
    """Files still to send, and the index's round trip (its quickest answer, in seconds);
    refuse if any name is taken by other content."""
    pending = []
    with target.client() as client:
        for manifest in manifests:
            version = Version(manifest.version)
            if target.production and (version.is_prerelease or version.is_devrelease) \
                    and not target.allow_prereleases:
                raise UploadError(f"{manifest.train} {manifest.version} is a pre-release: "
                                  f"{target.name} takes finals and .postN only (TestPyPI is "
                                  "where rcs go; or set allow-prereleases)")
        # One request per project page, LISTINGS of them at once: each is a round trip.
        projects = list(dict.fromkeys(a.package for m in manifests for a in m.artifacts))
        answered: list[float] = []

        def page(project: str) -> list[IndexFile]:
            started = time.monotonic()
            files = client.files(project)
            answered.append(time.monotonic() - started)
            return files

        with ThreadPoolExecutor(max_workers=LISTINGS) as pool:
            pages = list(pool.map(page, projects))
        listing: dict[str, dict[str, IndexFile]] = {
            project: {f.filename: f for f in found}
            for project, found in zip(projects, pages, strict=True)}
        for manifest in manifests:
            for artifact in manifest.artifacts:
                there = listing[artifact.package].get(artifact.filename)
                if there is None:
                    pending.append(manifest.directory / artifact.filename)
                    continue
                # A listing without a hash proves nothing: the file's own bytes decide.
                theirs = there.sha256 or client.download_sha256(there)
                if theirs != artifact.sha256:
                    raise UploadError(
                        f"{artifact.filename} is already on {target.name} with different "
                        f"content ({mismatch('index', theirs, artifact.sha256)}); published "
                        "files never change: release a new version (e.g. the next rcN or "
                        ".postN). Nothing was uploaded.")
    return pending, min(answered, default=0.0)


# Project pages read at once (an IndexClient keeps 16 connections).
LISTINGS = 16


def _sending_order(path: Path) -> tuple[bool, str]:
    """The order twine sends a command line's files in: wheels first, then the rest (its
    `_group_wheel_files_first`: while an upload runs, an installer finds a wheel rather than
    building the sdist), here each by name. The plan names files in the order they go."""
    return (not path.name.endswith(".whl"), path.name)


@dataclass(frozen=True)
class Share:
    """Files one twine process sends, in this order; `after`: the share that must have
    succeeded before this one starts (it carries the first file of this share's project)."""

    files: tuple[Path, ...]
    after: int | None = None


def shares(files: Sequence[Path], projects: dict[str, str], count: int) -> list[Share]:
    """What to send over at most `count` connections (`projects`: file name -> project).

    One connection: one share, every file in sending order (wheels, then sdists). More: whole
    projects, balanced over the connections by files (each a request's round trip) and bytes,
    each project's files one after another in sending order on its connection. So a
    project's first file is on the index before its next one is sent, and no two of its
    files race to create the project or the release there (an index does that on the first
    file of any kind). A project with more files than a connection's fair part (all files /
    connections) is split: its first file goes out like a small project, the rest in shares
    that start once that one is done, beside the others."""
    ordered = sorted(files, key=_sending_order)
    if not ordered:
        return []
    if count <= 1:
        return [Share(tuple(ordered))]
    groups: dict[str, list[Path]] = {}
    for path in ordered:
        groups.setdefault(projects.get(path.name, path.name), []).append(path)
    fair = -(-len(ordered) // count)
    whole: dict[str, list[Path]] = {}  # sent in the first shares, together
    rest: dict[str, list[Path]] = {}  # a big project's files after its first
    for project, group in groups.items():
        # Split only where it shortens the project's run: its first file, then the rest at once.
        split_up = len(group) > fair and 1 + -(-(len(group) - 1) // count) < len(group)
        whole[project] = group[:1] if split_up else group
        if split_up:
            rest[project] = group[1:]
    costs = {path: REQUEST_COST + path.stat().st_size for path in ordered}
    bins = min(count, len(whole))
    loads = [0] * bins
    split: list[list[Path]] = [[] for _ in range(bins)]
    where: dict[str, int] = {}
    for project, group in sorted(whole.items(),
                                 key=lambda kv: (-sum(costs[p] for p in kv[1]), kv[0])):
        lightest = loads.index(min(loads))
        split[lightest] += group
        loads[lightest] += sum(costs[p] for p in group)
        where[project] = lightest
    plan = [Share(tuple(sorted(share, key=_sending_order))) for share in split]
    for project, files_left in rest.items():
        plan += [Share(tuple(chunk), after=where[project])
                 for chunk in _balanced(files_left, count, costs)]
    return plan


def _balanced(files: Sequence[Path], count: int, costs: dict[Path, int]) -> list[list[Path]]:
    """At most `count` chunks balanced by cost (the costliest file first onto the lightest
    chunk), each in sending order."""
    count = min(count, len(files))
    loads = [0] * count
    split: list[list[Path]] = [[] for _ in range(count)]
    for path in sorted(files, key=lambda p: (-costs[p], p.name)):
        lightest = loads.index(min(loads))
        split[lightest].append(path)
        loads[lightest] += costs[path]
    return [sorted(chunk, key=_sending_order) for chunk in split]


# An index answering a listing faster than this (seconds) is near: one twine process.
NEAR = 0.03
# What one more file costs beside its bytes, in bytes: a request's round trip to an index.
REQUEST_COST = 256 * 1024
# Where fork is safe, twine is imported once and each share is a forked twine (_sender.py).
# Linux only: on macOS a forked child that touches CoreFoundation (requests reads the system
# proxy settings through it) may crash; elsewhere each share is `python -m twine` of its own.
FORKS = sys.platform == "linux"
SENDER = Path(__file__).with_name("_sender.py")


def upload(manifests: Sequence[Manifest], target: Endpoint,
           say: Callable[[str], None] = print,
           concurrency: int = DEFAULT_UPLOAD_CONCURRENCY) -> UploadResult:
    """Send every file of the manifests that the index does not have yet, over at most
    `concurrency` connections (twine processes); the index is asked before a byte is sent."""
    # Scrubbed like every child's environment; the one credential twine gets is the target's,
    # added by _send (or sent to the sender on stdin), never a TWINE_* left in ours.
    env = scrubbed_env(prefixes=("TWINE_",), NO_COLOR="1", COLUMNS="1000",  # one plain line
                       PYTHONIOENCODING="utf-8")
    argv = ["twine", "upload", "--non-interactive", "--disable-progress-bar",
            "--repository-url", target.upload_url]
    # twine is imported while the files are checked and the index answers; told nothing
    # (a refusal below), the sender sends nothing.
    sender = start([sys.executable, "-P", str(SENDER), *argv], env=env,
                   credentials=True) if FORKS else None
    try:
        for manifest in manifests:
            manifest.verify()
        pending, round_trip = _preflight(manifests, target)
        names = [a.filename for m in manifests for a in m.artifacts]
        sending = {p.name for p in pending}
        skipped = tuple(n for n in names if n not in sending)
        for name in skipped:
            say(f"skip {name}: already on {target.name} with the same sha256")
        if not pending:
            return UploadResult((), skipped)
        credentials = target.credentials()
        projects = {a.filename: a.package for m in manifests for a in m.artifacts}
        # A near index (loopback, a local devpi) answers before a second twine would have
        # started: more processes only add their start-up. Connections pay where requests wait.
        connections = concurrency if round_trip >= NEAR else 1
        plan = shares(pending, projects, connections)
        ordered = [path for share in plan for path in share.files]
        width = min(connections, len(plan))
        over = f" over {width} connections" if width > 1 else ""
        say(f"upload {len(ordered)} file(s) to {target.name} ({redact(target.upload_url)})"
            f"{over}")
        deadline = policy().upload
        try:
            _send(plan, width, argv, env, credentials, deadline, sender)
        except (TimedOut, CommandError) as exc:
            raise _failure(exc, manifests, target, len(ordered), deadline) from None
        return UploadResult(tuple(p.name for p in ordered), skipped)
    finally:
        if sender is not None:
            sender.stop()


def _failure(exc: TimedOut | CommandError, manifests: Sequence[Manifest], target: Endpoint,
             count: int, deadline: float) -> UploadError:
    """One line for a failed send: how many of the files are there now, and what to do."""
    left = len(_preflight(manifests, target)[0]) if _reachable(target) else None
    done = "?" if left is None else str(count - left)
    if isinstance(exc, TimedOut):
        return UploadError(f"index {target.name}: uploading {count} file(s) to "
                           f"{target.where} gave up after {deadline:g} s (the deadline; "
                           "raise it with RELEASE_UPLOAD_DEADLINE), "
                           f"{done} of them there; run the same command again to send "
                           "the rest")
    why = _why(exc)
    if re.search(r"\b(401|403)\b", why):
        then = f"check the token in {target.token_env}, then run the same command again"
    elif re.search(r"redirect", why, re.IGNORECASE):  # a rerun is redirected again
        return UploadError(f"upload to {target.name} failed: {target.where} redirects "
                           f"({why}); set the index's upload URL to where it redirects "
                           "(often a missing or extra trailing slash, or http for "
                           "https)")
    else:
        then = "run the same command again to send the rest"
    return UploadError(f"upload to {target.name} failed after {done} of {count} "
                       f"file(s): {why}; {then}")


def _send(plan: list[Share], connections: int, argv: list[str], env: dict[str, str],
          credentials: tuple[str, str] | None, deadline: float, sender: Started | None
          ) -> None:
    """Run the plan's shares, at most `connections` at once, each once its `after` is done:
    through the started sender, else as `python -m twine` processes (the shares without an
    `after` at once, then the others); the first failure stops them all."""
    for number, share in enumerate(plan):
        after = "" if share.after is None else f" (after share {share.after})"
        log.debug("share %d%s: %s", number, after,
                  redact(shlex.join([*argv, *map(str, share.files)])))
    if sender is not None:
        username, password = credentials if credentials is not None else (None, None)
        sender.finish(json.dumps({
            "shares": [{"files": [str(p) for p in share.files], "after": share.after}
                       for share in plan],
            "connections": connections, "username": username, "password": password}),
            timeout=deadline)
        return
    if credentials is not None:
        env = {**env, "TWINE_USERNAME": credentials[0], "TWINE_PASSWORD": credentials[1]}
    command = [sys.executable, "-m", *argv]
    started = time.monotonic()
    waves = [[s for s in plan if s.after is None], [s for s in plan if s.after is not None]]
    for wave in waves:
        for at in range(0, len(wave), connections):
            together = wave[at:at + connections]
            left = max(1.0, deadline - (time.monotonic() - started))
            if len(together) == 1:
                run([*command, *map(str, together[0].files)], env=env, timeout=left,
                    credentials=True)
            elif together:
                run_together([[*command, *map(str, s.files)] for s in together], env=env,
                             timeout=left, credentials=True)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _why(exc: CommandError) -> str:
    """The line of twine's output that says what went wrong (its HTTP error, else the last)."""
    lines = [s for s in (_ANSI.sub("", ln).strip() for ln in exc.output.splitlines()) if s]
    if not lines:
        return str(exc)
    said = next((ln for ln in lines if "HTTPError:" in ln), lines[-1])
    return said.removeprefix("ERROR").strip().removeprefix("requests.exceptions.")


def _reachable(target: Endpoint) -> bool:
    try:
        with target.client() as client:
            client.files("pip")
        return True
    except Exception:  # noqa: BLE001 - only deciding what to tell the user
        return False


__all__: Sequence[str] = ("UploadResult", "upload")
