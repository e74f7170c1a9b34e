"""Upload a build manifest to an index, resumably, never replacing a published file.

Before a byte is sent the index is asked about every file: one already there with our sha256
is skipped (a rerun finishes an upload that died part-way); one there with another sha256
stops everything, since published files are immutable and the fix is a new version.

The files still to send go through twine, over `upload-concurrency` connections: as many twine
processes, each with a share of whole projects (a project's sdist before its wheels, so an
index never serves a wheel whose sdist is missing). Against a distant index each upload waits
on the network, not on this machine: through a 150 ms round trip, 4 connections send the
example's 28 files about 2.2-2.5x faster than one twine (bench/upload.py); an index that
answers within 30 ms (a local devpi) gets one process, which is faster there. The first
share to fail stops the others; what reached the index is counted by asking it, and a rerun
sends only the rest. 1 connection is one twine process with every file, in one order.
"""

from __future__ import annotations

import os
import re
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
from release.proc import CommandError, TimedOut, run, run_together
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
    """sdists first: an index that sees the wheel alone could serve it before the sdist."""
    return (not path.name.endswith(".tar.gz"), path.name)


def shares(files: Sequence[Path], projects: dict[str, str], count: int) -> list[list[Path]]:
    """At most `count` shares of whole projects (`projects`: file name -> project), balanced
    by files (each a request's round trip) and bytes; each share in sending order."""
    groups: dict[str, list[Path]] = {}
    for path in files:
        groups.setdefault(projects.get(path.name, path.name), []).append(path)
    count = max(1, min(count, len(groups)))
    loads = [0] * count
    split: list[list[Path]] = [[] for _ in range(count)]

    def cost(group: list[Path]) -> int:
        return sum(REQUEST_COST + p.stat().st_size for p in group)

    for _, group in sorted(groups.items(), key=lambda kv: (-cost(kv[1]), kv[0])):
        lightest = loads.index(min(loads))
        split[lightest] += group
        loads[lightest] += cost(group)
    return [sorted(share, key=_sending_order) for share in split if share]


# An index answering a listing faster than this (seconds) is near: one twine process.
NEAR = 0.03
# What one more file costs beside its bytes, in bytes: a request's round trip to an index.
REQUEST_COST = 256 * 1024


def upload(manifests: Sequence[Manifest], target: Endpoint,
           say: Callable[[str], None] = print,
           concurrency: int = DEFAULT_UPLOAD_CONCURRENCY) -> UploadResult:
    """Send every file of the manifests that the index does not have yet, over at most
    `concurrency` connections (twine processes); the index is asked before a byte is sent."""
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINE_")}
    env.update({"NO_COLOR": "1", "COLUMNS": "1000"})  # twine's error on one plain line
    argv = [sys.executable, "-m", "twine", "upload", "--non-interactive",
            "--disable-progress-bar", "--repository-url", target.upload_url]
    if credentials is not None:
        env["TWINE_USERNAME"], env["TWINE_PASSWORD"] = credentials
    ordered = sorted(pending, key=_sending_order)
    projects = {a.filename: a.package for m in manifests for a in m.artifacts}
    # A near index (loopback, a local devpi) answers before a second twine would have started:
    # more processes only add their start-up. The connections pay off where requests wait.
    split = shares(ordered, projects, concurrency if round_trip >= NEAR else 1)
    over = f" over {len(split)} connections" if len(split) > 1 else ""
    say(f"upload {len(ordered)} file(s) to {target.name} ({redact(target.upload_url)}){over}")
    deadline = policy().upload
    try:
        if len(split) == 1:
            run([*argv, *map(str, ordered)], env=env, timeout=deadline, credentials=True)
        else:
            run_together([[*argv, *map(str, share)] for share in split], env=env,
                         timeout=deadline, credentials=True)
    except TimedOut:
        left = len(_preflight(manifests, target)[0]) if _reachable(target) else None
        done = "?" if left is None else str(len(ordered) - left)
        raise UploadError(f"index {target.name}: uploading {len(ordered)} file(s) to "
                          f"{target.where} gave up after {deadline:g} s (the deadline; raise "
                          f"it with RELEASE_UPLOAD_DEADLINE), {done} of them there; run the "
                          "same command again to send the rest") from None
    except CommandError as exc:
        left = len(_preflight(manifests, target)[0]) if _reachable(target) else None
        done = "?" if left is None else str(len(ordered) - left)
        why = _why(exc)
        if re.search(r"\b(401|403)\b", why):
            then = f"check the token in {target.token_env}, then run the same command again"
        elif re.search(r"redirect", why, re.IGNORECASE):  # a rerun would be redirected again
            raise UploadError(f"upload to {target.name} failed: {target.where} redirects "
                              f"({why}); set the index's upload URL to where it redirects "
                              "(often a missing or extra trailing slash, or http for "
                              "https)") from None
        else:
            then = "run the same command again to send the rest"
        raise UploadError(f"upload to {target.name} failed after {done} of {len(ordered)} "
                          f"file(s): {why}; {then}") from None
    return UploadResult(tuple(p.name for p in ordered), skipped)


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


def summary(result: UploadResult, target: Endpoint) -> str:
    return (f"{target.name}: {len(result.uploaded)} uploaded, {len(result.skipped)} already "
            "there")


__all__: Sequence[str] = ("UploadResult", "upload", "summary")
