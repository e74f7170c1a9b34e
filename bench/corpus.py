"""Corpus benchmark: replay real release commits of public repositories with release-train.

Usage: python bench/corpus.py [--mirrors /work/.mirror] [--only NAME] [--verbose]

For each entry of CORPUS: clone the mirror (`<mirrors>/<owner>+<name>/repo`, a bare git
directory) into a scratch directory, check out the release commit's parent, copy
`bench/corpus/<owner>-<name>.toml` in as `release.toml`, run `release-train --repo DIR bump
--train T --to V` as a user would, and compare `git diff` with the maintainers' `git diff PARENT
COMMIT`, line by line (not a test, not run in CI; the method is in docs/corpus.md).

Counting (per file, a hunk's i-th removed line pairs with its i-th added line):
- files whose path has a component starting with changelog, changes, history, news, release
  notes or whatsnew (CHANGELOG.md, docs/changelog.rst, news/, .changelog/...) are left out;
- a maintainers' pair is a *version line* when the removed text carries the old version and the
  added text the new one (as written or PEP 440-normalized), or when the file is a lock file or
  a version file (version.py, _version.py, __version__.py, VERSION: `__build__ = 0x023402`);
- matched: our pairs identical to a maintainers' version line (same file, same texts);
  missing: maintainers' version lines we did not produce; extra: our changed lines (paired or
  not) that the maintainers did not change.
Goal per row: matched == maintainers' lines and extra == 0. Tag-driven rows (setuptools-scm,
pdm-backend scm) expect no line at all and a `bump --dry-run` that names the tag.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "bench" / "corpus"
TOOL = str(Path(sys.executable).parent / "release-train")
LOCK_FILES = {"uv.lock", "Cargo.lock", "poetry.lock", "pdm.lock"}
VERSION_FILE = re.compile(r"^_*version_*(\.[a-z]+)?$", re.IGNORECASE)  # version.py, VERSION...
NOTES = re.compile(r"^\.?(changelog|changes|history|news|release[-_ ]?notes|whatsnew)",
                   re.IGNORECASE)

Line = tuple[str, str | None, str | None]  # file, removed text, added text


@dataclass(frozen=True)
class Bump:
    train: str
    old: str
    new: str


@dataclass(frozen=True)
class Entry:
    repo: str  # owner/name on GitHub
    commit: str  # the maintainers' release commit
    bumps: tuple[Bump, ...]
    tag: str | None = None  # tag-driven: the tag `bump --dry-run` must name


def _b(train: str, old: str, new: str) -> tuple[Bump, ...]:  # the one-train case
    return (Bump(train, old, new),)


# Found with `git log --oneline -- <version file>` and the tags; `old` is the parent's version.
CORPUS: tuple[Entry, ...] = (
    Entry("psf/requests", "6e83187b8feb273ed4c6cdab5efd8d54901dfab3",
          _b("requests", "2.34.1", "2.34.2")),
    Entry("psf/requests", "f7822f7c4185b45527f171095c4edf8777efe51b",
          _b("requests", "2.33.1", "2.34.0.dev1")),
    Entry("pallets/click", "8b19813f2bfca99f1018a587a8cf54fc959f2e5d",
          _b("click", "8.5.0.dev", "8.5.0")),
    Entry("pallets/click", "a42300ab9eb032c986ad030fae65f1eb58518dae",
          _b("click", "8.4.1", "8.4.2.dev")),
    Entry("encode/httpx", "26d48e0634e6ee9cdc0533996db289ce4b430177",
          _b("httpx", "0.28.0", "0.28.1")),
    Entry("encode/httpx", "1bf1ba51242e6433f6a4cfa45a9338eb85bd7559",
          _b("httpx", "0.27.0", "0.27.1")),
    Entry("python-poetry/poetry-core", "23bf0ac6b8a50a0756ef4d657d8ff67aef88aa67",
          _b("poetry-core", "2.3.1", "2.3.2")),
    Entry("python-poetry/poetry-core", "c881d54cad2d8c3293f454562cf1e2c9989d8b90",
          _b("poetry-core", "2.3.0", "2.3.1")),
    Entry("aws-powertools/powertools-lambda-python", "d64f3a6e77a2b0efeb3ef3219f6f17e2ed70ddf6",
          _b("powertools", "3.1.1a0", "3.2.0")),
    Entry("aws-powertools/powertools-lambda-python", "0f545c62ef0e7ee42bafb91ac8e7c037bfe60b4b",
          _b("powertools", "3.2.1a0", "3.2.1a1")),
    Entry("pydantic/pydantic-core", "52b821dfc304b061b3c2d528f91011229d25f0a1",
          _b("pydantic-core", "2.41.4", "2.41.5")),
    Entry("pydantic/pydantic-core", "bd04c18eb6b05fcb3b4823371267fdaff70f7527",
          _b("pydantic-core", "2.41.3", "2.41.4")),
    Entry("pypa/twine", "14ceb29585a54f679e415b351aece2acc19aa4b2",
          _b("twine", "6.1.0", "6.2.0"), tag="6.2.0"),
    Entry("pypa/twine", "aa3a910cdef8e0a3cb4e893f4c371b58015f52e0",
          _b("twine", "6.0.1", "6.1.0"), tag="6.1.0"),
    Entry("pdm-project/pdm", "bc67b547097bb2ee089ef8b19cc483c320ab1566",
          _b("pdm", "2.28.1", "2.28.2"), tag="2.28.2"),
    Entry("pdm-project/pdm", "6514f592d984f4939fe0fe19be6dbbf91fc351da",
          _b("pdm", "2.28.0", "2.28.1"), tag="2.28.1"),
    # release branch: 1.44.0.dev/0.65b0.dev -> 1.44.0/0.65b0 (tagged v0.65b0)
    Entry("open-telemetry/opentelemetry-python-contrib",
          "a5470c666947acddc24fd4064ec7c1b169dfe8b6",
          (Bump("contrib", "0.65b0.dev", "0.65b0"), Bump("stable", "1.44.0.dev", "1.44.0"))),
    # main after the branch cut: 1.44.0.dev/0.65b0.dev -> 1.45.0.dev/0.66b0.dev
    Entry("open-telemetry/opentelemetry-python-contrib",
          "79f9e575e96199ece9ee79d79e25adaf8cbc52f2",
          (Bump("contrib", "0.65b0.dev", "0.66b0.dev"),
           Bump("stable", "1.44.0.dev", "1.45.0.dev"))),
)


@dataclass
class Row:
    entry: Entry
    maintainers: list[Line] = field(default_factory=list)
    matched: list[Line] = field(default_factory=list)
    missing: list[Line] = field(default_factory=list)
    extra: list[Line] = field(default_factory=list)
    bump_s: float = 0.0
    audit_s: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.notes and not self.missing and not self.extra


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=600)


def git(repo: Path, *args: str) -> str:
    done = run(["git", "-C", str(repo), "-c", "core.quotepath=false", *args])
    if done.returncode:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def changed_lines(diff: str) -> list[Line]:
    """Lines of a `git diff -U0`: per hunk, the i-th removed line pairs with the i-th added."""
    lines: list[Line] = []
    removed: list[str] = []
    added: list[str] = []
    path, in_hunk = "", False

    def flush() -> None:
        for i in range(max(len(removed), len(added))):
            lines.append((path, removed[i] if i < len(removed) else None,
                          added[i] if i < len(added) else None))
        removed.clear()
        added.clear()

    for text in diff.splitlines():
        if text.startswith("diff --git "):
            flush()
            in_hunk = False
        elif not in_hunk and text.startswith(("--- a/", "+++ b/")):
            path = text[6:]
        elif text.startswith("@@"):
            flush()
            in_hunk = True
        elif in_hunk and text.startswith("-"):
            removed.append(text[1:])
        elif in_hunk and text.startswith("+"):
            added.append(text[1:])
    flush()
    return lines


def is_notes(path: str) -> bool:  # changelogs, news fragments, release notes
    return any(NOTES.match(part) for part in path.split("/"))


def forms(text: str) -> set[str]:  # as written and PEP 440-normalized
    return {text, str(Version(text))}


def is_version_line(line: Line, bumps: tuple[Bump, ...]) -> bool:
    path, old, new = line
    if old is None or new is None or is_notes(path):
        return False
    name = path.rsplit("/", 1)[-1]
    if name in LOCK_FILES or VERSION_FILE.match(name):
        return True
    return any(any(f in old for f in forms(b.old)) and any(f in new for f in forms(b.new))
               for b in bumps)


def audit_supported() -> bool:
    return "--audit" in run([TOOL, "check", "--help"]).stdout


def replay(entry: Entry, mirror: Path, scratch: Path, audit: bool) -> Row:
    row = Row(entry)
    config = CONFIGS / f"{entry.repo.replace('/', '-')}.toml"
    run(["git", "clone", "--quiet", "--shared", "--no-checkout", str(mirror), str(scratch)])
    git(scratch, "checkout", "--quiet", "--detach", f"{entry.commit}^")
    shutil.copyfile(config, scratch / "release.toml")
    with (scratch / ".git" / "info" / "exclude").open("a") as f:
        f.write("release.toml\n")  # keep the tree clean, as a committed config would
    if audit:
        start = time.perf_counter()
        run([TOOL, "--repo", str(scratch), "check", "--audit"])
        row.audit_s = time.perf_counter() - start
    for b in entry.bumps:
        argv = [TOOL, "--repo", str(scratch), "bump", "--train", b.train, "--to", b.new]
        if entry.tag:
            dry = run([*argv, "--dry-run"])
            if entry.tag not in dry.stdout:
                row.notes.append(f"dry-run does not name tag {entry.tag}: "
                                 + last_line(dry.stderr or dry.stdout))
        start = time.perf_counter()
        done = run(argv)
        row.bump_s += time.perf_counter() - start
        if done.returncode:
            row.notes.append(f"bump {b.train} refused: " + last_line(done.stderr or done.stdout))
    theirs = changed_lines(git(scratch, "diff", "-U0", "--no-color", "--no-renames",
                               f"{entry.commit}^", entry.commit))
    ours = changed_lines(git(scratch, "diff", "-U0", "--no-color", "--no-renames", "HEAD"))
    row.maintainers = [line for line in theirs if is_version_line(line, entry.bumps)]
    wanted, ours_left, all_theirs = Counter(row.maintainers), Counter(ours), Counter(theirs)
    row.matched = list((wanted & ours_left).elements())
    row.missing = list((wanted - ours_left).elements())
    row.extra = list((ours_left - all_theirs).elements())
    return row


def last_line(text: str) -> str:  # the tool's message
    lines = [t.strip() for t in text.splitlines() if t.strip()]
    return lines[-1] if lines else "(no output)"


def table(rows: list[Row]) -> str:
    out = ["| repository | commit | train: to | maintainers | matched | missing | extra "
           "| bump s | audit s | result |", "|---|---|---|--:|--:|--:|--:|--:|--:|---|"]
    for r in rows:
        e = r.entry
        to = ", ".join(f"{b.train}: {b.new}" for b in e.bumps)
        audit = f"{r.audit_s:.2f}" if r.audit_s is not None else "-"
        result = ("ok" if not e.tag else f"ok (tag-driven, names {e.tag})") if r.ok else "FAIL"
        if r.notes:
            result += ": " + "; ".join(n[:90] for n in r.notes)
        out.append(f"| {e.repo} | {e.commit[:9]} | {to} | {len(r.maintainers)} "
                   f"| {len(r.matched)} | {len(r.missing)} | {len(r.extra)} "
                   f"| {r.bump_s:.2f} | {audit} | {result} |")
    return "\n".join(out)


def show(title: str, lines: list[Line], limit: int = 20) -> None:
    if not lines:
        return
    print(f"  {title} ({len(lines)}):")
    for path, old, new in lines[:limit]:
        print(f"    {path}\n      - {old if old is not None else '(none)'}"
              f"\n      + {new if new is not None else '(none)'}")
    if len(lines) > limit:
        print(f"    ... and {len(lines) - limit} more")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"),
                        help="directory holding <owner>+<name>/repo bare mirrors")
    parser.add_argument("--only", default="", help="replay only repositories containing this")
    parser.add_argument("--verbose", action="store_true", help="print missing and extra lines")
    args = parser.parse_args()
    audit = audit_supported()
    if not audit:
        print("note: `check --audit` is not available in this release-train; not timed")
    rows: list[Row] = []
    for entry in CORPUS:
        if args.only not in entry.repo:
            continue
        mirror = args.mirrors / entry.repo.replace("/", "+") / "repo"
        if not mirror.is_dir():
            print(f"skip {entry.repo} {entry.commit[:9]}: no mirror at {mirror}")
            continue
        with tempfile.TemporaryDirectory(prefix="corpus-", dir="/tmp") as tmp:
            try:
                row = replay(entry, mirror, Path(tmp) / "repo", audit)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:  # a broken mirror
                row = Row(entry, notes=[f"replay failed: {exc}"])
        rows.append(row)
        print(f"{entry.repo} {entry.commit[:9]}: {'ok' if row.ok else 'FAIL'}", flush=True)
        if args.verbose:
            for note in row.notes:
                print(f"  {note}")
            show("missing", row.missing)
            show("extra", row.extra)
    print("\n" + table(rows))
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
