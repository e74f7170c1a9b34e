"""The fault matrix: what goes wrong during a release, what the user sees, what is left, how to
go on. Each row of FAULTS is one scenario below, run against real parts: devpi-server behind a
fault-injecting proxy (tests/proxy.py), real git, real builds, real installs.

The promise: a release either completes, or stops with one clear line and can be resumed;
nothing published is ever lost or silently replaced; no secret ever leaks (every scenario runs
with a canary in every credential variable, and the canary is the token the index accepts).

docs/faults.md is this table rendered; a test keeps them equal. Regenerate it with
`python -m tests.test_faults`.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from release import sessions
from release.build.frontend import build_trains
from release.build.manifest import Manifest, sha256_of
from release.config import load
from release.pipeline.localindex import LocalDevpi, LocalIndex
from release.publish.index import IndexClient
from release.versions.plan import apply_plan, plan_change
from tests.helpers.canary import CANARY, canary_env, canary_index, canary_indexes, leaks
from tests.helpers.commands import FAST, invoke, rehearse_argv, release_train
from tests.helpers.dists import mini_copy
from tests.helpers.proxy import FaultProxy
from tests.helpers.repos import (
    BIN,
    EXAMPLE,
    ROOT,
    copy_example,
    env,
    git,
    init_repo,
    scratch_clone,
    snapshot,
)

DOC = ROOT / "docs" / "faults.md"


@dataclass(frozen=True)
class Fault:
    id: str
    fault: str  # what goes wrong
    command: str  # what the user ran (or runs next) and sees the line of
    exit: int  # its exit code
    message: str  # a part of the one line it prints
    state: str  # what is left afterwards
    go_on: str  # how to go on


FAULTS = (
    Fault("index-down", "TestPyPI is down when the upload starts (connection refused)",
          "nox -s testpypi", 1, "error: cannot reach the index at …/+simple/skyline/: "
          "connection refused (gave up after 4 attempts)",
          "nothing uploaded; the record marks testpypi-upload failed, with the same line",
          "run the same command again once the index answers: everything is uploaded and "
          "verified"),
    Fault("read-timeout", "the index accepts the connection but does not answer in time (the "
          "test sets 0.5 s; the default is 15 s, 4 attempts)", "nox -s testpypi", 1,
          "error: cannot reach the index at …: no answer within 0.5 s (gave up after 2 "
          "attempts)", "nothing uploaded; the record marks testpypi-upload failed",
          "run the same command again: it starts over from the index's listing"),
    Fault("http-500", "HTTP 500 on file 2 of 4, on every retry twine makes",
          "nox -s testpypi", 1, "error: upload to testpypi failed after 1 of 4 file(s): "
          "HTTPError: 500 Internal Server Error from …; run the same command again to send "
          "the rest", "file 1 is on the index, files 2 to 4 are not; the record marks "
          "testpypi-upload failed",
          "run the same command again: the file already there (same sha256) is skipped, the "
          "other 3 are sent, then verified"),
    Fault("connection-reset", "the connection is reset half-way through sending file 2 of 4",
          "nox -s testpypi", 1, "error: upload to testpypi failed after 1 of 4 file(s): "
          "ConnectionError: …Connection reset by peer…; run the same command again to send "
          "the rest", "file 1 is on the index, the rest are not",
          "run the same command again: 1 skipped, 3 sent, then verified"),
    Fault("answer-lost", "the index stores file 2 of 4, then the connection drops before it "
          "answers", "nox -s testpypi", 1, "error: upload to testpypi failed after 2 of 4 "
          "file(s): ConnectionError: …; run the same command again to send the rest",
          "files 1 and 2 are on the index (the count comes from asking the index, not from "
          "twine)", "run the same command again: the 2 files there are skipped (never sent "
          "twice), the other 2 sent, then verified"),
    Fault("name-taken", "a file with our name but other content is already on the index",
          "nox -s testpypi", 1, "error: skyline_core-0.4.2-py3-none-any.whl is already on "
          "testpypi with different content (hash mismatch: index has …, we built …); published "
          "files never change: release a new version (e.g. the next rcN or .postN). Nothing "
          "was uploaded.",
          "nothing of ours uploaded (checked before a byte is sent); the other file untouched",
          "nothing to resume: the same command refuses again; release a new version"),
    Fault("wrong-token", "the index refuses the token (HTTP 401)", "nox -s testpypi", 1,
          "error: upload to testpypi failed after 0 of 4 file(s): HTTPError: 401 Unauthorized "
          "from …; check the token in TESTPYPI_TOKEN, then run the same command again",
          "nothing uploaded; the token is in no message, record or file",
          "set the right token and run the same command again"),
    Fault("no-credentials", "no token is set, and this is not CI with trusted publishing",
          "nox -s testpypi", 1, "error: no credentials for testpypi: set TESTPYPI_TOKEN (an "
          "API token for this index) or run in CI with trusted publishing",
          "nothing uploaded", "set TESTPYPI_TOKEN and run the same command again"),
    Fault("insecure-index", "an index URL uses plain http on a host that is not loopback",
          "nox -s testpypi", 2, "error: index testpypi: http://test.pypi.example.org/legacy/ "
          "must use https (plain http is allowed only on loopback)",
          "nothing sent, nothing written", "use the https URL, then run the command again"),
    Fault("slow-propagation", "the index shows each uploaded file only 1.2 s after its upload",
          "nox -s testpypi", 0, "waiting for 4 of 4 files on …/+simple/ (…; … s of 600 s, "
          "giving up at …)",
          "the release verified once every file shows with our sha256 (the record keeps how "
          "long that took)", "nothing to do: the wait polls with backoff until --wait runs out"),
    Fault("propagation-deadline", "the index still hides the files when --wait runs out",
          "nox -s testpypi -- --wait 1", 1, "error: after 1 s, …/+simple/ still does not show "
          "4 file(s): … (rerun to keep waiting, or raise the deadline with --wait)",
          "every file uploaded (testpypi-upload done); testpypi-verify failed",
          "run the same command again (with a longer --wait if need be): the upload is skipped "
          "as done, the wait and the verification run again"),
    Fault("fallback-higher", "the fallback index serves a higher version (99.0.0) of one of "
          "our names", "nox -s testpypi", 0, "…result: ok",
          "our files installed from the target and proven by sha256 (uv's first-index "
          "strategy); 99.0.0 never installed", "nothing to do"),
    Fault("killed-bump", "the process is killed (SIGKILL) in the middle of a bump, after 3 "
          "of its files", "invoke check", 1, "…: … is 0.5.0, but train core is at 0.4.2",
          "every file either old or new, never half-written; invoke check names each file "
          "already bumped; a stray .<name>.*.tmp may remain; nothing committed",
          "git checkout the files invoke check names, delete the stray temporary file, then "
          "run the bump again"),
    Fault("killed-upload", "the process is killed (SIGKILL) once file 2 of 4 is on the index",
          "nox -s testpypi (run again)", 0, "skip …: already on testpypi with the same sha256",
          "2 files on the index; the record shows testpypi-upload running (never finished)",
          "run the same command again: the 2 files there are skipped, 2 sent, then verified"),
    Fault("push-rejected", "the remote rejects the push (a pre-receive hook)", "invoke push", 1,
          "error: push to origin rejected: [remote rejected] (pre-receive hook declined) "
          "(remote said: …); nothing was pushed and nothing changed here: fix the cause, then "
          "run invoke push again", "nothing pushed (atomic: neither branch nor tag); the local "
          "commit and tag unchanged", "fix the cause on the remote, then run invoke push again"),
    Fault("tag-on-remote", "the release tag already exists on the remote, though not here",
          "invoke tag", 1, "error: tag v0.4.2 already exists on origin (on …), though not "
          "here: tags never move; fetch it (git fetch --tags origin) and release a new version",
          "nothing changed here", "release a new version (invoke bump --commit), then tag it"),
    Fault("dirty-tree", "the working tree has local changes", "invoke tag", 1,
          "error: working tree is not clean: README.md (modified): commit, stash or remove "
          "them first (git status)", "nothing changed",
          "commit or stash the changes, then run the same command again"),
    Fault("disk-full-record", "the disk fills up while the release record is written, just "
          "after the upload", "nox -s testpypi", 1, "error: cannot write the release record "
          "…/.release/core-0.4.2.json: No space left on device; the record is as it was before "
          "this write: free some space (or fix the permissions), then run the same command "
          "again", "the record as before that write (valid JSON), no temporary file; the "
          "files are on the index", "free some space and run the same command again: the "
          "files are found on the index with our sha256 and skipped, then verified"),
    # --- issue 14: confinement, one command at a time, bounded waits, every resume path ---
    Fault("train-name-escapes", "a train is named \"../../x/victimdir\" (finding 1)",
          "invoke check", 2, "error: pyproject.toml: [tool.release.trains] train name "
          "'../../x/victimdir' is not a plain name: use letters, digits, '.', '_' and '-', "
          "starting with a letter or digit (it names files and directories)",
          "nothing read or written outside the repository (build and notes refuse the same "
          "config the same way)", "rename the train"),
    Fault("symlink-out", "`.release`, `dist`, `release-notes`, `.github/workflows/release.yml` "
          "or a planted `.<name>.tmp` is a committed symlink to somewhere outside the "
          "repository (finding 2)", "invoke notes", 1,
          "error: refusing to write …/.release: it leads to …/outside, outside …/repo (a "
          "symlink or '..' on the way); release-train writes only inside the repository, its "
          "workspace and its cache: remove that symlink (or fix the name), then run the "
          "command again", "nothing written outside (the outside files keep their bytes); "
          "a symlink to a file is replaced, never written through",
          "remove the symlink, then run the same command again"),
    Fault("second-command", "a second writing command (bump, release, build, notes, tag, "
          "push) starts while one runs on the same repository, or a second rehearsal of one "
          "workspace (finding 4)", "invoke bump (the second)", 1,
          "error: another release-train command is working on the repository …: pid … "
          "(…); wait for it to finish (or end it), then run this command again",
          "the second command changed nothing; it waited RELEASE_LOCK_WAIT (10 s) first, so "
          "two bumps started together run one after the other", "run it again once the first "
          "is done"),
    Fault("disk-full-bump", "the disk fills up after 3 files of a bump are written, and the "
          "rollback cannot write either (finding 5)", "invoke bump --commit", 1,
          "error: writing the version edits failed: No space left on device (…); the "
          "rollback failed: 3 file(s) still differ from before: … (git checkout -- them)",
          "the files named (compared byte for byte after the rollback) are bumped, the others "
          "untouched; nothing committed; when the rollback works the line says so "
          "(\"every file was rolled back (checked byte for byte)\")",
          "free some space, git checkout -- the files named, bump again"),
    Fault("large-file", "an occurrence file of 920 KB of repeated version lines (finding 11)",
          "invoke bump --dry-run", 0, "…docs/big.txt:…",
          "the plan lists every changed line; planning and showing it take well under a "
          "second (linear: lines pair up one to one)", "nothing to do"),
    Fault("url-backslash", "an index or API URL hides its host: `http://evil\\@127.0.0.1:1/` "
          "(urllib3, and so requests, connects to evil) (finding 6)", "nox -s testpypi", 2,
          "error: index testpypi: 'http://***@127.0.0.1:…/' contains a backslash, a space "
          "or a control character: write the URL plainly", "nothing sent; the same check "
          "guards GITHUB_API_URL", "write the URL plainly"),
    Fault("trickle", "the simple page sends a byte every second, forever; an upload POST is "
          "never answered (finding 7)", "nox -s testpypi", 1,
          "error: index testpypi: reading the simple page http://127.0.0.1:…/ "
          "gave up after 2 s (the deadline; raise it with RELEASE_DEADLINE); run the same "
          "command again", "nothing uploaded; the upload that is never answered stops at "
          "RELEASE_UPLOAD_DEADLINE with the same kind of line (index, operation, seconds)",
          "run the same command again once the index answers (connect/read timeouts and "
          "deadlines: RELEASE_CONNECT_TIMEOUT, RELEASE_READ_TIMEOUT, RELEASE_DEADLINE, "
          "RELEASE_UPLOAD_DEADLINE)"),
    Fault("listed-without-hash", "the index lists a file of ours without a hash, and its "
          "bytes are not ours (finding 9)", "nox -s testpypi", 1,
          "error: skyline_core-0.4.2-py3-none-any.whl is already on testpypi with different "
          "content (hash mismatch: index has …, we built …); published files never change: "
          "release a new version (e.g. the next rcN or .postN). Nothing was uploaded.", "nothing "
          "uploaded (the "
          "file was downloaded and hashed); an upper-case sha256 in PEP 691 JSON compares "
          "equal; skyline__core and skyline-core are one name (config refuses the pair)",
          "release a new version"),
    Fault("no-traceback", "`tool = \"x\"` in the root pyproject; a read-only directory; "
          "a full disk; a failed copy; a damaged record; `--to 0.5.0+local`; a version "
          "written v0.4.2 (findings 10, 13)", "invoke check", 2,
          "error: pyproject.toml: tool must be a table ([tool.…]), not str",
          "nothing changed; each is one `error:` line (a local version is refused: indexes "
          "refuse it; a `v0.4.2` version tags `v0.4.3`, never `vv0.4.3`)",
          "fix what the line names, then run the same command again"),
    # --- issue 14, second part: submodules, every resume path, versions in text ---
    Fault("submodule", "a package of the train lives in a git submodule; in a clone where the "
          "submodule was never initialised; a package directory not committed (finding 3)",
          "nox -s build", 1, "error: submodule packages/skyline-sub (commit …) is not "
          "available here: a build would leave out what it holds; run git submodule update "
          "--init packages/skyline-sub (it is taken from this repository's own copy, never "
          "fetched), then run the command again",
          "nothing built; with the submodule initialised the build holds its package (checked "
          "out in the clean worktree from .git/modules, no network); a package the commit "
          "lacks is named: \"the build of … would leave out skyline-new (packages/skyline-new)\"",
          "git submodule update --init (or commit the package), then build again"),
    Fault("killed-rehearsal", "the rehearsal is killed (SIGKILL, not its devpi-server) 2 s "
          "after it starts, while its indexes are made or the release runs (findings 8, 14)",
          "nox -s rehearse (run again)", 0, "rehearsal passed in … s (…)",
          "the workspace as the kill left it, and an orphan devpi-server serving its data: the "
          "rerun ends it (pid file, or /proc by its data directory); the indexes' credentials "
          "are saved before they are made, so creating them again is no \"409 user already "
          "exists\"", "run the same command again: it resumes (or starts over when the "
          "scratch clone was never completed)"),
    Fault("killed-build", "the release is killed (SIGKILL) during the build, after the first "
          "train's files were recorded, and the rebuild makes other bytes (finding 8)",
          "release-train release (run again)", 0, "core 0.4.3rc1: the files of an earlier "
          "build were never uploaded: the record takes the new build's",
          "the record holds the killed build's files, which were never uploaded: they bind "
          "nothing (only files an upload began with, or a finished build, are binding)",
          "run the same command again: it builds again and releases the same version, each "
          "file uploaded once"),
    Fault("copy-fails", "the rehearsal's scratch copy fails (a FIFO in the directory); a "
          "dangling symlink is copied as a symlink, as git clones it (finding 8)",
          "nox -s rehearse", 1, "error: cannot make the rehearsal workspace … from …: "
          "`…/pipe` is a named pipe…; fix that, then run the rehearsal again with --fresh",
          "a workspace whose clone is marked unfinished", "remove the cause and run again "
          "(with --fresh, or without: an unfinished clone is started over, never \"not a git "
          "repository\")"),
    Fault("damaged-records", "both release records are truncated after the tag and the "
          "TestPyPI upload (finding 8)", "release-train release (run again)", 1,
          "error: …/.release/….json: unreadable release record (…); nothing was done: restore "
          "it (or move it aside and check by hand what this release already did: its tag, the "
          "indexes) before running again", "nothing changed: no new version, no tag, no "
          "upload; never a KeyError", "restore the records (or check by hand), then run the "
          "same command again: the release resumes at testpypi-verify"),
    Fault("record-edited", "a sha256 in the release record is edited after the build "
          "(finding 8)", "nox -s testpypi", 1, "error: …/.release/core-0.4.2.json and "
          "…/manifest.json disagree: …: hash mismatch: the record has …, we built …; the "
          "record, the manifest and the files must agree (none is edited after the build): "
          "restore the one that was changed; published or verified files are never swapped: "
          "release a new version to change them", "nothing uploaded or verified again; a file "
          "changed on disk is refused the same way (hash mismatch: the file has …, we built …)",
          "restore the record, then run the same command again"),
    Fault("versions-in-text", "a version with an epoch (1!0.5.0) or upper-case letters "
          "(0.5.0.RC1) in text occurrences (finding 10)", "invoke check", 0,
          "ok: 41 version spots agree (core 1!0.5.0, extensions 1.2.0, addon 1.0.3)",
          "bump finds and rewrites every occurrence and check agrees; the next bump "
          "(--part patch, rc, release) too", "nothing to do"),
)
BY_ID = {f.id: f for f in FAULTS}


def shows(line: str, message: str) -> bool:
    """Whether line is message, where each "…" in message stands for any text."""
    return re.fullmatch(".*?".join(map(re.escape, message.split("…"))), line) is not None


def render() -> str:
    """docs/faults.md, from FAULTS."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "# What happens when things go wrong",
        "",
        "The promise: a release either completes, or stops with one clear line and can be",
        "resumed; nothing published is ever lost or silently replaced; no secret ever leaks.",
        "",
        "Each row is a test in `tests/test_faults.py` (`test_fault[<id>]`), run against real",
        "parts: devpi-server behind a fault-injecting proxy, real git, real builds and installs,",
        "with a canary token in every credential variable that must never show up anywhere.",
        "This page is generated from the tests' table (`python -m tests.test_faults`) and a test",
        "fails when the two differ.",
        "",
        "| id | fault | what the user sees | what state remains | how to go on |",
        "|---|---|---|---|---|",
    ]
    for f in FAULTS:
        sees = f"`{f.command}` exits {f.exit}: `{f.message}`"
        lines.append(f"| {f.id} | {cell(f.fault)} | {cell(sees)} | {cell(f.state)} | "
                     f"{cell(f.go_on)} |")
    lines += [
        "",
        "`…` stands for text that varies (ports, hashes, paths). Every scenario also checks",
        "that the one line is the only error line, that no traceback is printed, and that the",
        "canary token is in no output, record, log or other file the release wrote.",
        "",
        "## Secrets",
        "",
        "Credentials come from the environment only (`TESTPYPI_TOKEN`, `PYPI_TOKEN`,",
        "`TWINE_PASSWORD`, `GITHUB_TOKEN`, `GH_TOKEN`, ...), are masked (`***`) wherever text is",
        "shown or stored, and so is the user part of any URL (`https://***@host/`). Build",
        "backends and the installed release under test never see them. `tests/test_secrets.py`",
        "runs a full rehearsal and several failures (an index and an API quoting the token back,",
        "credentials in an index or git URL, a build printing its environment) with the canary",
        "in every credential variable, and the testpypi/pypi/verify sessions with the canary as",
        "the token the indexes accept, then searches every file left behind for it.",
        "",
        "Credentials are on no command line: `tests/test_secrets.py` samples every",
        "process's `/proc/<pid>/cmdline` while a rehearsal runs (uv installing, twine",
        "uploading) and reads devpi-server's `/proc/<pid>/environ`: neither the canary nor",
        "the local indexes' passwords, and no credential variable, show up.",
        "",
        "## Kills and confinement",
        "",
        "`tests/test_resume.py` (slow) kills `release-train release` on the example 20 times",
        "at random moments within the measured duration of a release (SIGKILL to the process",
        "group; the seed is printed, `RELEASE_KILL_SEED` repeats it); every rerun completes,",
        "and devpi's own log shows each file stored on each index exactly once. It also runs a",
        "full rehearsal with an audit hook (`tests/audit/sitecustomize.py` on `PYTHONPATH`)",
        "in every Python process: each `open` for writing, rename, replace, mkdir, remove and",
        "copy target lies inside the workspace (the scratch repository included), the cache",
        "or the run's temporary directory, and the rehearsed repository is only read.",
        "Non-Python children (git, uv) and processes whose environment release-train",
        "scrubs of `PYTHONPATH` (isolated build backends) are not seen by the hook; their",
        "targets are set by release-train (worktrees, build and output directories).",
        "",
        "## Fuzzing",
        "",
        "`tests/test_fuzz.py` feeds hypothesis-made inputs to the public entry points (config",
        "loading, bump planning, `check`): versions in every PEP 440 spelling, random config",
        "tables and paths (globs, symlinks, absolute, NUL), odd pyproject files (comments,",
        "spacing, quoting, inline tables, CRLF, dynamic versions). Only `ReleaseError`s may",
        "escape; every bump is valid and greater and keeps the repository's style; a bump",
        "changes exactly the version bytes. The suite runs a small derandomized profile;",
        "`nox -s fuzz` runs the deep one (`HYPOTHESIS_PROFILE=deep`).",
    ]
    return "\n".join(lines) + "\n"


# --- the lab: a small release built once, indexes behind a proxy, the canary everywhere -------

@dataclass(frozen=True)
class Seen:
    """What the user saw: the exit code, the line that matters, everything printed."""

    exit: int
    line: str
    output: str


@dataclass
class Lab:
    repo: Path
    dist: Path
    proxy: FaultProxy
    testpypi: LocalIndex
    pypi: LocalIndex
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    caplog: pytest.LogCaptureFixture
    outputs: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        manifest = Manifest.load(self.dist / "core-0.4.2" / "manifest.json")
        return manifest.files()

    def values(self) -> dict[str, str]:
        """The variables that point the sessions at the stand-ins (TestPyPI behind the proxy)."""
        values = canary_env()
        for prefix, index, via in (("TESTPYPI", self.testpypi, self.proxy.translate),
                                   ("PYPI", self.pypi, str)):
            values.update({f"{prefix}_UPLOAD_URL": via(index.upload_url),
                           f"{prefix}_SIMPLE_URL": via(index.simple_url),
                           f"{prefix}_JSON_URL": via(index.json_api),
                           f"{prefix}_USERNAME": index.username, f"{prefix}_TOKEN": CANARY})
        return values

    def session(self, name: str, *args: str) -> Seen:
        """Run a nox session's code in this process, as nox does; return what was seen."""
        code = getattr(sessions, name)(["--repo", str(self.repo), "--dist", str(self.dist),
                                        *FAST, *args])
        out = self.capsys.readouterr()
        self.outputs += [out.out, out.err, self.caplog.text]  # RELEASE_DEBUG=1: every log line
        assert "Traceback" not in out.out + out.err
        errors = [ln for ln in out.err.splitlines() if ln.startswith("error: ")]
        assert len(errors) == (1 if code else 0), out.err
        return Seen(code, errors[0] if errors else out.out, out.out + out.err)

    def listed(self) -> dict[str, str | None]:
        client = IndexClient(self.testpypi.simple_url)
        return {f.filename: f.sha256 for name in ("skyline-core", "skyline")
                for f in client.files(name)}

    def ours(self) -> dict[str, str]:
        return {p.name: sha256_of(p) for p in self.files}

    def record(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            (self.repo / ".release" / "core-0.4.2.json").read_text())
        return data

    def step(self, name: str) -> dict[str, Any]:
        step: dict[str, Any] = self.record()["steps"][name]
        return step

    def completes(self) -> Seen:
        """The rerun, once the fault is gone: uploaded, verified, every file ours."""
        self.proxy.faults.clear()
        seen = self.session("testpypi")
        assert seen.exit == 0, seen.output[-3000:]
        assert "result: ok" in seen.output
        assert self.listed() == self.ours()
        assert self.step("testpypi-upload")["status"] == "done"
        assert self.step("testpypi-verify")["status"] == "done"
        assert "twine upload" in self.caplog.text or "done before" in seen.output  # logs seen
        return seen


@pytest.fixture
def lab(built_mini: Path, devpi: LocalDevpi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[Lab]:
    devpi.start()
    proxy = FaultProxy(devpi.url)
    with proxy.running():
        lab = Lab(mini_copy(built_mini, tmp_path), built_mini.parent / "dist", proxy,
                  canary_index(devpi, "testpypi"), canary_index(devpi, "pypi"), monkeypatch,
                  capsys, caplog)
        caplog.set_level(logging.DEBUG, logger="release")
        # release's logs do not propagate (nox must not print them): hear them directly
        logging.getLogger("release").addHandler(caplog.handler)
        for name, value in {**lab.values(), "RELEASE_DEBUG": "1"}.items():
            monkeypatch.setenv(name, value)
        ACTIVE.append(lab)
        try:
            yield lab
        finally:
            ACTIVE.remove(lab)
            logging.getLogger("release").removeHandler(caplog.handler)


ACTIVE: list[Lab] = []  # the lab of the running scenario, for the leak check


# --- the scenarios, one per row ----------------------------------------------------------------

Scenario = Callable[[pytest.FixtureRequest], Seen]
SCENARIOS: dict[str, Scenario] = {}


def scenario(fault_id: str) -> Callable[[Scenario], Scenario]:
    assert fault_id in BY_ID, fault_id

    def register(func: Scenario) -> Scenario:
        SCENARIOS[fault_id] = func
        return func

    return register


UPLOAD = {"method": "POST"}
SIMPLE = r"/\+simple/"


@scenario("index-down")
def _index_down(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    lab.proxy.down()
    seen = lab.session("testpypi")
    assert lab.listed() == {}
    assert lab.step("testpypi-upload")["status"] == "failed"
    assert "connection refused" in seen.line
    lab.proxy.up()
    lab.completes()
    return seen


@scenario("read-timeout")
def _read_timeout(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    lab.monkeypatch.setattr("release.publish.endpoints.IndexClient",
                            partial(IndexClient, timeout=0.5, retries=1))
    lab.proxy.add("stall", method="GET", pattern=SIMPLE, seconds=1.5, times=-1)
    seen = lab.session("testpypi")
    assert "no answer within 0.5 s (gave up after 2 attempts)" in seen.line
    assert lab.listed() == {}
    assert lab.step("testpypi-upload")["status"] == "failed"
    lab.completes()
    return seen


def _fails_at_file_two(request: pytest.FixtureRequest, action: str, there: int) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    lab.proxy.add(action, **UPLOAD, skip=1, times=-1)
    seen = lab.session("testpypi")
    assert seen.line.endswith("run the same command again to send the rest")
    assert len(lab.listed()) == there
    assert lab.listed().items() <= lab.ours().items()
    assert lab.step("testpypi-upload")["status"] == "failed"
    done = lab.completes()
    assert done.output.count("already on testpypi with the same sha256") == there
    assert f"upload {4 - there} file(s) to testpypi" in done.output
    return seen


@scenario("http-500")
def _http_500(request: pytest.FixtureRequest) -> Seen:
    seen = _fails_at_file_two(request, "status", there=1)
    assert "HTTPError: 500 Internal Server Error from http://127.0.0.1:" in seen.line
    return seen


@scenario("connection-reset")
def _connection_reset(request: pytest.FixtureRequest) -> Seen:
    seen = _fails_at_file_two(request, "reset", there=1)
    assert "Connection reset by peer" in seen.line
    return seen


@scenario("answer-lost")
def _answer_lost(request: pytest.FixtureRequest) -> Seen:
    return _fails_at_file_two(request, "lost", there=2)


def _impostor(wheel: Path, out: Path) -> Path:
    """Our wheel's name, other bytes (a file someone else published under that name)."""
    out.mkdir()
    target = out / wheel.name
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(target, "w") as copy:
        for item in source.infolist():
            copy.writestr(item, source.read(item))
        copy.comment = b"not ours"
    return target


@scenario("name-taken")
def _name_taken(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    twine_upload = request.getfixturevalue("twine_upload")
    tmp: Path = request.getfixturevalue("tmp_path")
    wheel = next(p for p in lab.files if p.name.startswith("skyline_core") and
                 p.suffix == ".whl")
    impostor = _impostor(wheel, tmp / "impostor")
    assert twine_upload(lab.testpypi, impostor).returncode == 0
    before = lab.listed()
    seen = lab.session("testpypi")
    assert seen.line.endswith("Nothing was uploaded.")
    assert lab.listed() == before == {wheel.name: sha256_of(impostor)}
    again = lab.session("testpypi")
    assert (again.exit, again.line) == (seen.exit, seen.line)
    assert lab.listed() == before
    return seen


@scenario("wrong-token")
def _wrong_token(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    devpi: LocalDevpi = request.getfixturevalue("devpi")
    real = canary_index(devpi, "realtoken", password="the-real-token-1234")
    lab.testpypi = real
    for name, value in lab.values().items():
        lab.monkeypatch.setenv(name, value)  # the index wants another token than the canary
    seen = lab.session("testpypi")
    assert "HTTPError: 401 Unauthorized" in seen.line
    assert seen.line.endswith("check the token in TESTPYPI_TOKEN, then run the same command "
                              "again")
    assert lab.listed() == {}
    lab.monkeypatch.setenv("TESTPYPI_TOKEN", real.password)
    lab.completes()
    return seen


def _with_setting(request: pytest.FixtureRequest, name: str, value: str | None
                  ) -> tuple[Seen, bool]:
    """Run with one variable changed (None: unset): nothing is uploaded; set back, the same
    command completes. Returns what was seen and whether a record was written."""
    lab: Lab = request.getfixturevalue("lab")
    good = os.environ[name]
    if value is None:
        lab.monkeypatch.delenv(name)
    else:
        lab.monkeypatch.setenv(name, value)
    seen = lab.session("testpypi")
    assert lab.listed() == {}
    recorded = (lab.repo / ".release").exists()
    lab.monkeypatch.setenv(name, good)
    lab.completes()
    return seen, recorded


@scenario("no-credentials")
def _no_credentials(request: pytest.FixtureRequest) -> Seen:
    request.getfixturevalue("monkeypatch").delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)
    seen, _ = _with_setting(request, "TESTPYPI_TOKEN", None)
    return seen


@scenario("insecure-index")
def _insecure_index(request: pytest.FixtureRequest) -> Seen:
    seen, recorded = _with_setting(request, "TESTPYPI_UPLOAD_URL",
                                   "http://test.pypi.example.org/legacy/")
    assert not recorded  # refused before anything, the record included
    return seen


@scenario("slow-propagation")
def _slow_propagation(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    lab.proxy.faults.lag_after_upload = 1.2
    seen = lab.session("testpypi")
    assert seen.exit == 0, seen.output[-2000:]
    assert "all 4 files visible after" in seen.output
    waited = lab.record()["verifications"]["testpypi"]["waited"]
    assert waited >= 0.5
    assert lab.listed() == lab.ours()
    return Seen(seen.exit, next(ln for ln in seen.output.splitlines()
                                if ln.startswith("waiting for")), seen.output)


@scenario("propagation-deadline")
def _propagation_deadline(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    lab.proxy.faults.lag_after_upload = 60.0
    seen = lab.session("testpypi", "--wait", "1")
    assert "rerun to keep waiting, or raise the deadline with --wait" in seen.line
    assert lab.step("testpypi-upload")["status"] == "done"
    assert lab.step("testpypi-verify")["status"] == "failed"
    done = lab.completes()
    assert re.search(r"testpypi-upload: done before on http://\S+/, skipped", done.output)
    return seen


@scenario("fallback-higher")
def _fallback_higher(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    twine_upload = request.getfixturevalue("twine_upload")
    higher = request.getfixturevalue("higher_core")
    assert twine_upload(lab.pypi, *higher).returncode == 0  # PyPI is the fallback of TestPyPI
    seen = lab.session("testpypi")
    assert seen.exit == 0, seen.output[-2000:]
    report = lab.record()["verifications"]["testpypi"]
    assert report["pythons"][0]["packages"] == {"skyline": "ok", "skyline-core": "ok"}
    assert IndexClient(lab.pypi.simple_url).has_version("skyline-core", "99.0.0")
    return Seen(seen.exit, "result: ok", seen.output)


@pytest.fixture(scope="session")
def higher_core(built_mini: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """skyline-core 99.0.0, built from a commit of the same repository."""
    repo = tmp_path_factory.mktemp("higher") / "repo"
    shutil.copytree(built_mini, repo, symlinks=True)
    config = load(repo)
    apply_plan(config, plan_change(config, config.train("core"), "99.0.0"))
    git(repo, "commit", "-qam", "99")
    (manifest,) = build_trains(load(repo), [load(repo).train("core")],
                               out_dir=repo.parent / "dist", progress=lambda _: None)
    return [p for p in manifest.files() if p.name.startswith("skyline_core")]


KILL_BUMP = """
import os, signal, sys
kill_at = int(sys.argv[1])
replaced = []
real = os.replace
def replace(src, dst):
    if len(replaced) == kill_at:  # the temporary file is written, not yet renamed
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
    replaced.append(dst)
os.replace = replace
sys.argv = ["release-train", *sys.argv[2:]]
from release.cli import main
main()
"""


@scenario("killed-bump")
def _killed_bump(request: pytest.FixtureRequest) -> Seen:
    tmp: Path = request.getfixturevalue("tmp_path")
    repo = copy_example(tmp / "repo")
    config = load(repo)
    plan = plan_change(config, config.train("core"), part="minor")
    assert len(plan.edits) >= 6
    bump = ["--repo", str(repo), "bump", "--train", "core", "--part", "minor"]
    killed = subprocess.run([sys.executable, "-c", KILL_BUMP, "3", *bump], env=env(**canary_env()),
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    states = {}
    for edit in plan.edits:
        now = (repo / edit.path).read_text()
        assert now in (edit.old, edit.new), f"{edit.path} is half-written"
        states[edit.path] = "new" if now == edit.new else "old"
    assert list(states.values()).count("new") == 3
    strays = [p for p in repo.rglob(".*.tmp")]
    assert len(strays) == 1
    check = invoke("check", "--repo", str(repo), **canary_env())
    named = {str(e.path) for e in plan.edits if states[e.path] == "new"}
    for path in named:
        assert f"{path}:" in check.stderr
    for path in {str(e.path) for e in plan.edits} - named:
        assert f"{path}:" not in check.stderr
    first, line = check.stderr.strip().splitlines()[:2]
    assert re.fullmatch(r"error: \d+ disagreement\(s\):", first)
    # How to go on: restore what invoke check names, remove the stray file, bump again.
    git(repo, "checkout", "--", *named)
    for stray in strays:
        stray.unlink()
    again = invoke(*bump[2:], "--repo", str(repo), **canary_env())
    assert again.returncode == 0, again.stderr
    assert invoke("check", "--repo", str(repo)).returncode == 0
    assert leaks([killed.stdout, killed.stderr, check.stdout, check.stderr, again.stdout],
                 [repo]) == []
    return Seen(check.returncode, line, check.stderr)


@scenario("killed-upload")
def _killed_upload(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    running: list[subprocess.Popen[str]] = []
    lab.proxy.add("after", **UPLOAD, skip=1, hook=lambda: os.killpg(running[0].pid,
                                                                  signal.SIGKILL))
    argv = [str(BIN / "nox"), "-s", "testpypi", "-p", "3.11", "--", "--repo", str(lab.repo),
            "--dist", str(lab.dist), "--platform", "windows"]
    running.append(subprocess.Popen(argv, cwd=ROOT, env=env(**lab.values()), text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=True))
    output, _ = running[0].communicate(timeout=300)
    assert running[0].returncode == -signal.SIGKILL, output[-2000:]
    lab.outputs.append(output)
    assert len(lab.listed()) == 2
    assert lab.step("testpypi-upload")["status"] == "running"
    status = invoke("status", "--repo", str(lab.repo))
    assert "core 0.4.2: in progress" in status.stdout
    done = lab.completes()
    assert done.output.count("already on testpypi with the same sha256") == 2
    assert lab.step("testpypi-upload")["attempts"] == 2
    return Seen(done.exit, next(ln for ln in done.output.splitlines() if "already on" in ln),
                done.output)


def _with_origin(tmp: Path) -> tuple[Path, Path]:
    """A scratch example with a bare origin that has its main."""
    repo = copy_example(tmp / "repo")
    origin = tmp / "origin.git"
    git(tmp, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "-u", "origin", "main")
    return repo, origin


@scenario("push-rejected")
def _push_rejected(request: pytest.FixtureRequest) -> Seen:
    repo, origin = _with_origin(request.getfixturevalue("tmp_path"))
    assert invoke("bump", "--repo", str(repo), "--train", "core", "--part", "patch",
                  "--commit").returncode == 0
    assert invoke("tag", "--repo", str(repo), "--train", "core").returncode == 0
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'main is protected: pushes need a review' >&2\nexit 1\n")
    hook.chmod(0o755)
    remote_before = git(origin, "for-each-ref")
    local_before = git(repo, "for-each-ref")
    out = invoke("push", "--repo", str(repo), "--train", "core", **canary_env())
    assert "main is protected" in out.stderr
    assert git(origin, "for-each-ref") == remote_before
    assert git(repo, "for-each-ref") == local_before
    hook.unlink()
    again = invoke("push", "--repo", str(repo), "--train", "core")
    assert again.returncode == 0, again.stderr
    assert git(origin, "rev-parse", "v0.4.3^{commit}") == git(repo, "rev-parse", "HEAD")
    return Seen(out.returncode, out.stderr.strip(), out.stdout + out.stderr)


@scenario("tag-on-remote")
def _tag_on_remote(request: pytest.FixtureRequest) -> Seen:
    tmp: Path = request.getfixturevalue("tmp_path")
    repo, origin = _with_origin(tmp)
    other = tmp / "other"
    git(tmp, "clone", "-q", str(origin), str(other))
    git(other, "commit", "-q", "--allow-empty", "-m", "someone else's commit")
    git(other, "tag", "-a", "-m", "not ours", "v0.4.2")
    git(other, "push", "-q", "origin", "v0.4.2")
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    out = invoke("tag", "--repo", str(repo), "--train", "core", **canary_env())
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before
    assert invoke("bump", "--repo", str(repo), "--train", "core", "--part", "patch",
                  "--commit").returncode == 0
    again = invoke("tag", "--repo", str(repo), "--train", "core")
    assert again.returncode == 0 and "tagged v0.4.3" in again.stdout
    return Seen(out.returncode, out.stderr.strip(), out.stdout + out.stderr)


@scenario("dirty-tree")
def _dirty_tree(request: pytest.FixtureRequest) -> Seen:
    repo = copy_example(request.getfixturevalue("tmp_path") / "repo")
    readme = repo / "README.md"
    readme.write_text(readme.read_text() + "\nwork in progress\n")
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    out = invoke("tag", "--repo", str(repo), "--train", "core", **canary_env())
    assert "README.md (modified)" in out.stderr
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before
    git(repo, "stash", "-q")
    again = invoke("tag", "--repo", str(repo), "--train", "core")
    assert again.returncode == 0, again.stderr
    return Seen(out.returncode, out.stderr.strip(), out.stdout + out.stderr)


@scenario("disk-full-record")
def _disk_full_record(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    record = lab.repo / ".release" / "core-0.4.2.json"
    real = os.fsync
    kept: list[bytes] = []

    def fsync(fd: int) -> None:
        """The disk is full for the record once the upload is done: the write fails when it
        is flushed, as it does on a real full disk."""
        path = os.readlink(f"/proc/self/fd/{fd}")
        if f"/.release/.{record.name}." in path and '"uploaded"' in Path(path).read_text():
            kept.append(record.read_bytes())
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    lab.monkeypatch.setattr(os, "fsync", fsync)
    seen = lab.session("testpypi")
    lab.monkeypatch.setattr(os, "fsync", real)
    assert "No space left on device" in seen.line
    assert kept and record.read_bytes() == kept[0]  # the record as it was before that write
    assert json.loads(record.read_text())["steps"]["testpypi-upload"]["status"] == "running"
    assert sorted(p.name for p in record.parent.iterdir()) == [".gitignore", record.name]
    assert lab.listed() == lab.ours()  # the upload itself went through
    done = lab.completes()
    assert done.output.count("already on testpypi with the same sha256") == 4
    return seen


# --- issue 14 scenarios ------------------------------------------------------------------------

def _seen(out: subprocess.CompletedProcess[str]) -> Seen:
    """The one error line of a command (or its output when it succeeded)."""
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == (1 if out.returncode else 0), out.stderr
    return Seen(out.returncode, errors[0] if errors else out.stdout.strip(),
                out.stdout + out.stderr)


def _outside(tmp: Path) -> dict[Path, bytes]:
    """Every file under tmp/outside (what must never be written), with its bytes."""
    return {p: p.read_bytes() for p in sorted((tmp / "outside").rglob("*")) if p.is_file()}


@scenario("train-name-escapes")
def _train_name_escapes(request: pytest.FixtureRequest) -> Seen:
    tmp: Path = request.getfixturevalue("tmp_path")
    capsys: pytest.CaptureFixture[str] = request.getfixturevalue("capsys")
    repo = copy_example(tmp / "a" / "b" / "repo")
    victim = tmp / "a" / "x" / "victimdir-0.4.2"
    victim.mkdir(parents=True)
    (victim / "keep.txt").write_text("precious")
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("[tool.release.trains.extensions]",
                                                       '[tool.release.trains."../../x/victimdir"]'))
    git(repo, "commit", "-qam", "a train with a path for a name")
    out = invoke("check", "--repo", str(repo), **canary_env())
    for argv in (["notes", "--train", "../../x/victimdir"], ["status"]):
        assert invoke(*argv, "--repo", str(repo)).returncode == 2
    assert sessions.build(["--repo", str(repo), "--train", "../../x/victimdir"]) == 2
    assert "is not a plain name" in capsys.readouterr().err
    assert [p.name for p in victim.iterdir()] == ["keep.txt"]
    return _seen(out)


@scenario("symlink-out")
def _symlink_out(request: pytest.FixtureRequest) -> Seen:
    tmp: Path = request.getfixturevalue("tmp_path")
    capsys: pytest.CaptureFixture[str] = request.getfixturevalue("capsys")
    repo = copy_example(tmp / "repo")
    outside = tmp / "outside"
    (outside / "dist").mkdir(parents=True)
    (outside / "notes").mkdir()
    (outside / "file").write_text("not yours")
    (outside / "release.yml").write_text("not yours either")
    before = _outside(tmp)
    (repo / ".release").symlink_to(outside)
    out = invoke("notes", "--train", "core", "--repo", str(repo), **canary_env())
    (repo / ".release").unlink()
    # dist/ (nox -s build), release-notes/ (notes --commit), a workflow file (init-ci), and
    # a temporary name planted beside the notes: every one refused, nothing written outside.
    (repo / "dist").symlink_to(outside / "dist")
    (repo / "release-notes").symlink_to(outside / "notes")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "symlinks")
    assert sessions.build(["--repo", str(repo), "--train", "core"]) == 1
    assert "refusing to write" in capsys.readouterr().err
    notes = invoke("notes", "--train", "core", "--commit", "--repo", str(repo))
    assert notes.returncode == 1 and "refusing to write" in notes.stderr, notes.stderr
    git(repo, "rm", "-q", "release-notes", "dist")
    git(repo, "commit", "-qm", "no more symlinked dirs")
    (repo / ".release" / "notes").mkdir(parents=True)
    planted = repo / ".release" / "notes" / ".core-0.4.2.md.tmp"
    planted.symlink_to(outside / "file")
    assert invoke("notes", "--train", "core", "--repo", str(repo)).returncode == 0
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "release.yml").symlink_to(outside / "release.yml")
    ci = invoke("init-ci", "--force", "--repo", str(repo))
    assert ci.returncode == 1 and "refusing to write" in ci.stderr, ci.stderr
    assert _outside(tmp) == before
    return _seen(out)


HOLD_LOCK = """
import sys, time
from pathlib import Path
from release.lock import held
with held(Path(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@scenario("second-command")
def _second_command(request: pytest.FixtureRequest) -> Seen:
    tmp: Path = request.getfixturevalue("tmp_path")
    repo = copy_example(tmp / "repo")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(repo), "30"], cwd=ROOT,
                              env=env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        before = snapshot(repo)
        out = invoke("bump", "--repo", str(repo), "--train", "core", "--part", "patch",
                     RELEASE_LOCK_WAIT="0.5", **canary_env())
        assert f"pid {holder.pid} " in out.stderr
        assert snapshot(repo) == before
    finally:
        holder.kill()
        holder.wait()
    # Two bumps started together: one after the other, both counted, the train agrees.
    argv = [str(BIN / "invoke"), "bump", "--repo", str(repo), "--train", "core", "--part",
            "patch"]
    both = [subprocess.Popen(argv, cwd=ROOT, env=env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    assert [p.wait(timeout=120) for p in both] == [0, 0]
    assert invoke("check", "--repo", str(repo)).returncode == 0
    core = repo / "packages" / "skyline-core" / "pyproject.toml"
    assert 'version = "0.4.4"' in core.read_text()
    return _seen(out)


def _tree(repo: Path) -> dict[str, bytes]:
    """The working tree's files (git's own files left out: its index keeps stat times)."""
    return {k: v for k, v in snapshot(repo).items() if not k.startswith(".git/")}


@scenario("disk-full-bump")
def _disk_full_bump(request: pytest.FixtureRequest) -> Seen:
    from release.commands.versions import run_bump
    from release.errors import ReleaseError
    from release.versions import edits

    tmp: Path = request.getfixturevalue("tmp_path")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    repo = copy_example(tmp / "repo")
    before = _tree(repo)
    real = edits.write_atomic
    written: list[Path] = []

    def full_after_three(path: Path, text: str) -> None:
        if len(written) >= 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, text)
        written.append(path)

    def full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(edits, "write_atomic", full_after_three)
    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(ReleaseError) as failed:
        run_bump(repo, "core", "patch", None, dry_run=False, commit=True)
    monkeypatch.undo()
    line = f"error: {failed.value}"
    left = [p for p in _tree(repo) if _tree(repo)[p] != before[p]]
    assert len(left) == 3 and all(name in line for name in left), (left, line)
    git(repo, "checkout", "--", *left)
    assert _tree(repo) == before
    # With room for the rollback, the line says every file is back, and it is.
    written.clear()
    monkeypatch.setattr(edits, "write_atomic", full_after_three)
    with pytest.raises(ReleaseError, match=r"every file was rolled back \(checked byte"):
        run_bump(repo, "core", "patch", None, dry_run=False, commit=True)
    monkeypatch.undo()
    assert _tree(repo) == before
    assert git(repo, "log", "--oneline").count("\n") == 0  # nothing committed
    return Seen(1, line, line)


@scenario("large-file")
def _large_file(request: pytest.FixtureRequest) -> Seen:
    import time

    from release.versions.edits import line_changes
    from release.versions.plan import describe

    tmp: Path = request.getfixturevalue("tmp_path")
    repo = copy_example(tmp / "repo")
    big = repo / "docs" / "big.txt"
    big.write_text("pip install skyline-streaming==0.4.2\n" * 25_000)  # 920 KB
    assert 900_000 < big.stat().st_size < 950_000
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        '  { path = "compose.yaml"', '  { path = "docs/big.txt", search = '
        '"pip install skyline-streaming=={version}" },\n  { path = "compose.yaml"', 1))
    git(repo, "commit", "-qam", "a big occurrence file")
    config = load(repo)
    started = time.monotonic()
    plan = plan_change(config, config.train("core"), part="patch")
    shown = describe(plan, True)
    (edit,) = [e for e in plan.edits if e.path.name == "big.txt"]
    assert len(line_changes(edit)) == 25_000
    assert time.monotonic() - started < 1.0
    out = invoke("bump", "--repo", str(repo), "--train", "core", "--part", "patch",
                 "--dry-run", **canary_env())
    assert out.returncode == 0 and "docs/big.txt" in shown
    return Seen(0, next(ln for ln in out.stdout.splitlines() if "docs/big.txt:" in ln),
                out.stdout + out.stderr)


class _Loopback:
    """A tiny HTTP server on 127.0.0.1 whose handler the test writes (real sockets)."""

    def __init__(self, handle: Callable[[Any], None]) -> None:
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                handle(self)

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        class Quiet(http.server.ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the client hung up on a trickle: expected

        self.server = Quiet(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@scenario("url-backslash")
def _url_backslash(request: pytest.FixtureRequest) -> Seen:
    import requests

    lab: Lab = request.getfixturevalue("lab")
    seen_paths: list[str] = []

    def answer(handler: Any) -> None:
        seen_paths.append(handler.path)
        handler.send_response(204)
        handler.end_headers()

    server = _Loopback(answer)
    try:
        tricky = server.url.replace("http://", "http://evil\\@") + "/"
        # The connection, not only the check: requests really goes to "evil", not loopback.
        with pytest.raises(requests.ConnectionError):
            requests.get(tricky, timeout=2)
        assert requests.get(server.url + "/", timeout=2).status_code == 204
        assert seen_paths == ["/"]
        lab.monkeypatch.setenv("TESTPYPI_UPLOAD_URL", tricky)
        seen = lab.session("testpypi")
        from release.errors import ConfigError
        from release.publish.endpoints import require_secure

        with pytest.raises(ConfigError, match="backslash"):
            require_secure("http://evil\\@127.0.0.1:1/", "GITHUB_API_URL")
    finally:
        server.close()
    assert seen_paths == ["/"] and lab.listed() == {}
    return seen


@scenario("trickle")
def _trickle(request: pytest.FixtureRequest) -> Seen:
    import time

    lab: Lab = request.getfixturevalue("lab")

    def trickle(handler: Any) -> None:
        if handler.command == "POST":  # an upload: never answered
            time.sleep(30)
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        for _ in range(30):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(1)

    server = _Loopback(trickle)
    try:
        lab.monkeypatch.setenv("RELEASE_DEADLINE", "2")
        lab.monkeypatch.setenv("TESTPYPI_SIMPLE_URL", server.url + "/")
        started = time.monotonic()
        seen = lab.session("testpypi")
        assert time.monotonic() - started < 15
        # The upload never answered: the index lists nothing (a real, empty index), the
        # POST goes to the server that never answers.
        lab.monkeypatch.setenv("TESTPYPI_SIMPLE_URL", lab.proxy.translate(lab.testpypi.simple_url))
        lab.monkeypatch.setenv("TESTPYPI_UPLOAD_URL", server.url + "/")
        lab.monkeypatch.setenv("RELEASE_UPLOAD_DEADLINE", "3")
        started = time.monotonic()
        upload = lab.session("testpypi")
        assert time.monotonic() - started < 30
        assert upload.exit == 1 and "uploading 4 file(s) to" in upload.line
        assert "gave up after 3 s" in upload.line
    finally:
        server.close()
    assert lab.listed() == {}
    return seen


@scenario("listed-without-hash")
def _listed_without_hash(request: pytest.FixtureRequest) -> Seen:
    from release.publish.index import _files_from_json

    lab: Lab = request.getfixturevalue("lab")
    wheel = next(p for p in lab.files if p.name.startswith("skyline_core-")
                 and p.suffix == ".whl")

    def listing(handler: Any) -> None:
        if handler.path.endswith(".whl"):
            body = b"not our wheel"
        else:
            body = f'<a href="/files/{wheel.name}">{wheel.name}</a>'.encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    server = _Loopback(listing)
    try:
        lab.monkeypatch.setenv("TESTPYPI_SIMPLE_URL", server.url + "/")
        seen = lab.session("testpypi")
    finally:
        server.close()
    assert lab.listed() == {}

    class Answer:
        url = "http://127.0.0.1/simple/x/"

        @staticmethod
        def json() -> dict[str, Any]:
            return {"meta": {"api-version": "1.1"}, "files": [
                {"filename": "x-1.0.tar.gz", "url": "x-1.0.tar.gz", "hashes": {"sha256": "AB"}}]}

    (listed,) = _files_from_json(Answer(), Answer.url)  # type: ignore[arg-type]
    assert listed.sha256 == "ab"
    return seen


@contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """A directory no file can be created in, for real even as root: chattr +i (root ignores
    mode bits), else mode 555."""
    root = os.geteuid() == 0
    if root:
        if shutil.which("chattr") is None or subprocess.run(
                ["chattr", "+i", str(directory)], capture_output=True).returncode != 0:
            pytest.skip("running as root without chattr +i: no read-only directory here")
    else:
        directory.chmod(0o555)
    try:
        yield
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(directory)], check=True)
        else:
            directory.chmod(0o755)


@scenario("no-traceback")
def _no_traceback(request: pytest.FixtureRequest) -> Seen:
    from release.config import Train
    from release.record import load as load_record

    tmp: Path = request.getfixturevalue("tmp_path")
    repo = copy_example(tmp / "repo")
    pyproject = repo / "pyproject.toml"
    good = pyproject.read_text()
    pyproject.write_text('tool = "x"\n')  # a repo whose configuration is in release.toml
    (repo / "release.toml").write_text(good.replace("[tool.release", "[release"))
    out = invoke("check", "--repo", str(repo), **canary_env())
    (repo / "release.toml").unlink()
    pyproject.write_text(good)
    local = invoke("bump", "--repo", str(repo), "--train", "core", "--to", "0.5.0+local")
    assert local.returncode == 1 and "is a local version" in local.stderr, local.stderr
    assert invoke("check", "--repo", str(repo)).returncode == 0
    core = repo / "packages" / "skyline-core"
    with read_only(core):
        readonly = invoke("bump", "--repo", str(repo), "--train", "core", "--part", "patch")
    assert readonly.returncode == 1 and "Traceback" not in readonly.stderr, readonly.stderr
    [line] = [ln for ln in readonly.stderr.splitlines() if ln.startswith("error: ")]
    assert "rolled back" in line or "permitted" in line or "denied" in line, line
    assert invoke("check", "--repo", str(repo)).returncode == 0
    (repo / ".release").mkdir()
    (repo / ".release" / "core-0.4.2.json").write_text(
        '{"format": 2, "train": "core", "version": "0.4.2", "steps": {"bump": []}}')
    with pytest.raises(Exception, match="damaged release record") as damaged:
        load_record(repo, "core", "0.4.2")
    assert type(damaged.value).__name__ == "ReleaseError"
    status = invoke("status", "--repo", str(repo))
    assert "Traceback" not in status.stderr
    train = Train(name="core", kind="python", tag_format="v{version}", packages=())
    assert train.tag("v0.4.3") == "v0.4.3" and train.tag("0.4.3") == "v0.4.3"
    return _seen(out)


# --- issue 14, second part ---------------------------------------------------------------------

SUB_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "skyline-sub"
version = "0.4.2"
description = "a package of the core train that lives in a git submodule"
"""


def _package(where: Path, name: str) -> Path:
    module = where / name.replace("-", "_")
    module.mkdir(parents=True)
    (module / "__init__.py").write_text('"""A package."""\n')
    (where / "pyproject.toml").write_text(SUB_PYPROJECT.replace("skyline-sub", name))
    return where


@scenario("submodule")
def _submodule(request: pytest.FixtureRequest) -> Seen:
    from release.worktrees import clean_worktree

    tmp: Path = request.getfixturevalue("tmp_path")
    capsys: pytest.CaptureFixture[str] = request.getfixturevalue("capsys")
    built: Path = request.getfixturevalue("built_mini")
    sub = init_repo(_package(tmp / "sub", "skyline-sub"))
    repo = mini_copy(built, tmp)
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub),
        "packages/skyline-sub")
    git(repo, "commit", "-qm", "skyline-sub in a submodule")
    shutil.rmtree(sub)  # nothing is fetched: the superproject's own copy is enough
    # The clean worktree holds the submodule, at the commit the superproject records.
    with clean_worktree(repo, "HEAD") as tree:
        assert (tree / "packages/skyline-sub/skyline_sub/__init__.py").is_file()
    config = load(repo)
    assert "skyline-sub" in {p.name for p in config.train("core").packages}
    # A clone where it was never initialised: refused, naming it, before any build.
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True, env=env())
    assert sessions.build(["--repo", str(clone), "--out", str(tmp / "out")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and not (tmp / "out").exists()
    seen = Seen(1, next(ln for ln in err.splitlines() if ln.startswith("error: ")), err)
    # A package directory the commit lacks is named, never silently left out.
    _package(repo / "packages" / "skyline-new", "skyline-new")
    assert sessions.build(["--repo", str(repo), "--out", str(tmp / "out")]) == 1
    err = capsys.readouterr().err
    assert "would leave out skyline-new (packages/skyline-new)" in err, err
    return seen


def _proc_state(pid: int) -> str | None:
    """A process's state letter (None: gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _devpi_serving(data: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(a.endswith(b"devpi-server") for a in argv[:2]) and \
                    str(data).encode() in argv and _proc_state(int(entry.name)) != "Z":
                found.append(int(entry.name))
    return found


@scenario("killed-rehearsal")
def _killed_rehearsal(request: pytest.FixtureRequest) -> Seen:
    import secrets
    import time

    tmp: Path = request.getfixturevalue("tmp_path")
    devpi: LocalDevpi = request.getfixturevalue("devpi")
    built: Path = request.getfixturevalue("built_mini")
    source = mini_copy(built, tmp)
    ws = tmp / "ws"
    killed = subprocess.Popen(rehearse_argv(source, ws), cwd=ROOT, env=env(**canary_env()),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not _devpi_serving(ws / "devpi" / "data") and time.monotonic() < deadline:
        time.sleep(0.05)  # 2 s from the start, and not before its server runs
    time.sleep(max(0.0, 2.0 - (30 - (deadline - time.monotonic()))))
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    orphans = _devpi_serving(ws / "devpi" / "data")
    assert orphans, "the killed rehearsal left no devpi-server behind"
    again = subprocess.run(rehearse_argv(source, ws), cwd=ROOT, env=env(**canary_env()),
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert all(_proc_state(pid) in (None, "Z") for pid in orphans)
    assert _devpi_serving(ws / "devpi" / "data") == []
    # Creating a user and its index twice is no error (a kill between the two, or after).
    password = secrets.token_hex(16)
    first = devpi.ensure_index("twice", "twice-user", password)
    second = devpi.ensure_index("twice", "twice-user", password)
    # The same index and user; the login token is issued anew (it carries its time).
    assert (second.name, second.username, second.url) == (first.name, first.username, first.url)
    assert second.token and first.token
    line = next(ln for ln in again.stdout.splitlines() if ln.startswith("rehearsal passed"))
    return Seen(0, line, again.stdout + again.stderr)


def _scratch(request: pytest.FixtureRequest, source: Path) -> tuple[Path, dict[str, str]]:
    """A scratch clone of source with a bare origin, and two fresh indexes (the canary is
    the token they accept)."""
    tmp: Path = request.getfixturevalue("tmp_path")
    server: LocalDevpi = request.getfixturevalue("server")
    return scratch_clone(tmp, source), canary_indexes(server)


def _release(repo: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return release_train("--repo", str(repo), "release", *args, *FAST, **extra)


@scenario("killed-build")
def _killed_build(request: pytest.FixtureRequest) -> Seen:
    built: Path = request.getfixturevalue("built_mini")
    repo, values = _scratch(request, built)
    killed = _release(repo, "--part", "rc", RELEASE_KILL_AFTER="build:core", **values)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-2000:]
    record = repo / ".release" / "core-0.4.3rc1.json"
    data = json.loads(record.read_text())
    assert data["steps"]["build"]["status"] == "running" and data["artifacts"]
    # The rebuild makes other bytes (setuptools sdists are not reproducible): stand in for
    # that by giving the killed build's record other hashes than the rebuild will make.
    for artifact in data["artifacts"]:
        artifact["sha256"] = "0" * 64
    record.write_text(json.dumps(data))
    again = _release(repo, "--part", "rc", **values)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "release a new version" not in again.stdout + again.stderr
    done = json.loads(record.read_text())
    assert all(a["sha256"] != "0" * 64 for a in done["artifacts"])
    uploaded = done["steps"]["testpypi-upload"]["outputs"]["uploaded"]
    assert sorted(uploaded) == sorted(a["filename"] for a in done["artifacts"])
    assert len(uploaded) == 4
    line = next(ln for ln in again.stdout.splitlines() if "earlier build" in ln)
    return Seen(0, line, again.stdout + again.stderr)


@scenario("copy-fails")
def _copy_fails(request: pytest.FixtureRequest) -> Seen:
    tmp: Path = request.getfixturevalue("tmp_path")
    built: Path = request.getfixturevalue("built_mini")
    outer = tmp / "outer"
    outer.mkdir()
    (outer / "README").write_text("a repository with the project below it\n")
    shutil.copytree(built, outer / "project", ignore=shutil.ignore_patterns(".git"))
    init_repo(outer)
    project = outer / "project"
    (project / "docs").mkdir()
    (project / "docs" / "latest").symlink_to("no-such-file")  # dangling: copied as it is
    os.mkfifo(project / "pipe")
    ws = tmp / "ws"
    out = subprocess.run(rehearse_argv(project, ws), cwd=ROOT, env=env(**canary_env()),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1
    (project / "pipe").unlink()
    again = subprocess.run(rehearse_argv(project, ws), cwd=ROOT, env=env(**canary_env()),
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "not a git repository" not in again.stdout + again.stderr
    assert (ws / "repo" / "docs" / "latest").is_symlink()
    return _seen(out)


@scenario("damaged-records")
def _damaged_records(request: pytest.FixtureRequest) -> Seen:
    repo, values = _scratch(request, EXAMPLE)
    killed = _release(repo, "--part", "rc", RELEASE_KILL_AFTER="testpypi-upload",
                           **values)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-2000:]
    records = sorted((repo / ".release").glob("*.json"))
    assert [p.name for p in records] == ["core-0.4.3rc1.json", "extensions-1.2.1rc1.json"]
    kept = {p: p.read_bytes() for p in records}
    for path, data in kept.items():
        path.write_bytes(data[:len(data) // 2])
    tags = git(repo, "tag")
    listed = IndexClient(values["TESTPYPI_SIMPLE_URL"]).files("skyline-core")
    again = _release(repo, "--part", "rc", **values)
    assert again.returncode == 1 and "KeyError" not in again.stderr
    assert git(repo, "tag") == tags
    assert IndexClient(values["TESTPYPI_SIMPLE_URL"]).files("skyline-core") == listed
    for path, data in kept.items():
        path.write_bytes(data)
    done = _release(repo, "--part", "rc", **values)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "testpypi-upload: done before" in done.stdout
    assert git(repo, "tag") == tags
    return _seen(again)


@scenario("record-edited")
def _record_edited(request: pytest.FixtureRequest) -> Seen:
    lab: Lab = request.getfixturevalue("lab")
    first = lab.session("testpypi")
    assert first.exit == 0, first.output[-3000:]
    record = lab.repo / ".release" / "core-0.4.2.json"
    data = json.loads(record.read_text())
    data["artifacts"][0]["sha256"] = "f" * 64
    record.write_text(json.dumps(data))
    seen = lab.session("testpypi")
    assert "hash mismatch: the record has " + "f" * 64 in seen.line
    assert lab.listed() == lab.ours()
    return seen


@scenario("versions-in-text")
def _versions_in_text(request: pytest.FixtureRequest) -> Seen:
    from release.commands.status import run_check
    from release.commands.versions import run_bump

    tmp: Path = request.getfixturevalue("tmp_path")
    repo = copy_example(tmp / "repo")
    spots = {path: text for path, text in _tree(repo).items()}
    run_bump(repo, "core", None, "1!0.5.0", dry_run=False)
    line = run_check(repo, None).splitlines()[-1]
    changed = [p for p, text in _tree(repo).items() if text != spots[p]]
    assert {"docs/install.md", "compose.yaml"} <= set(changed)
    assert b"skyline-streaming==1!0.5.0" in (repo / "docs/install.md").read_bytes()
    git(repo, "commit", "-qam", "epoch")
    run_bump(repo, "core", "patch", None, dry_run=False)
    assert "core 1!0.5.1" in run_check(repo, None)
    git(repo, "checkout", "-q", "--", ".")
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    run_bump(repo, "core", None, "0.5.0.RC1", dry_run=False)
    assert b"skyline:0.5.0.RC1" in (repo / "compose.yaml").read_bytes()
    assert "core 0.5.0.RC1" in run_check(repo, None)
    git(repo, "commit", "-qam", "upper-case rc")
    for part, now in (("rc", "0.5.0.RC2"), ("release", "0.5.0")):
        run_bump(repo, "core", part, None, dry_run=False)
        assert f"core {now}," in run_check(repo, None)
        git(repo, "commit", "-qam", part)
    return Seen(0, line, line)


@pytest.mark.parametrize("fault", FAULTS, ids=[f.id for f in FAULTS])
def test_fault(fault: Fault, request: pytest.FixtureRequest) -> None:
    seen = SCENARIOS[fault.id](request)
    assert seen.exit == fault.exit, seen.output[-3000:]
    assert "\n" not in seen.line
    assert shows(seen.line, fault.message), f"{seen.line!r} is not {fault.message!r}"
    assert "Traceback" not in seen.output
    # Nothing leaked: output, records, logs, every file the release touched.
    for lab in ACTIVE:
        assert leaks([*lab.outputs, seen.output], [lab.repo, lab.dist]) == []
    tmp: Path = request.getfixturevalue("tmp_path")
    assert leaks([seen.output], [tmp]) == []


def test_every_fault_has_its_scenario() -> None:
    assert set(SCENARIOS) == set(BY_ID)
    assert len(FAULTS) >= 13


def test_docs_show_the_fault_matrix() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), \
        "docs/faults.md is stale: run python -m tests.test_faults"


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}")
