"""Upload a build manifest to an index, resumably, never replacing a published file.

Before a byte is sent the index is asked about every file: one already there with our sha256
is skipped (a rerun finishes an upload that died part-way); one there with another sha256
stops everything, since published files are immutable and the fix is a new version.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from packaging.version import Version

from .builds import Manifest
from .endpoints import Endpoint
from .errors import UploadError
from .proc import CommandError, run
from .secrets import redact


@dataclass(frozen=True)
class UploadResult:
    uploaded: tuple[str, ...]
    skipped: tuple[str, ...]  # already on the index with our sha256


def _preflight(manifest: Manifest, target: Endpoint) -> list[str]:
    """Files still to send; refuse if any name is taken by other content."""
    version = Version(manifest.version)
    if target.production and (version.is_prerelease or version.is_devrelease) \
            and not target.allow_prereleases:
        raise UploadError(f"{manifest.version} is a pre-release: {target.name} takes finals and "
                          ".postN only (TestPyPI is where rcs go; or set allow-prereleases)")
    pending = []
    with target.client() as client:
        listing: dict[str, dict[str, str | None]] = {}
        for artifact in manifest.artifacts:
            if artifact.package not in listing:
                listing[artifact.package] = {f.filename: f.sha256
                                             for f in client.files(artifact.package)}
            there = listing[artifact.package]
            if artifact.filename not in there:
                pending.append(artifact.filename)
            elif there[artifact.filename] not in (artifact.sha256, None):
                raise UploadError(
                    f"{artifact.filename} is already on {target.name} with different content "
                    f"(sha256 {str(there[artifact.filename])[:12]}…, ours "
                    f"{artifact.sha256[:12]}…); published files never change: release a new "
                    "version (e.g. the next rcN or .postN). Nothing was uploaded.")
    return pending


def upload(manifest: Manifest, target: Endpoint,
           say: Callable[[str], None] = print) -> UploadResult:
    """Send every file of the manifest that the index does not have yet."""
    manifest.verify()
    pending = _preflight(manifest, target)
    names = [a.filename for a in manifest.artifacts]
    skipped = tuple(n for n in names if n not in pending)
    for name in skipped:
        say(f"skip {name}: already on {target.name} with the same sha256")
    if not pending:
        return UploadResult((), skipped)
    credentials = target.credentials()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINE_")}
    argv = [sys.executable, "-m", "twine", "upload", "--non-interactive",
            "--disable-progress-bar", "--repository-url", target.upload_url]
    if credentials is not None:
        env["TWINE_USERNAME"], env["TWINE_PASSWORD"] = credentials
    # sdists first: an index that sees the wheel alone could serve it before the sdist exists.
    ordered = sorted(pending, key=lambda n: (not n.endswith(".tar.gz"), n))
    say(f"upload {len(ordered)} file(s) to {target.name} ({redact(target.upload_url)})")
    try:
        run([*argv, *[str(manifest.directory / n) for n in ordered]], env=env, timeout=3600)
    except CommandError as exc:
        done = len(ordered) - len(_preflight(manifest, target)) if _reachable(target) else "?"
        raise UploadError(f"upload to {target.name} failed after {done} of {len(ordered)} "
                          f"file(s): {exc.output.strip().splitlines()[-1] if exc.output else exc}"
                          "; run the same command again to send the rest") from None
    return UploadResult(tuple(ordered), skipped)


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
