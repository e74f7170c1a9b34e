"""Release notes: the pure renderer on records made by release.record, and `invoke notes` on
scratch copies of the example (fragments, tags, commits, the record's notes step)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from release.announce.notes import read_fragments
from release.announce.render import Commit, Fragment, NotesError, render
from release.config import load
from release.errors import ReleaseError
from release.record import Record
from release.record import load as load_record
from tests.helpers.commands import invoke
from tests.helpers.repos import copy_example, git

SHA = "3f" * 32
DATE = "2024-05-01"
EPOCH = "1714521600"  # 2024-05-01T00:00:00Z


def verification(index: str, *, platform_ok: bool = True) -> dict[str, Any]:
    """A Report.to_json() as the verify step writes it."""
    return {
        "index": index, "releases": ["core 0.5.0"], "waited": 12.34, "ok": platform_ok,
        "pythons": [
            {"python": "3.11", "interpreter": "/opt/py/3.11.7/bin/python3.11", "ok": True,
             "seconds": 2.5, "packages": {"skyline": "ok"}, "error": ""},
            {"python": "3.13", "interpreter": "/opt/py/3.13.0/bin/python3.13", "ok": True,
             "seconds": 3.25, "packages": {"skyline": "ok"}, "error": ""},
        ],
        "platforms": [
            {"platform": "x86_64-manylinux_2_28", "python": "3.12", "ok": True,
             "detail": "skyline==0.5.0"},
            {"platform": "windows", "python": "3.12", "ok": platform_ok,
             "detail": "skyline==0.5.0" if platform_ok else "no matching distribution for "
                                                             "skyline-vision-cuda"},
        ],
        "pin_problems": [],
    }


def make_record(root: Path, *, verified: bool = True, platform_ok: bool = True) -> Record:
    """A record of core 0.5.0 written through the real module, as the pipeline writes it."""
    record = load_record(root, "core", "0.5.0")
    with record.running("build", {"ref": "v0.5.0"}) as out:
        out["files"] = 2
    record.set("tag", "v0.5.0")
    record.set("commit", "c0ffee" + "0" * 34)
    record.set("previous_tag", "v0.4.2")
    record.set("artifacts", [
        {"package": "skyline", "version": "0.5.0", "filename": "skyline-0.5.0.tar.gz",
         "kind": "sdist", "size": 2048, "sha256": SHA},
        {"package": "skyline", "version": "0.5.0", "filename": "skyline-0.5.0-py3-none-any.whl",
         "kind": "wheel", "size": 1024, "sha256": "ab" * 32},
    ])
    if verified:
        record.set("verifications", {"testpypi": verification("testpypi"),
                                     "pypi": verification("pypi", platform_ok=platform_ok)})
        record.set("indexes", {"testpypi": "https://test.pypi.org/simple/",
                               "pypi": "https://pypi.org/simple/"})
    return record


@pytest.fixture
def core(tmp_path: Path) -> Any:
    config = load(copy_example(tmp_path / "monorepo", with_git=False))
    return config.train("core")


def test_render_has_every_section_from_the_record(core: Any, tmp_path: Path) -> None:
    record = make_record(tmp_path)
    fragments = [Fragment("12", "feature", "Streams can be paused."),
                 Fragment("13", "breaking", "`--fps` is gone: use `--rate`."),
                 Fragment("+misc", "misc", "Faster start-up.")]
    commits = [Commit("a" * 40, "feat: pause streams")]
    text = render(core, "0.5.0", date=DATE, record=record.data, fragments=fragments,
                  commits=commits, since_tag="v0.4.2", rollback_tag="v0.4.2")
    assert text.startswith("# core 0.5.0 (2024-05-01)\n")
    assert "Tag `v0.5.0` on commit `c0ffee000000`. Previous release: `v0.4.2`." in text
    assert "- skyline-streaming == 0.5.0" in text
    assert "pip install --upgrade skyline-vision-cuda==0.5.0" in text
    breaking = text.split("## Breaking changes and upgrade steps")[1].split("##")[0]
    assert "- `--fps` is gone: use `--rate`. (#13)" in breaking
    assert "### Features\n\n- Streams can be paused. (#12)" in text
    assert "### Other changes\n\n- Faster start-up.\n" in text  # orphan: no reference
    assert "### Commits since v0.4.2\n\n- feat: pause streams (aaaaaaa)" in text
    assert "### TestPyPI: passed" in text and "### PyPI: passed" in text
    assert "| 3.13 | /opt/py/3.13.0/bin/python3.13 | ok | 3.2 s |" in text
    assert "| windows | 3.12 | ok |" in text
    assert "after 12.3 s" in text
    assert f"| skyline-0.5.0.tar.gz | sdist | 2048 | `{SHA}` |" in text
    assert "Not verified" not in text
    assert "## Known issues\n\nNone known." in text
    assert "pip install skyline==0.4.2" in text
    assert "yank it" in text and "0.5.0.post1" in text
    # Deterministic: the same inputs give the same bytes.
    assert text == render(core, "0.5.0", date=DATE, record=record.data, fragments=fragments,
                          commits=commits, since_tag="v0.4.2", rollback_tag="v0.4.2")


def test_render_without_verification_says_so(core: Any, tmp_path: Path) -> None:
    unverified = make_record(tmp_path, verified=False)
    text = render(core, "0.5.0", date=DATE, record=unverified.data)
    assert "**Not verified yet**: the release record holds no verification." in text
    assert f"`{SHA}`" in text  # what was built is still listed
    assert "## Breaking changes and upgrade steps\n\nNone." in text
    no_record = render(core, "0.5.0", date=DATE)
    assert "**Not verified yet**: no release record exists for this version." in no_record
    assert "No built files are recorded yet." in no_record
    assert "first release" in no_record and "pip uninstall skyline" in no_record


def test_failed_platform_is_a_known_issue(core: Any, tmp_path: Path) -> None:
    record = make_record(tmp_path, platform_ok=False)
    text = render(core, "0.5.0", date=DATE, record=record.data, rollback_tag="v0.4.2")
    issues = text.split("## Known issues")[1].split("## Rollback")[0]
    assert "- platform windows (Python 3.12) does not resolve from PyPI: no matching " \
           "distribution for skyline-vision-cuda" in issues
    assert "### PyPI: FAILED" in text


def test_a_pre_release_installs_from_testpypi_and_fixes_forward_with_the_next_rc(
        core: Any) -> None:
    text = render(core, "0.5.0rc1", date=DATE, rollback_tag="v0.4.2")
    assert "published on TestPyPI only" in text
    assert ("pip install --upgrade --index-url https://test.pypi.org/simple/ "
            "--extra-index-url https://pypi.org/simple/ skyline==0.5.0rc1") in text
    assert "fix forward with 0.5.0rc2" in text


def test_fragment_names(tmp_path: Path) -> None:
    changes = tmp_path / "changes"
    (changes / "core").mkdir(parents=True)
    (changes / "2.fix.md").write_text("Second.\n")
    (changes / "10.fix.md").write_text("Tenth.\n")
    (changes / "2.fix.1.md").write_text("Second, again.\n")
    (changes / "README.md").write_text("How to write fragments.\n")
    (changes / ".gitkeep").write_text("")
    (changes / "core" / "5.feature.md").write_text("Core only.\n")
    found = read_fragments(tmp_path, "core", several_trains=True)
    assert [(f.id, f.type, f.counter) for f in found] == [
        ("5", "feature", 0), ("2", "fix", 0), ("2", "fix", 1), ("10", "fix", 0)]
    assert [f.id for f in read_fragments(tmp_path, "extensions", several_trains=True)] == \
        ["2", "2", "10"]
    (changes / "7.feat.md").write_text("Typo in the type.\n")
    with pytest.raises(NotesError, match=r"changes/7\.feat\.md: unknown change type 'feat' "
                                         r"\(known: breaking, feature, fix"):
        read_fragments(tmp_path, "core", several_trains=False)


def test_invalid_version_is_refused(core: Any) -> None:
    with pytest.raises(ReleaseError, match="not a valid PEP 440 version"):
        render(core, "banana", date=DATE)


# --- through invoke -----------------------------------------------------------------------

@pytest.fixture
def history(tmp_path: Path) -> Path:
    """The example with v0.4.1 tagged, then a core change, an extensions change and a
    release commit, and fragments waiting in changes/."""
    repo = copy_example(tmp_path / "monorepo")
    git(repo, "tag", "-a", "v0.4.1", "-m", "core 0.4.1")
    (repo / "packages/skyline/NEWS").write_text("paused\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "feat: streams can pause")
    (repo / "extensions/skyline-ext-ai/NEWS").write_text("ai\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "fix(ext-ai): extensions only")
    git(repo, "commit", "-q", "--allow-empty", "-m", "chore(release): core 0.4.2")
    (repo / "changes").mkdir()
    (repo / "changes/21.feature.md").write_text("Streams can be paused.\n")
    (repo / "changes/22.breaking.md").write_text("`--fps` is gone.\nUse `--rate` instead.\n")
    return repo


def test_invoke_notes_writes_the_file_from_the_record(history: Path) -> None:
    record = load_record(history, "core", "0.4.2")
    record.set("verifications", {"pypi": verification("pypi")})
    record.set("artifacts", [{"package": "skyline", "version": "0.4.2", "kind": "sdist",
                              "filename": "skyline-0.4.2.tar.gz", "size": 10, "sha256": SHA}])
    journal = record.path.read_bytes()
    out = invoke("notes", "--repo", str(history), "--train", "core",
                 SOURCE_DATE_EPOCH=EPOCH)
    assert out.returncode == 0, out.stderr
    path = history / ".release" / "notes" / "core-0.4.2.md"
    assert out.stdout.strip() == str(path)
    text = path.read_text()
    assert text.startswith("# core 0.4.2 (2024-05-01)")
    assert "- feat: streams can pause (" in text
    assert "extensions only" not in text  # another train's commit
    assert "chore(release)" not in text
    assert "- `--fps` is gone.\n  Use `--rate` instead.\n  (#22)" in text
    assert "- Streams can be paused. (#21)" in text
    assert f"`{SHA}`" in text
    assert "pip install skyline==0.4.1" in text
    # The record only gains the notes step (status moves on); nothing else in it changes.
    after = load_record(history, "core", "0.4.2").data
    assert after["steps"].pop("notes")["status"] == "done"
    before = json.loads(journal)
    before.setdefault("steps", {})
    assert {k: v for k, v in after.items() if k != "updated"} == \
        {k: v for k, v in before.items() if k != "updated"}
    again = invoke("notes", "--repo", str(history), "--train", "core",
                   SOURCE_DATE_EPOCH=EPOCH)
    assert again.returncode == 0, again.stderr
    assert path.read_text() == text


def test_invoke_notes_for_another_train_and_version(history: Path) -> None:
    out = invoke("notes", "--repo", str(history), "--train", "extensions", "--version",
                 "1.3.0", SOURCE_DATE_EPOCH=EPOCH)
    assert out.returncode == 0, out.stderr
    text = (history / ".release" / "notes" / "extensions-1.3.0.md").read_text()
    assert "- skyline-ext-ai == 1.3.0" in text
    assert "fix(ext-ai): extensions only" in text and "streams can pause" not in text
    assert "**Not verified yet**: no release record exists" in text
    assert not list((history / ".release").glob("*.json"))  # a preview creates no record
    assert ".release" not in git(history, "status", "--porcelain")  # ignored: tree stays clean


def test_invoke_notes_refusals_are_one_line(history: Path) -> None:
    (history / "changes/23.feat.md").write_text("Typo.\n")
    out = invoke("notes", "--repo", str(history), "--train", "core")
    assert out.returncode == 1
    assert out.stderr.strip() == ("error: changes/23.feat.md: unknown change type 'feat' "
                                  "(known: breaking, feature, fix, deprecation, doc, misc)")
    (history / "changes/23.feat.md").unlink()
    several = invoke("notes", "--repo", str(history))
    assert several.returncode == 2  # a usage error, as from every command
    assert "choose a train with --train (core, extensions, addon)" in several.stderr
    assert "Traceback" not in out.stderr + several.stderr
