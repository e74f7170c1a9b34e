"""`release-train init` as a new user meets it: on a repository of every version layout and on
the example with its configuration removed, init writes a configuration that `check` passes
and that covers every package; --dry-run writes nothing; an existing configuration is kept
unless --force."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from release.config import load
from release.onboarding.trains import package_patterns
from tests.helpers.commands import invoke
from tests.helpers.layouts import ALL, Layout
from tests.helpers.repos import EXAMPLE, copy_example, git, init_repo, snapshot


def _packages_in(root: Path) -> set[Path]:
    """Every package directory: a pyproject.toml with a name, outside tests."""
    found = set()
    for path in root.rglob("pyproject.toml"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if data.get("project", {}).get("name") or data.get("tool", {}).get("poetry"):
            found.add(path.parent.relative_to(root))
    return found


def _covered(root: Path) -> set[Path]:
    return {p.path for t in load(root).trains.values() for p in t.packages}


def _run(*args: str, repo: Path, code: int = 0) -> str:
    out = invoke(*args, "--repo", str(repo))
    assert out.returncode == code, out.stdout + out.stderr
    return out.stdout + out.stderr


@pytest.mark.parametrize("layout", ALL, ids=lambda layout: layout.name)
def test_init_then_check_covers_every_package(layout: Layout, tmp_path: Path) -> None:
    bare = dataclasses.replace(layout, files={k: v for k, v in layout.files.items()
                                              if k != "release.toml"})
    repo = bare.write(tmp_path / layout.name)
    if layout.tag_driven:
        git(repo, "tag", "-a", f"v{layout.current}", "-m", "release")
    out = _run("init", repo=repo)
    assert "check: ok" in out, out
    assert _covered(repo) == _packages_in(repo)
    config = load(repo)
    root_pyproject = "pyproject.toml" in layout.files
    assert config.source.name == ("pyproject.toml" if root_pyproject else "release.toml")
    (train,) = config.trains.values()
    if layout.tag_driven:  # the repository's own tag style
        assert train.tag_format == "v{version}"
    assert _run("check", repo=repo).startswith("ok:")
    status = _run("status", repo=repo)
    assert layout.current in status
    assert (repo / "tasks.py").is_file() and (repo / "noxfile.py").is_file()


def test_init_on_the_example_finds_its_trains(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "mono", with_git=False)
    pyproject = repo / "pyproject.toml"
    kept = pyproject.read_text(encoding="utf-8").split("[tool.release]")[0]
    pyproject.write_text(kept, encoding="utf-8")
    init_repo(repo)
    before = snapshot(repo)
    dry = _run("init", "--dry-run", repo=repo)
    assert snapshot(repo) == before  # --dry-run writes nothing
    assert 'packages = ["bundles/*", "packages/*"]' in dry
    assert 'packages = ["extensions/*"]' in dry
    out = _run("init", repo=repo)
    assert "train skyline: 5 packages at 0.4.2" in out
    assert "check: ok" in out
    text = pyproject.read_text(encoding="utf-8")
    assert text.startswith(kept.rstrip("\n"))  # the rest of the file as it was
    config = load(repo)
    assert _covered(repo) == _packages_in(repo) - {Path(".")}
    occurrences = {(o.path.as_posix(), o.search) for t in config.trains.values()
                   for o in t.occurrences}
    assert ("compose.yaml", "ghcr.io/example/skyline:{version}") in occurrences
    assert _run("check", "--audit", repo=repo).startswith("ok:")
    # a second init refuses; --force replaces, --file release.toml moves it
    assert "--force" in _run("init", repo=repo, code=1)
    _run("init", "--force", "--file", "release.toml", repo=repo)
    assert "[tool.release" not in pyproject.read_text(encoding="utf-8")
    assert load(repo).source.name == "release.toml"
    assert _run("check", repo=repo).startswith("ok:")


def test_init_keeps_your_tasks_and_noxfile(tmp_path: Path) -> None:
    layout = ALL[0]
    bare = dataclasses.replace(layout, files={**{k: v for k, v in layout.files.items()
                                                 if k != "release.toml"},
                                              "noxfile.py": "# mine\n"})
    repo = bare.write(tmp_path / "repo")
    out = _run("init", "--file", "release.toml", repo=repo)
    assert "kept your noxfile.py" in out
    assert (repo / "noxfile.py").read_text(encoding="utf-8") == "# mine\n"
    assert (repo / "release.toml").is_file()


def test_init_refuses_a_repository_without_packages(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    (repo / "README.md").write_text("nothing\n", encoding="utf-8")
    init_repo(repo)
    out = invoke("init", "--repo", str(repo))
    assert out.returncode == 1
    assert out.stderr.strip().startswith("error: ") and len(out.stderr.strip().splitlines()) == 1


def test_package_patterns_are_globs_when_they_can_be() -> None:
    dirs = [Path("packages/skyline"), Path("packages/skyline-core")]
    assert package_patterns(EXAMPLE, dirs) == ["packages/*"]
    some = [Path("extensions/skyline-ext-ai"), Path("extensions/skyline-ext-images")]
    assert package_patterns(EXAMPLE, some) == sorted(p.as_posix() for p in some)
