"""Wait until an index shows every file of a release, with the hashes we built.

Indexes answer uploads before every view shows the file (PyPI's CDN, mirrors, the JSON API
lagging the simple API): installing straight away can fail or, worse, pick another file. So
we poll the simple API until each file is listed with its sha256 and, where the index has a
JSON API, until that agrees too; exponential backoff with jitter, a deadline, progress lines.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from release.build.manifest import mismatch
from release.errors import IndexServerError, InstallError
from release.publish.index import IndexClient

DEFAULT_DEADLINE = 600.0


@dataclass(frozen=True)
class Expected:
    project: str
    version: str
    filename: str
    sha256: str


def missing_files(client: IndexClient, expected: Sequence[Expected]) -> list[str]:
    """The files not (yet) visible with our hash: simple API first, then the JSON API. One
    request per project page (every file of a project in one answer), PAGES of them at once:
    a 200-package release polls in a few round trips, not 200 in a row."""
    by_project: dict[str, list[Expected]] = {}
    for item in expected:
        by_project.setdefault(item.project, []).append(item)

    def check(project: str) -> list[str]:
        items = by_project[project]
        missing: list[str] = []
        listed = {f.filename: f.sha256 for f in client.files(project)}
        for item in items:
            seen = listed.get(item.filename)
            if seen is None:
                missing.append(item.filename)
            elif seen and seen != item.sha256:
                raise InstallError(f"{item.filename} on {client.simple_url}: "
                                   f"{mismatch('index', seen, item.sha256)}; published files "
                                   "never change: release a new version")
        if client.json_api and not missing:
            for version in sorted({i.version for i in items}):
                document = client.json_release(project, version)
                text = repr(document) if document else ""
                missing += [f"{i.filename} (JSON API)" for i in items
                            if i.version == version and i.filename not in text]
        return missing

    with ThreadPoolExecutor(max_workers=PAGES) as pool:
        return [name for found in pool.map(check, by_project) for name in found]


# Project pages asked at once (an IndexClient keeps 16 connections).
PAGES = 16


def wait_until_visible(client: IndexClient, expected: Sequence[Expected], *,
                       deadline: float = DEFAULT_DEADLINE, first_delay: float = 0.5,
                       max_delay: float = 30.0,
                       say: Callable[[str], None] = print) -> float:
    """Poll until every expected file is visible; return the seconds it took."""
    started = time.monotonic()
    delay = first_delay
    attempt = 0
    while True:
        attempt += 1
        try:
            missing = missing_files(client, expected)
        except IndexServerError as exc:
            missing = [f"(index unreachable: {exc})"]
        elapsed = time.monotonic() - started
        if not missing:
            if attempt > 1:
                say(f"all {len(expected)} files visible after {elapsed:.1f} s")
            return elapsed
        if elapsed + delay > deadline:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more"
                                              if len(missing) > 5 else "")
            raise InstallError(f"after {elapsed:.0f} s, {client.simple_url} still does not show "
                               f"{len(missing)} file(s): {shown} (rerun to keep waiting, or raise "
                               "the deadline with --wait)")
        left = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more"
                                         if len(missing) > 3 else "")
        give_up = time.strftime("%H:%M:%S", time.localtime(time.time() - elapsed + deadline))
        say(f"waiting for {len(missing)} of {len(expected)} files on {client.simple_url} "
            f"({left}; {elapsed:.0f} s of {deadline:.0f} s, giving up at {give_up})")
        time.sleep(delay)
        delay = min(max_delay, delay * 2) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter only
