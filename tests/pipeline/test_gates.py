"""Issue 17, points 1, 2, 3 and 7 through the commands users type: validation gates and
manual checkpoints, version availability on the indexes, which trains changed, and the notes
that carry all of it. Real git, real devpi, a real PEP 503 page served on loopback."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from release.pipeline.localindex import LocalDevpi
from release.pipeline.rehearsal import index_env
from tests.helpers.commands import FAST, invoke, nox, release_train
from tests.helpers.dists import TinyDists, Upload
from tests.helpers.indexes import fresh_indexes
from tests.helpers.loopback import serving
from tests.helpers.repos import ROOT, copy_example, git, init_repo, records, scratch_clone

CHECKPOINT = "migrations squashed and approved"
GATED = "GATE_OK"  # the flaky check passes only when this is set


def configure(repo: Path, extra: str, train_extra: str = "") -> None:
    """Add top-level keys (and keys of the extensions train) to the example's config, commit."""
    path = repo / "pyproject.toml"
    text = path.read_text()
    text = text.replace('pythons = ["3.11", "3.12", "3.13"]\n',
                        f'pythons = ["3.11", "3.12", "3.13"]\n{extra}\n')
    if train_extra:
        head = "[tool.release.trains.extensions]\n"
        text = text.replace(head, f"{head}{train_extra}\n")
    path.write_text(text)
    git(repo, "commit", "-qam", "configure gates")


# --- point 1: gates ---------------------------------------------------------------------------

def test_invoke_gates_runs_the_example_checks_on_a_clean_worktree(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    (repo / "dirty.txt").write_text("trailing space \n")  # uncommitted: not what is released
    out = invoke("gates", "--repo", str(repo))
    assert out.returncode == 0, out.stderr
    assert "check: git diff --check" in out.stdout and "import skyline_core.cli" in out.stdout
    assert "ok: 2 check(s) passed on" in out.stdout
    logs = sorted((repo / ".release/logs").rglob("*.log"))
    assert len(logs) == 2 and logs[0].read_text().startswith("$ git diff --check")
    assert git(repo, "status", "--porcelain") == "?? dirty.txt"  # .release/ is ignored


def test_a_failing_gate_is_one_line_naming_the_command_and_its_log(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    configure(repo, 'before-build = [["python", "-c", "open(\'made.txt\', \'w\').write(\'x\')"]]',
              'checks = [["python", "-c", "import os, sys; print(\'made\', os.path.exists('
              '\'made.txt\')); sys.exit(3)"]]')
    out = invoke("gates", "--repo", str(repo), "--train", "extensions",
                 TESTPYPI_TOKEN="tok-secret-77")
    assert out.returncode == 1
    error = out.stderr.strip()
    assert error.count("\n") == 0 and error.startswith("error: gate failed: `python -c")
    assert "exited 3" in error and ".release/logs/gates-" in error
    log = repo / error.split("output is in ")[1].split(":")[0]
    assert "made True" in log.read_text()  # before-build prepared the same worktree
    assert "Traceback" not in out.stderr


def test_bad_gate_config_is_one_error_line(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    configure(repo, "", 'checks = ["git diff --check"]')
    out = invoke("gates", "--repo", str(repo))
    assert out.returncode == 2
    assert out.stderr.strip() == ("error: pyproject.toml: [tool.release.trains.extensions] "
                                  "checks must be a list "
                                  "of commands, each a non-empty list of strings "
                                  '(["git", "diff", "--check"])')


def test_ack_without_a_release_waiting_is_refused(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    configure(repo, f'confirm = ["{CHECKPOINT}"]')
    out = invoke("ack", CHECKPOINT, "--repo", str(repo))
    assert out.returncode == 1 and "no release in progress waits for" in out.stderr
    other = invoke("ack", "something else", "--repo", str(repo))
    assert other.stderr.strip() == (f'error: "something else" is not a checkpoint of this '
                                    f'release: "{CHECKPOINT}"')


@pytest.mark.slow
def test_release_waits_for_the_checkpoint_stops_at_a_failing_gate_and_resumes(
        tmp_path: Path, values: dict[str, str]) -> None:
    repo = scratch_clone(tmp_path)
    configure(repo, f'confirm = ["{CHECKPOINT}"]',
              'checks = [["python", "-c", "import os, sys; sys.exit(0 if os.environ.get('
              f'\'{GATED}\') else 4)"]]')
    git(repo, "push", "-q", "origin", "main")
    base = ["--repo", str(repo), "release", "--part", "rc", *FAST]
    waiting = release_train(*base, **values)
    assert waiting.returncode == 1
    assert waiting.stderr.strip() == (
        f'error: waiting for a manual checkpoint of extensions 1.2.1rc1: "{CHECKPOINT}"; once '
        f'done, run: release-train ack "{CHECKPOINT}", then the same release command again')
    acked = release_train("--repo", str(repo), "ack", CHECKPOINT)
    assert acked.returncode == 0, acked.stderr
    assert "acknowledged" in acked.stdout and "Release Tester <tester@example.invalid>" in \
        acked.stdout
    failed = release_train(*base, **values)
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: gate failed: `python -c") and "exited 4" in \
        failed.stderr
    assert git(repo, "tag") == ""  # stopped before the tag: nothing tagged, pushed, uploaded
    done = release_train(*base, **{**values, GATED: "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = records(repo)["core-0.4.3rc1"]
    gates = record["gates"]
    assert isinstance(gates, list)
    diff_runs = [g for g in gates if g["command"].startswith("git diff --check")]
    assert len(diff_runs) == 1 and diff_runs[0]["ok"]  # passed once, not run again
    flaky = [g["exit"] for g in gates if "GATE_OK" in g["command"]]
    assert flaky == [4, 0]
    assert values["TESTPYPI_TOKEN"] not in json.dumps(record)
    notes = (repo / ".release/notes/core-0.4.3rc1.md").read_text()
    assert "### Gates" in notes and "`git diff --check" in notes
    assert CHECKPOINT in notes and "Release Tester" in notes
    assert "has that version on testpypi" in notes
    assert "In short: 3 gate(s) passed; installed back from TestPyPI on Python 3.11" in notes
    assert "addon 1.0.3 (tag `addon-v1.0.3`) pins core at `addon/Dockerfile:5`" in notes


# --- point 2: version availability ----------------------------------------------------------

def tiny_repo(path: Path, version: str) -> Path:
    path.mkdir()
    (path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "rt-demo"\nversion = "{version}"\n\n'
        '[tool.release.trains.demo]\npackages = ["."]\n')
    return init_repo(path)


@pytest.mark.slow
def test_a_version_already_on_the_index_is_refused_before_anything_is_written(
        tmp_path: Path, server: LocalDevpi, tiny_dists: TinyDists,
        twine_upload: Upload) -> None:
    stand_ins = fresh_indexes(server)
    assert twine_upload(stand_ins["pypi"], tiny_dists.sdist).returncode == 0  # the sdist only
    env = index_env(stand_ins)
    repo = tiny_repo(tmp_path / "repo", "0.9.0")
    out = release_train("--repo", str(repo), "release", "--to", "1.0.0", *FAST, **env)
    assert out.returncode == 1
    assert out.stderr.strip() == (f"error: rt-demo 1.0.0 is already on pypi "
                                  f"({env['PYPI_SIMPLE_URL']}): that version is burnt; release "
                                  "the next one (invoke bump --train demo)")
    assert not (repo / ".release").exists() and git(repo, "status", "--porcelain") == ""
    assert git(repo, "log", "--format=%s") == "initial"
    pre = invoke("preflight", "--repo", str(repo), "--to", "1.0.0", **env)
    assert pre.returncode == 1 and "rt-demo 1.0.0 is already on pypi" in pre.stderr
    free = invoke("preflight", "--repo", str(repo), "--to", "1.0.1", **env)
    assert free.returncode == 0, free.stderr
    assert "ok: demo 1.0.1: none of its 1 package(s) has that version on testpypi" in free.stdout


@pytest.fixture
def pep503(tmp_path: Path) -> Iterator[str]:
    """A plain PEP 503 index (static HTML) served on loopback: rt-demo has 2.0.0."""
    page = tmp_path / "simple" / "rt-demo"
    page.mkdir(parents=True)
    (page / "index.html").write_text('<html><body><a href="../../files/rt_demo-2.0.0-py3-none-'
                                     'any.whl#sha256=00">rt_demo-2.0.0-py3-none-any.whl</a>'
                                     "</body></html>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Quiet) as url:
        yield f"{url}/simple/"


def test_availability_on_a_pep503_index_and_offline(tmp_path: Path, pep503: str) -> None:
    repo = tiny_repo(tmp_path / "repo", "1.9.0")
    down = "http://127.0.0.1:9/simple/"
    env = {"TESTPYPI_SIMPLE_URL": pep503, "PYPI_SIMPLE_URL": down}
    taken = invoke("preflight", "--repo", str(repo), "--to", "2.0", **env)
    assert taken.returncode == 1
    assert f"error: rt-demo 2.0 is already on testpypi ({pep503})" in taken.stderr
    offline = invoke("preflight", "--repo", str(repo), "--to", "2.0.1", **env)
    assert offline.returncode == 0, offline.stderr
    assert (f"warning: could not check whether demo 2.0.1 is free on pypi ({down}): cannot "
            "reach the index") in offline.stdout
    strict = invoke("preflight", "--repo", str(repo), "--to", "2.0.1",
                    "--require-index-check", **env)
    assert strict.returncode == 1 and strict.stderr.count("\n") == 1
    assert strict.stderr.startswith("error: could not check whether demo 2.0.1 is free on pypi")


# --- point 3: which trains changed ----------------------------------------------------------

@pytest.fixture
def released(tmp_path: Path) -> Path:
    """The example with every train's current version tagged."""
    repo = copy_example(tmp_path / "repo")
    for train in ("core", "extensions", "addon"):
        assert invoke("tag", "--repo", str(repo), "--train", train).returncode == 0
    return repo


def test_status_and_bump_follow_the_trains_that_changed(released: Path) -> None:
    repo = ["--repo", str(released)]
    status = invoke("status", *repo).stdout
    assert "  unchanged since v0.4.2" in status and "  unchanged since addon-v1.0.3" in status
    nothing = invoke("bump", *repo, "--part", "minor")
    assert nothing.returncode == 1
    assert nothing.stderr.strip() == ("error: no train changed since its last release tag: "
                                      "nothing to bump (--train T or --all to bump anyway)")
    source = released / "extensions/skyline-ext-ai/src/skyline_ext_ai/__init__.py"
    source.write_text(source.read_text() + "# a fix\n")
    git(released, "commit", "-qam", "fix(ai): a fix")
    status = invoke("status", *repo).stdout
    assert "  changed since extensions-v1.2.0: 1 commit(s), 1 file(s)" in status
    assert "fix(ai): a fix" in status and "extensions/skyline-ext-ai/src/skyline_ext_ai/" \
        "__init__.py" in status
    bumped = invoke("bump", *repo, "--part", "minor", "--commit")
    assert bumped.returncode == 0, bumped.stderr
    assert "bumping extensions; leaving core, addon as they are" in bumped.stdout
    assert "extensions: 1.2.0 -> 1.3.0" in bumped.stdout and "core: 0.4.2 ->" not in bumped.stdout
    # core's only change now is the pin the extensions release moved in its bundle.
    status = invoke("status", *repo).stdout
    assert ("  changed since v0.4.2 only by a moved pin: skyline-ext-ai==1.3.0, "
            "skyline-ext-streaming==1.3.0, skyline-ext-vision==1.3.0") in status
    dry = invoke("bump", *repo, "--part", "patch", "--dry-run").stdout
    assert "core: changed since v0.4.2 only by a moved pin" in dry
    assert "core: 0.4.2 -> 0.4.3" in dry and "addon: 1.0.3 ->" not in dry
    every = invoke("bump", *repo, "--part", "patch", "--all")
    assert every.returncode == 0, every.stderr
    for line in ("core: 0.4.2 -> 0.4.3", "extensions: 1.3.0 -> 1.3.1", "addon: 1.0.3 -> 1.0.4"):
        assert line in every.stdout
    assert invoke("check", *repo).returncode == 0


def test_one_train_repository_bumps_as_before(tmp_path: Path) -> None:
    repo = tiny_repo(tmp_path / "repo", "1.0.0")
    out = invoke("bump", "--repo", str(repo), "--part", "minor")
    assert out.returncode == 0 and out.stdout.startswith("demo: 1.0.0 -> 1.1.0")


# --- the rehearsal shows all of it ----------------------------------------------------------

@pytest.mark.slow
def test_the_rehearsal_runs_change_detection_availability_and_gates(tmp_path: Path) -> None:
    out = nox("-s", "rehearse", "--", str(ROOT / "examples/monorepo"), "--workspace",
              str(tmp_path / "ws"), "--part", "rc", *FAST)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for seen in ("core: no release tag yet", "== gates", "check: git diff --check",
                 "import skyline_core.cli, skyline.cli", "rehearsal passed"):
        assert seen in out.stdout, seen
    record = json.loads((tmp_path / "ws/repo/.release/core-0.4.3rc1.json").read_text())
    checks = record["steps"]["preflight"]["outputs"]["checks"]
    assert any("none of its 5 package(s) has that version on pypi" in c for c in checks)
