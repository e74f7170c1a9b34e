"""Upload a build manifest to an index, resumably, never replacing a published file.

Before a byte is sent the index is asked about every file: one already there with our sha256
is skipped (a rerun finishes an upload that died part-way); one there with another sha256
stops everything, since published files are immutable and the fix is a new version.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from .builds import Manifest, mismatch
from .endpoints import Endpoint
from .errors import UploadError
from .index import IndexFile
from .proc import CommandError, TimedOut, run
from .secrets import redact
from .timeouts import policy


@dataclass(frozen=True)
class UploadResult:
    uploaded: tuple[str, ...]
    skipped: tuple[str, ...]  # already on the index with our sha256


def _preflight(manifests: Sequence[Manifest], target: Endpoint) -> list[Path]:
    """Files still to send; refuse if any name is taken by other content."""
    pending = []
    with target.client() as client:
        for manifest in manifests:
            version = Version(manifest.version)
            if target.production and (version.is_prerelease or version.is_devrelease) \
                    and not target.allow_prereleases:
                raise UploadError(f"{manifest.train} {manifest.version} is a pre-release: "
                                  f"{target.name} takes finals and .postN only (TestPyPI is "
                                  "where rcs go; or set allow-prereleases)")
            listing: dict[str, dict[str, IndexFile]] = {}
            for artifact in manifest.artifacts:
                if artifact.package not in listing:
                    listing[artifact.package] = {f.filename: f
                                                 for f in client.files(artifact.package)}
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
    return pending


def upload(manifests: Sequence[Manifest], target: Endpoint,
           say: Callable[[str], None] = print) -> UploadResult:
    """Send every file of the manifests that the index does not have yet (one twine run)."""
    for manifest in manifests:
        manifest.verify()
    pending = _preflight(manifests, target)
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
    # sdists first: an index that sees the wheel alone could serve it before the sdist exists.
    ordered = sorted(pending, key=lambda p: (not p.name.endswith(".tar.gz"), p.name))
    say(f"upload {len(ordered)} file(s) to {target.name} ({redact(target.upload_url)})")
    deadline = policy().upload
    try:
        run([*argv, *map(str, ordered)], env=env, timeout=deadline, credentials=True)
    except TimedOut:
        left = len(_preflight(manifests, target)) if _reachable(target) else None
        done = "?" if left is None else str(len(ordered) - left)
        raise UploadError(f"index {target.name}: uploading {len(ordered)} file(s) to "
                          f"{target.where} gave up after {deadline:g} s (the deadline; raise "
                          f"it with RELEASE_UPLOAD_DEADLINE), {done} of them there; run the "
                          "same command again to send the rest") from None
    except CommandError as exc:
        left = len(_preflight(manifests, target)) if _reachable(target) else None
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
