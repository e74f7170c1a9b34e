"""Verify a release on an index: visible, installable on every Python, ours, resolvable.

The same checks serve TestPyPI (before production) and PyPI (after): wait until every file
shows with our sha256, install back on each configured Python in a fresh environment and prove
the installed files are the built ones, check bundles pin exactly the versions released, and
resolve for foreign platforms without installing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from release.build.manifest import Manifest
from release.errors import InstallError
from release.platforms import INSTALLED, host_platform, platform_table, render_table
from release.proc import run, scratch_directory
from release.publish.endpoints import Endpoint
from release.publish.visibility import Expected, wait_until_visible
from release.verify.installs import (
    PlatformResult,
    PythonResult,
    Wheel,
    install_back,
    resolve_for_platform,
    resolve_universal,
)
from release.verify.interpreters import Interpreter
from release.verify.uvconfig import clean_env, shared_cache


@dataclass
class Report:
    """What was verified where: the summary people read and the record keeps."""

    index: str
    releases: list[str]  # "core 0.5.0"
    waited: float | None = None
    pythons: list[PythonResult] = field(default_factory=list)
    platforms: list[PlatformResult] = field(default_factory=list)
    pin_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (all(p.ok for p in self.pythons) and all(p.ok for p in self.platforms)
                and not self.pin_problems)

    def table(self) -> str:
        lines = [f"verification on {self.index}: {', '.join(self.releases)}"]
        if self.waited is not None:
            lines.append(f"  visible after {self.waited:.1f} s")
        names = sorted({n for r in self.pythons for n in r.packages})
        if self.pythons:
            header = "  package".ljust(34) + "".join(f"{r.python:>10}" for r in self.pythons)
            lines.append(header)
            for name in names:
                row = f"  {name}".ljust(34)
                row += "".join(f"{'ok' if r.packages.get(name) == 'ok' else 'FAIL':>10}"
                               for r in self.pythons)
                lines.append(row)
            for r in self.pythons:
                if not r.ok:
                    lines.append(f"  Python {r.python}: {r.error}")
        lines += [f"  pin: {problem}" for problem in self.pin_problems]
        lines.append("  result: " + ("ok" if self.ok else "FAILED"))
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {"index": self.index, "releases": self.releases, "waited": self.waited,
                "ok": self.ok,
                "pythons": [{"python": r.python, "platform": r.platform,
                             "interpreter": r.interpreter, "version": r.version, "ok": r.ok,
                             "seconds": round(r.seconds, 3), "packages": r.packages,
                             "error": r.error, "reason": r.reason} for r in self.pythons],
                "platforms": [{"platform": p.platform, "python": p.python, "ok": p.ok,
                               "detail": p.detail, "check": "resolved"}
                              for p in self.platforms],
                "pin_problems": self.pin_problems}


def expected_files(manifests: Sequence[Manifest]) -> list[Expected]:
    return [Expected(a.package, a.version, a.filename, a.sha256)
            for m in manifests for a in m.artifacts]


def wheels_of(manifests: Sequence[Manifest]) -> list[Wheel]:
    return [Wheel.read(m.directory / a.filename) for m in manifests for a in m.artifacts
            if a.kind == "wheel"]


_REQUIRES = """
import json, sys, importlib.metadata as md
print(json.dumps({n: md.distribution(n).requires or [] for n in sys.argv[1:]}))
"""


def pin_problems(python: Path, wheels: Sequence[Wheel]) -> list[str]:
    """Installed metadata must pin our own packages at exactly the versions released."""
    released = {w.name: w.version for w in wheels}
    requires = json.loads(run([str(python), "-c", _REQUIRES, *released], env=clean_env()).stdout)
    problems = []
    for name, reqs in requires.items():
        for text in reqs:
            req = Requirement(text)
            other = canonicalize_name(req.name)
            exact = [s for s in req.specifier if s.operator in ("==", "===")]
            if other in released and exact and any(s.version != released[other] for s in exact):
                problems.append(f"{name} requires {text}, but {other} {released[other]} "
                                "was released")
    return problems


def workers(jobs: int) -> int:
    """Jobs at once: twice the cores (each mostly waits on an index), at least 2."""
    return max(1, min(jobs, max(2, 2 * (os.cpu_count() or 1))))


def verify(manifests: Sequence[Manifest], target: Endpoint, fallbacks: Sequence[str],
           pythons: Sequence[Interpreter], platforms: Sequence[str], *,
           production: bool = False, wait: bool = True, deadline: float = 600.0,
           say: Callable[[str], None] = print,
           smoke_commands: Sequence[Sequence[str]] = (),
           find_links: Sequence[str] = ()) -> Report:
    """Run every check; the report says what passed (raise with `require`)."""
    report = Report(target.name, [f"{m.train} {m.version}" for m in manifests])
    indexes = [target.simple_url, *fallbacks]
    wheels = wheels_of(manifests)
    if wait:
        with target.client() as client:
            report.waited = wait_until_visible(client, expected_files(manifests),
                                               deadline=deadline, say=say)
    # The environments are removed in the background, as far as they can be (Windows may
    # hold files of a finished one open a moment): never failing, never waited for.
    with scratch_directory("release-verify-") as workdir:
        cache = shared_cache()
        requirements = [f"{w.name}=={w.version}" for w in wheels]
        # The machine we run on got a real install-back: its row needs no dry run.
        here = host_platform(platforms)
        jobs = [(platform, python) for platform in platforms for python in pythons
                if platform != here]

        def back(python: Interpreter) -> PythonResult:
            say(f"install-back on Python {python.wanted} ({python.path})")
            if production:  # every exact artifact on its own first: all of them are there
                exact = install_back(python, wheels, indexes, workdir, no_deps=True,
                                     cache_dir=cache, platforms=platforms)
                if not exact.ok:
                    return exact
            return install_back(python, wheels, indexes, workdir, cache_dir=cache,
                                smoke_commands=smoke_commands, find_links=find_links,
                                platforms=platforms)

        # Every Python's environment made and filled at once, the foreign platforms resolved
        # beside them: each is a uv process mostly waiting on an index, on one shared cache.
        with ThreadPoolExecutor(max_workers=workers(len(pythons) + 1)) as pool:
            installs = [pool.submit(back, python) for python in pythons]
            report.platforms = _resolve_platforms(pool, jobs, requirements, indexes, cache,
                                                  find_links)
            report.pythons = [future.result() for future in installs]
        if report.pythons and all(r.ok for r in report.pythons):
            report.pin_problems = pin_problems(Path(report.pythons[0].environment), wheels)
    return report


def _resolve_platforms(pool: ThreadPoolExecutor, jobs: Sequence[tuple[str, Interpreter]],
                       requirements: Sequence[str], indexes: Sequence[str], cache: Path,
                       find_links: Sequence[str]) -> list[PlatformResult]:
    """Each foreign platform x Python, resolved without installing: first all of them in one
    universal resolution (one round of requests to the indexes, not one per pair); only if it
    fails, each pair, to say which cannot."""
    oldest = min((python for _, python in jobs), key=lambda p: Version(p.wanted),
                 default=None)
    universal = None if oldest is None else pool.submit(
        resolve_universal, oldest.wanted, requirements, indexes, cache, find_links,
        oldest.path)
    if universal is not None and (done := universal.result())[0]:
        return [PlatformResult(platform, python.wanted, True, f"{done[1]} (universal)")
                for platform, python in jobs]
    resolutions = [pool.submit(resolve_for_platform, platform, python.wanted, requirements,
                               indexes, cache, find_links, python.path)
                   for platform, python in jobs]
    return [future.result() for future in resolutions]


def require(report: Report) -> None:
    if not report.ok:
        failed = [r for r in report.pythons if not r.ok]
        if failed:
            raise InstallError(f"install-back from {report.index} failed on Python "
                               f"{failed[0].python}: {failed[0].error}")
        if report.pin_problems:
            raise InstallError(report.pin_problems[0])
        bad = next(p for p in report.platforms if not p.ok)
        raise InstallError(f"{report.index}: the release does not resolve for {bad.platform} "
                           f"on Python {bad.python}: {bad.detail}")


def report_rows(verification: Mapping[str, Any], platforms: Sequence[str],
                pythons: Sequence[str]) -> list[dict[str, str]]:
    return platform_table(verification, platforms, pythons)


def platform_report(index: str, verification: Mapping[str, Any], platforms: Sequence[str],
                    pythons: Sequence[str]) -> str:
    """The table platform x Python -> installed+imported / resolved only / failed."""
    title = (f"platforms on {index} ({', '.join(verification.get('releases', []))}): "
             f"{INSTALLED} = installed back and imported on that machine, resolved only = "
             "uv's dry-run resolution for it")
    return render_table(title, report_rows(verification, platforms, pythons))
