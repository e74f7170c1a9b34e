"""Bump: plan every file and line, apply all or nothing, keep each file's style."""

from __future__ import annotations

from pathlib import Path

import pytest

from release.commands.versions import run_bump
from release.config import load
from release.errors import ReleaseError
from release.versions import edits
from release.versions.agreement import problems
from release.versions.plan import apply_plan, plan_change
from tests.helpers.repos import snapshot, write

FILES = {
    "pyproject.toml": """
        [tool.release]
        [tool.release.trains.core]
        packages = ["core", "app", "bundle"]
        tag-format = "v{version}"
        occurrences = [{ path = "docs/install.md", search = "pip install bundle=={version}" }]
        [tool.release.trains.ext]
        packages = ["ext/*"]
        [tool.release.trains.addon]
        kind = "artifact"
        version = { path = "addon/config.yaml", search = 'version: "{version}"' }
        [[tool.release.trains.addon.pins]]
        train = "core"
        path = "addon/Dockerfile"
        search = "ARG SPEC=bundle=={version}"
    """,
    "core/pyproject.toml": """
        [project]
        name = "core"
        # the version, kept by release-train
        version = '0.4.2'   # literal string, trailing comment
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
    """,
    "core/src/core/__init__.py": '__version__ = "0.4.2"\n',
    "app/pyproject.toml": """
        [project]
        name = "app"
        dynamic = ["version"]
        dependencies = [
            "core == 0.4.2",  # spaced
            "ext-one>=1.0",
        ]
        [tool.hatch.version]
        path = "src/app/__init__.py"
    """,
    "app/src/app/__init__.py": '"""App."""\n\n__version__: str = "0.4.2"\n',
    "bundle/pyproject.toml": """
        [project]
        name = "bundle"
        dynamic = ["version"]
        dependencies = ["app==0.4.2", "core>=0.4,<1"]
        [project.optional-dependencies]
        ext = ["ext-one==1.0.0"]
        [dependency-groups]
        dev = ["core==0.4.2", {include-group = "other"}]
        other = []
        [tool.setuptools.dynamic]
        version = { attr = "bundle.about.__version__" }
    """,
    "bundle/src/bundle/__init__.py": "",
    "bundle/src/bundle/about.py": "__version__ = '0.4.2'\n",
    "ext/one/pyproject.toml": """
        [project]
        name = "ext-one"
        dynamic = ["version"]
        dependencies = ["core>=0.4"]
        [tool.setuptools.dynamic]
        version = { file = "VERSION" }
    """,
    "ext/one/VERSION": "1.0.0\n",
    "docs/install.md": "Install:\n\n    pip install bundle==0.4.2\n\nand ext-one==1.0.0.\n",
    "addon/config.yaml": 'name: addon\nversion: "2.1.0"\n',
    "addon/Dockerfile": "FROM python:3.12\nARG SPEC=bundle==0.4.2\nRUN pip install $SPEC\n",
}


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    return write(tmp_path, FILES)


def test_plan_lists_every_spot_of_the_train(mini: Path) -> None:
    config = load(mini)
    plan = plan_change(config, config.train("core"), part="minor")
    assert (plan.old.text, plan.new.text, plan.tag) == ("0.4.2", "0.5.0", "v0.5.0")
    changed = {(str(c.path), c.new.strip()) for c in plan.changes}
    assert changed == {
        ("core/pyproject.toml", "version = '0.5.0'   # literal string, trailing comment"),
        ("core/src/core/__init__.py", '__version__ = "0.5.0"'),
        ("app/pyproject.toml", '"core == 0.5.0",  # spaced'),
        ("app/src/app/__init__.py", '__version__: str = "0.5.0"'),
        ("bundle/pyproject.toml", 'dependencies = ["app==0.5.0", "core>=0.4,<1"]'),
        ("bundle/pyproject.toml", 'dev = ["core==0.5.0", {include-group = "other"}]'),
        ("bundle/src/bundle/about.py", "__version__ = '0.5.0'"),
        ("docs/install.md", "pip install bundle==0.5.0"),
    }


def test_apply_changes_exactly_the_plan_and_check_passes(mini: Path) -> None:
    before = snapshot(mini)
    run_bump(mini, "core", "minor", None, dry_run=False)
    after = snapshot(mini)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"core/pyproject.toml", "core/src/core/__init__.py", "app/pyproject.toml",
                       "app/src/app/__init__.py", "bundle/pyproject.toml",
                       "bundle/src/bundle/about.py", "docs/install.md"}
    assert "ARG SPEC=bundle==0.4.2" in (mini / "addon/Dockerfile").read_text()  # published pin
    assert problems(load(mini)) == []
    # Only the version characters changed in each file.
    for rel in changed:
        old, new = before[rel].decode(), after[rel].decode()
        assert old.replace("0.4.2", "0.5.0") == new, rel


def test_dry_run_writes_nothing(mini: Path) -> None:
    before = snapshot(mini)
    out = run_bump(mini, "core", "minor", None, dry_run=True)
    assert "would change (dry run: nothing written)" in out
    assert "core/pyproject.toml:4" in out
    assert snapshot(mini) == before


def test_other_trains_bump_alone(mini: Path) -> None:
    run_bump(mini, "ext", "patch", None, dry_run=False)
    assert (mini / "ext/one/VERSION").read_text() == "1.0.1\n"
    assert '"ext-one>=1.0"' in (mini / "app/pyproject.toml").read_text()  # range still admits
    assert 'ext = ["ext-one==1.0.1"]' in (mini / "bundle/pyproject.toml").read_text()
    assert "ext-one==1.0.0." in (mini / "docs/install.md").read_text()  # not an occurrence
    run_bump(mini, "addon", None, "2.2.0", dry_run=False)
    assert 'version: "2.2.0"' in (mini / "addon/config.yaml").read_text()
    assert problems(load(mini)) == []


def test_failure_part_way_leaves_every_file_byte_identical(
        mini: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(mini)
    plan = plan_change(config, config.train("core"), part="minor")
    assert len(plan.edits) > 4
    before = snapshot(mini)
    real_write = edits.write_atomic
    calls = []

    def disk_full_on_fourth(path: Path, text: str) -> None:
        calls.append(path)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        real_write(path, text)

    monkeypatch.setattr(edits, "write_atomic", disk_full_on_fourth)
    with pytest.raises(ReleaseError, match="No space left.*rolled back .checked byte for byte"):
        apply_plan(config, plan)
    assert snapshot(mini) == before


def test_refuses_when_the_train_disagrees_with_itself(mini: Path) -> None:
    path = mini / "app/src/app/__init__.py"
    path.write_text(path.read_text().replace("0.4.2", "0.4.1"))
    before = snapshot(mini)
    with pytest.raises(ReleaseError, match=r"app/src/app/__init__.py:3"):
        run_bump(mini, "core", "minor", None, dry_run=False)
    assert snapshot(mini) == before


def test_refuses_a_range_that_would_not_admit_the_new_version(mini: Path) -> None:
    with pytest.raises(ReleaseError, match="would not admit 1.0.0; widen it first"):
        run_bump(mini, "core", "major", None, dry_run=False)


def test_needs_a_train_when_there_are_several(mini: Path) -> None:
    with pytest.raises(ReleaseError, match="choose a train with --train"):
        run_bump(mini, None, "minor", None, dry_run=True)


def test_check_names_each_disagreeing_file(mini: Path) -> None:
    (mini / "core/src/core/__init__.py").write_text('__version__ = "0.4.3"\n')
    (mini / "ext/one/VERSION").write_text("1.0.1\n")
    listed = [str(p) for p in problems(load(mini))]
    assert "core/src/core/__init__.py:1: __version__ of core is 0.4.3, but train core " \
           "is at 0.4.2" in listed, listed
    assert any(p.startswith("bundle/pyproject.toml:6: requirement 'ext-one==1.0.0'")
               for p in listed)


UV_LOCK = """\
version = 1
revision = 2
requires-python = ">=3.11"

[[package]]
name = "certifi"
version = "1.4.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://example.invalid/certifi-1.4.0.tar.gz", hash = "sha256:00", size = 1 }

[[package]]
name = "solo"
version = "1.4.0"
source = { editable = "." }
dependencies = [
    { name = "certifi" },
]

[package.metadata]
requires-dist = [{ name = "certifi", specifier = "==1.4.0" }]
"""


def test_uv_lock_is_edited_in_place(tmp_path: Path) -> None:
    """Only the members' `version =` lines move: no uv, no network, no cache, every other
    byte as it was (a registry package at the same version stays)."""
    root = write(tmp_path, {
        "pyproject.toml": """
            [project]
            name = "solo"
            version = "1.4.0"
            requires-python = ">=3.11"
            dependencies = ["certifi==1.4.0"]
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"
            [tool.release.trains.solo]
            packages = ["."]
        """,
        "src/solo/__init__.py": "",
    })
    (root / "uv.lock").write_text(UV_LOCK)
    out = run_bump(root, None, "minor", None, dry_run=False)
    assert "uv.lock:" in out
    assert (root / "uv.lock").read_text() == UV_LOCK.replace(
        'name = "solo"\nversion = "1.4.0"', 'name = "solo"\nversion = "1.5.0"')
    assert problems(load(root)) == []
    # A lock left behind by hand is what check reports.
    (root / "uv.lock").write_text(UV_LOCK)
    assert [p.where for p in problems(load(root))] == ["uv.lock:13"]
