"""The end-to-end release: resume after a kill at every stage boundary, the rehearsal (with the
canary in every credential variable), production rules, downstream pins, and the nox sessions
pointed at local devpi through the environment."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from release.pipeline import rehearsal
from release.pipeline.localindex import LocalDevpi
from release.publish.index import IndexClient
from release.record import STEPS
from tests.helpers import launcher
from tests.helpers.canary import canary_env, leaks
from tests.helpers.commands import FAST, ONE, PLATFORM, invoke, nox, release_train
from tests.helpers.dists import Upload, dists, uv_build, variant
from tests.helpers.indexes import fresh_index, fresh_indexes
from tests.helpers.repos import (
    BIN,
    ROOT,
    copy_example,
    git,
    interpreters_env,
    records,
    scratch_clone,
)

KILL_POINTS = ("preflight", "confirm", "bump", "commit", "gates", "tag", "push", "build",
               "testpypi-upload", "testpypi-verify", "pypi-upload", "pypi-verify", "downstream")


@pytest.mark.slow
def test_release_killed_at_every_stage_boundary_resumes_without_repeating(
        tmp_path: Path, values: dict[str, str]) -> None:
    repo = scratch_clone(tmp_path)
    base = ["--repo", str(repo), "release", "--part", "patch", *FAST]
    for point in KILL_POINTS:
        killed = release_train(*base, RELEASE_KILL_AFTER=point, **values)
        assert killed.returncode != 0, f"not killed after {point}: {killed.stdout[-500:]}"
        if point == "testpypi-upload":
            status = invoke("status", "--repo", str(repo))
            assert "core 0.4.3: in progress, next: testpypi-verify" in status.stdout
    done = release_train(*base, **values)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "release summary" in done.stdout
    found = records(repo)
    assert set(found) == {"core-0.4.3", "extensions-1.2.1"}
    for name, record in found.items():
        steps = record["steps"]
        assert isinstance(steps, dict)
        assert list(steps) == [s for s in STEPS if s in steps]
        assert all(step["status"] == "done" for step in steps.values()), name
        assert {s: step["attempts"] for s, step in steps.items()} == {s: 1 for s in steps}, name
    # Every file went to each index exactly once.
    for index in ("testpypi", "pypi"):
        uploaded = [f for r in found.values()
                    for f in r["steps"][f"{index}-upload"]["outputs"]["uploaded"]]  # type: ignore[index]
        assert len(uploaded) == len(set(uploaded)) == 28
    assert git(repo, "tag").split() == ["addon-v1.0.4", "extensions-v1.2.1", "v0.4.3"]
    assert "skyline-streaming==0.4.3" in (repo / "addon/Dockerfile").read_text()
    notes = (repo / ".release/notes/core-0.4.3.md").read_text()
    for package in ("skyline-core", "skyline", "skyline-streaming", "skyline-vision",
                    "skyline-vision-cuda"):
        assert f"{package}==0.4.3" in notes or f"{package} == 0.4.3" in notes, package
    assert "3.11" in notes
    # (f) every train done, every tag on origin, nothing left in the tree.
    status = invoke("status", "--repo", str(repo)).stdout
    assert "core 0.4.3: complete" in status and "extensions 1.2.1: complete" in status
    assert git(repo, "status", "--porcelain") == ""
    origin = repo.parent / "origin.git"
    assert git(origin, "tag").split() == ["addon-v1.0.4", "extensions-v1.2.1", "v0.4.3"]


@pytest.mark.slow
def test_the_rehearsal_is_the_release_command_on_local_indexes_and_shows_no_credential(
        tmp_path: Path) -> None:
    """`nox -s rehearse` on the example, with the canary in every credential variable and
    every command shown (RELEASE_DEBUG=1)."""
    workspace = tmp_path / "ws"
    out = nox("-s", "rehearse", "--", str(ROOT / "examples/monorepo"), "--workspace",
              str(workspace), "--part", "rc", *FAST, RELEASE_DEBUG="1", **canary_env())
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "release summary" in out.stdout and "rehearsal passed" in out.stdout
    records = list((workspace / "repo" / ".release").glob("*.json"))
    notes = list((workspace / "repo" / ".release" / "notes").glob("*.md"))
    assert len(records) == 2 and len(notes) == 2
    # The canary (in TWINE_PASSWORD, GITHUB_TOKEN, ...) nowhere: output, records, notes,
    # build logs, git objects, the index server's data and log.
    assert leaks([out.stdout, out.stderr], [workspace]) == []
    # The rehearsal's own credentials (the local indexes' passwords) are secrets too: only the
    # workspace's state file (0600) and devpi's data may hold them.
    state = json.loads((workspace / "state.json").read_text())
    assert (workspace / "state.json").stat().st_mode & 0o077 == 0
    for index in state["indexes"].values():
        assert leaks([out.stdout, out.stderr], [workspace / "repo", workspace / "origin.git",
                                                workspace / "devpi" / "devpi-server.log"],
                     secret=index["password"]) == []


@pytest.mark.slow
def test_a_stage_done_on_one_index_url_is_done_again_on_another(
        tagged: Path, server: LocalDevpi) -> None:
    """(a) testpypi against index A, then TESTPYPI_* pointed at index B: B gets every file."""
    a = rehearsal.index_env(fresh_indexes(server))
    b = {**a, **rehearsal.index_env({"testpypi": fresh_index(server, "testpypi-b")})}
    repo = ["--repo", str(tagged)]
    assert nox("-s", "build", "--", *repo).returncode == 0
    first = nox("-s", "testpypi", *ONE, "--", *repo, *PLATFORM, **a)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    again = nox("-s", "testpypi", *ONE, "--", *repo, *PLATFORM, **b)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "done before" not in again.stdout
    ours = {f["package"]: set() for m in tagged.glob("dist/*/manifest.json")
            for f in json.loads(m.read_text())["files"]}
    for m in tagged.glob("dist/*/manifest.json"):
        for f in json.loads(m.read_text())["files"]:
            ours[f["package"]].add(f["filename"])
    assert sum(len(v) for v in ours.values()) == 28
    for simple in (a["TESTPYPI_SIMPLE_URL"], b["TESTPYPI_SIMPLE_URL"]):
        client = IndexClient(simple)
        for package, names in ours.items():
            assert {f.filename for f in client.files(package)} == names, (simple, package)
    record = records(tagged)["core-0.4.2"]
    step = record["steps"]["testpypi-upload"]  # type: ignore[index]
    assert step["where"] == b["TESTPYPI_UPLOAD_URL"]
    assert [e["where"] for e in step["earlier"]] == [a["TESTPYPI_UPLOAD_URL"]]
    assert a["TESTPYPI_TOKEN"] not in json.dumps(record)


@pytest.mark.slow
def test_verify_with_nothing_uploaded_fails_at_once_naming_the_step(tagged: Path) -> None:
    """(c) no waiting for an index that was never sent anything."""
    started = time.monotonic()
    out = nox("-s", "verify", *ONE, "--", "--repo", str(tagged), *PLATFORM)
    assert time.monotonic() - started < 10
    assert out.returncode != 0
    assert "the release records show no upload to testpypi" in out.stderr
    assert "upload it first (nox -s testpypi)" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_sessions_given_together_stop_at_the_first_failure(tagged: Path) -> None:
    """(d) `nox -s build testpypi verify` with an unreachable index stops after testpypi."""
    out = nox("-s", "build", "testpypi", "verify", "--", "--repo", str(tagged),
              TESTPYPI_UPLOAD_URL="http://127.0.0.1:9/legacy/",
              TESTPYPI_SIMPLE_URL="http://127.0.0.1:9/simple/", TESTPYPI_TOKEN="tok-1234")
    assert out.returncode != 0
    assert "Ran 2 sessions" in out.stderr
    assert "* build: success" in out.stderr and "* testpypi-3.11: aborted" in out.stderr
    assert "Running session verify" not in out.stderr
    assert "error: " in out.stderr and "127.0.0.1:9" in out.stderr


@pytest.mark.slow
def test_an_rc_is_refused_for_pypi(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    assert invoke("bump", "--repo", str(repo), "--train", "core", "--to", "0.5.0rc1",
                  "--commit").returncode == 0
    assert invoke("tag", "--repo", str(repo), "--train", "core").returncode == 0
    assert nox("-s", "build", "--", "--repo", str(repo), "--train", "core").returncode == 0
    out = nox("-s", "pypi", *ONE, "--", "--repo", str(repo), "--train", "core", *PLATFORM,
              PYPI_UPLOAD_URL="http://127.0.0.1:9/", PYPI_SIMPLE_URL="http://127.0.0.1:9/s/")
    assert out.returncode == 1
    assert "error: core 0.5.0rc1 is a pre-release: it goes to TestPyPI only" in out.stderr


@pytest.mark.slow
def test_a_final_whose_files_differ_from_those_verified_is_refused(
        tagged: Path, values: dict[str, str]) -> None:
    repo = ["--repo", str(tagged)]
    assert nox("-s", "build", "--", *repo, **values).returncode == 0
    assert nox("-s", "testpypi", *ONE, "--", *repo, *PLATFORM, **values).returncode == 0
    # Rebuild: a different file now sits where the verified one was.
    wheel = next((tagged / "dist/extensions-1.2.0").glob("skyline_ext_ai-*.whl"))
    manifest_path = tagged / "dist/extensions-1.2.0/manifest.json"
    data = json.loads(manifest_path.read_text())
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    import hashlib

    for item in data["files"]:
        if item["filename"] == wheel.name:
            item["sha256"] = hashlib.sha256(wheel.read_bytes()).hexdigest()
            item["size"] = wheel.stat().st_size
    manifest_path.write_text(json.dumps(data))
    out = nox("-s", "pypi", *ONE, "--", *repo, *PLATFORM, **values)
    assert out.returncode == 1
    # Refused before anything is sent: the record no longer agrees with the manifest.
    assert f"{wheel.name}: hash mismatch: the record has" in out.stderr, out.stderr
    assert "published or verified files are never swapped" in out.stderr
    assert not IndexClient(values["PYPI_SIMPLE_URL"]).files("skyline-ext-ai")


def test_pin_downstream_before_verification_is_refused(tagged: Path) -> None:
    out = invoke("pin-downstream", "--repo", str(tagged), "--train", "addon")
    assert out.returncode == 1
    assert out.stderr.strip() == ("error: any core release has not passed PyPI verification (no "
                                  "release record shows it): publish and verify it first (nox -s "
                                  "pypi), then pin")
    assert "skyline-streaming==0.4.2" in (tagged / "addon/Dockerfile").read_text()


@pytest.mark.slow
def test_one_train_installs_back_with_another_trains_pins_from_where_they_are_published(
        tagged: Path, server: LocalDevpi, twine_upload: Upload,
        tmp_path: Path) -> None:
    """(e) core's bundles pin the extensions exactly: published on PyPI, they come from there;
    on neither index, one line names the package, version and the train to release first."""
    repo = ["--repo", str(tagged)]
    assert nox("-s", "build", "--", *repo).returncode == 0
    indexes = fresh_indexes(server)
    assert twine_upload(indexes["pypi"], *dists(tagged / "dist/extensions-1.2.0")).returncode == 0
    out = nox("-s", "testpypi", *ONE, "--", *repo, "--train", "core", *PLATFORM,
              **rehearsal.index_env(indexes))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "result: ok" in out.stdout
    assert not IndexClient(indexes["testpypi"].simple_url).files("skyline-ext-streaming")

    # A target that has another version of the pinned package does not hide production's.
    older = fresh_index(server, "testpypi-older")
    uv_build(variant(tmp_path, "extensions/skyline-ext-streaming", "1.2.0", "1.1.0", "old"),
             tmp_path / "old-dist")
    assert twine_upload(older, *dists(tmp_path / "old-dist")).returncode == 0
    out = nox("-s", "testpypi", *ONE, "--", *repo, "--train", "core", *PLATFORM,
              **rehearsal.index_env({"testpypi": older, "pypi": indexes["pypi"]}))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "result: ok" in out.stdout

    nowhere = {name: fresh_index(server, f"{name}-empty") for name in ("testpypi", "pypi")}
    out = nox("-s", "testpypi", *ONE, "--", *repo, "--train", "core", *PLATFORM,
              **rehearsal.index_env(nowhere))
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: skyline-streaming pins skyline-ext-streaming==1.2.0 (train extensions), which "
        f"is on neither {nowhere['testpypi'].simple_url} nor {nowhere['pypi'].simple_url}: "
        "release extensions first"]
    assert "uv" not in out.stderr.split()


# --- the headline, as users type it ---------------------------------------------------------

def user_nox(repo: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """`nox ARGS` typed in the repository, with the noxfile `invoke init-ci` writes."""
    return launcher.run("nox", args, cwd=repo, env=interpreters_env(**extra), timeout=900,
                        bin_dir=BIN)


def files_of(repo: Path, train: str, version: str) -> dict[str, dict[str, str]]:
    """package -> {filename: sha256} from the manifest of that build."""
    manifest = json.loads((repo / f"dist/{train}-{version}/manifest.json").read_text())
    found: dict[str, dict[str, str]] = {}
    for item in manifest["files"]:
        found.setdefault(item["package"], {})[item["filename"]] = item["sha256"]
    return found


def on_index(simple: str, packages: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    client = IndexClient(simple)
    return {p: {f.filename: f.sha256 for f in client.files(p)} for p in packages}


def last_table(stdout: str) -> dict[str, list[str]]:
    """The last platform table printed: platform -> its cells, in Python order."""
    start = stdout.rindex("\nplatforms on ")
    rows: dict[str, list[str]] = {}
    for line in stdout[start:].splitlines()[2:]:
        if not line.startswith("  ") or " / Python " in line:
            break
        name, *cells = line.split()
        rows[name] = " ".join(cells).replace("resolved only", "resolved-only").split()
    return rows


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    """The example as a user has it: tagged, with the generated one-import noxfile."""
    from release.scaffold import NOXFILE

    repo = copy_example(tmp_path / "repo")
    (repo / "noxfile.py").write_text(NOXFILE)
    git(repo, "add", "noxfile.py")
    git(repo, "commit", "-q", "-m", "noxfile")
    return repo


@pytest.mark.slow
def test_nox_lists_one_session_per_configured_python(user_repo: Path) -> None:
    listed = user_nox(user_repo, "-l")
    assert listed.returncode == 0, listed.stderr
    for name in ("testpypi", "pypi", "verify"):
        for python in ("3.11", "3.12", "3.13"):
            assert f" {name}-{python} -> " in listed.stdout
    assert " build -> " in listed.stdout and " report -> " in listed.stdout
    config = user_repo / "pyproject.toml"
    config.write_text(config.read_text().replace('pythons = ["3.11", "3.12", "3.13"]',
                                                 'pythons = ["3.12"]'))
    listed = user_nox(user_repo, "-l")
    assert " verify-3.12 -> " in listed.stdout and "verify-3.11" not in listed.stdout
    # From elsewhere, RELEASE_REPO names the repository whose Pythons count.
    elsewhere = subprocess.run([str(BIN / "nox"), "-f", str(user_repo / "noxfile.py"), "-l"],
                               cwd=ROOT, env=interpreters_env(RELEASE_REPO=str(user_repo)),
                               capture_output=True, text=True, timeout=120)
    assert " verify-3.12 -> " in elsewhere.stdout and "verify-3.13" not in elsewhere.stdout


@pytest.mark.slow
@pytest.mark.parametrize(("version", "sessions"), [
    ("final", ("build", "testpypi", "pypi", "verify")),
    ("rc", ("build", "testpypi", "verify")),  # nothing reaches production
])
def test_the_headline_as_typed(user_repo: Path, values: dict[str, str], version: str,
                               sessions: tuple[str, ...]) -> None:
    """`nox -s build testpypi [pypi] verify` in the repository, against two local devpi
    indexes: one upload per index, one session per Python, the platform table."""
    import itertools

    repo = user_repo
    if version == "rc":
        assert invoke("bump", "--repo", str(repo), "--train", "core", "--to", "0.5.0rc1",
                      "--commit").returncode == 0
    for train in ("core", "extensions"):
        assert invoke("tag", "--repo", str(repo), "--train", train).returncode == 0
    out = user_nox(repo, "-s", *sessions, **values)
    said = out.stdout[-4000:] + out.stderr[-4000:]
    assert out.returncode == 0, said
    assert values["PYPI_TOKEN"] not in out.stdout + out.stderr
    pythons = ("3.11", "3.12", "3.13")
    expected = ["build", *(f"{s}-{p}" for s in sessions[1:] for p in pythons)]
    ran = [line.split("* ", 1)[1].split(":")[0] for line in out.stderr.splitlines()
           if line.startswith("nox > * ")]
    assert ran == expected, said
    core = "0.5.0rc1" if version == "rc" else "0.4.2"
    ours = {**files_of(repo, "core", core), **files_of(repo, "extensions", "1.2.0")}
    assert on_index(values["TESTPYPI_SIMPLE_URL"], ours) == ours
    production = on_index(values["PYPI_SIMPLE_URL"], ours)
    if "pypi" in sessions:
        assert production == ours
    else:
        assert production == {p: {} for p in ours}
    record = records(repo)[f"core-{core}"]
    steps = record["steps"]
    assert isinstance(steps, dict)
    for index in ("testpypi", "pypi") if "pypi" in sessions else ("testpypi",):
        assert steps[f"{index}-upload"]["attempts"] == 1  # one upload, whatever the Pythons
        assert out.stdout.count(f"== {index}-upload: done before on") == 2
    target = "pypi" if "pypi" in sessions else "testpypi"
    assert out.stdout.count(f"verifying on {target} (") == 3
    table = last_table(out.stdout)
    assert table["x86_64-manylinux_2_28"] == ["installed+imported"] * 3
    for platform in ("windows", "macos", "aarch64-manylinux_2_28"):
        assert table[platform] == ["resolved-only"] * 3, table
    if version == "rc":
        return  # one Python at a time: the final's run below covers it
    # One Python at a time, as nox users do; --json writes the same table.
    again = user_nox(repo, "-s", "verify", "-p", "3.12", "--", "--json",
                     str(repo / "report.json"), **values)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    started = [ln for ln in again.stderr.splitlines() if "Running session" in ln]
    assert started == ["nox > Running session verify-3.12"], again.stderr
    report = json.loads((repo / "report.json").read_text())
    assert report["index"] == target and report["ok"] is True
    cells = {(r["platform"], r["python"]): r["check"] for r in report["rows"]}
    assert cells == {(p, v): "installed+imported" if p == "x86_64-manylinux_2_28"
                     else "resolved only" for p, v in itertools.product(
                         ("windows", "macos", "x86_64-manylinux_2_28",
                          "aarch64-manylinux_2_28"), pythons)}

