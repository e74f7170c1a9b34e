"""The fault matrix's table: each row is what goes wrong during a release, what the user
sees, what is left, how to go on; docs/faults.md is this table rendered (`python -m
tests.faults.table` writes it, tests/faults/test_matrix.py keeps the two equal)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.helpers.repos import ROOT

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
    Fault("damaged-records", "the release record is truncated after the tag and the "
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


# docs/faults.md: these lines, the table, then the notes below it.
HEADER = (
    "# What happens when things go wrong",
    "",
    "The promise: a release either completes, or stops with one clear line and can be",
    "resumed; nothing published is ever lost or silently replaced; no secret ever leaks.",
    "",
    "Each row is a test in `tests/faults/test_matrix.py` (`test_fault[<id>]`), run against",
    "real parts: devpi-server behind a fault-injecting proxy, real git, real builds and",
    "installs, with a canary token in every credential variable that must never show up",
    "anywhere. This page is generated from the tests' table (`python -m tests.faults.table`)",
    "and a test fails when the two differ.",
    "",
    "| id | fault | what the user sees | what state remains | how to go on |",
    "|---|---|---|---|---|",
)
NOTES = (
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
    "runs several failures (an index and an API quoting the token back, credentials in an",
    "index or git URL, a build printing its environment) with the canary in every",
    "credential variable, and the testpypi/pypi/verify sessions with the canary as the token",
    "the indexes accept; the full rehearsal of the example (`tests/pipeline/test_release.py`)",
    "and the releases killed and resumed (`tests/pipeline/test_resume.py`, the",
    "killed-rehearsal row above) run with the canary too. Each then searches every output",
    "and every file left behind for it.",
    "",
    "Credentials are on no command line: `tests/test_secrets.py` samples every",
    "process's `/proc/<pid>/cmdline` while a rehearsal runs (uv installing, twine",
    "uploading) and reads devpi-server's `/proc/<pid>/environ`: neither the canary nor",
    "the local indexes' passwords, and no credential variable, show up.",
    "",
    "## Kills and confinement",
    "",
    "`tests/pipeline/test_resume.py` (slow) kills `release-train release` on the example at",
    "random moments within the measured duration of a release (SIGKILL to the process group;",
    "once in the suite, 20 times under `nox -s fuzz`, `RELEASE_KILLS` sets the number; the",
    "seed is printed, `RELEASE_KILL_SEED` repeats it); every rerun completes, devpi's own log",
    "shows each file stored on each index exactly once, and the canary is in no output or",
    "file. `tests/pipeline/test_release.py` kills the release once after every stage.",
    "`tests/pipeline/test_resume.py` also runs a full rehearsal with an audit hook",
    "(`tests/audit/sitecustomize.py` on `PYTHONPATH`) in every Python process: each `open`",
    "for writing, rename, replace, mkdir, remove and copy target lies inside the workspace",
    "(the scratch repository included), the cache or the run's temporary directory, and the",
    "rehearsed repository is only read. Non-Python children (git, uv) and processes whose",
    "environment release-train scrubs of `PYTHONPATH` (isolated build backends) are not seen",
    "by the hook; their targets are set by release-train (worktrees, build and output",
    "directories).",
    "",
    "## Fuzzing",
    "",
    "`tests/versions/test_fuzz.py` and `tests/test_fuzz_config.py` feed hypothesis-made",
    "inputs to the public entry points (config loading, bump planning, `check`): versions in",
    "every PEP 440 spelling, random config tables and paths (globs, symlinks, absolute, NUL),",
    "odd pyproject files (comments, spacing, quoting, inline tables, CRLF, dynamic versions).",
    "Only `ReleaseError`s may escape; every bump is valid and greater and keeps the",
    "repository's style; a bump changes exactly the version bytes. The suite runs a small",
    "derandomized profile; `nox -s fuzz` runs the deep one (`HYPOTHESIS_PROFILE=deep`).",
)


def render() -> str:
    """docs/faults.md, from FAULTS."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows = []
    for f in FAULTS:
        sees = f"`{f.command}` exits {f.exit}: `{f.message}`"
        rows.append(f"| {f.id} | {cell(f.fault)} | {cell(sees)} | {cell(f.state)} | "
                    f"{cell(f.go_on)} |")
    return "\n".join([*HEADER, *rows, *NOTES]) + "\n"


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}")
