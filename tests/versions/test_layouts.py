"""Every version layout the code claims, as a user meets it: `invoke status`, `check`,
`bump --dry-run` and `bump` on a real git repository of that layout, comparing the changed
lines with what a maintainer's release commit changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.commands import invoke
from tests.helpers.layouts import ALL, NEXT, SETUPTOOLS_ATTR, SETUPTOOLS_SCM, Layout
from tests.helpers.repos import git, snapshot


def changed_lines(repo: Path) -> dict[str, list[tuple[str, str]]]:
    """`git diff` as {path: [(removed, added), ...]} (paired in order)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for path in git(repo, "diff", "--name-only").splitlines():
        diff = git(repo, "diff", "-U0", "--", path).splitlines()
        removed = [ln[1:] for ln in diff if ln.startswith("-") and not ln.startswith("---")]
        added = [ln[1:] for ln in diff if ln.startswith("+") and not ln.startswith("+++")]
        found[path] = list(zip(removed, added, strict=True))
    return found


def ok(*args: str, repo: Path) -> str:
    out = invoke(*args, "--repo", str(repo))
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture(params=ALL, ids=lambda layout: layout.name)
def layout(request: pytest.FixtureRequest) -> Layout:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def repo(layout: Layout, tmp_path: Path) -> Path:
    root = layout.write(tmp_path / layout.name)
    if layout.tag_driven:
        git(root, "tag", "-a", f"v{layout.current}", "-m", "release")
    return root


def test_status_and_check_read_the_version(layout: Layout, repo: Path) -> None:
    status = ok("status", repo=repo)
    assert f"pkg (python) {layout.current}" in status, status
    assert "version: " in status
    assert ok("check", repo=repo).startswith("ok:")


def test_bump_changes_exactly_the_maintainers_lines(layout: Layout, repo: Path) -> None:
    before = snapshot(repo)
    plan = ok("bump", "--to", NEXT, "--dry-run", repo=repo)
    assert f"{layout.current} -> {NEXT}" in plan
    assert snapshot(repo) == before
    ok("bump", "--to", NEXT, repo=repo)
    assert changed_lines(repo) == layout.changes
    assert ok("check", repo=repo).startswith("ok:")
    assert f"pkg (python) {NEXT}" in ok("status", repo=repo)


@pytest.mark.parametrize("scm", [x for x in ALL if x.tag_driven], ids=lambda x: x.name)
def test_a_tag_driven_release_is_the_tag(scm: Layout, tmp_path: Path) -> None:
    repo = scm.write(tmp_path / scm.name)
    git(repo, "tag", "-a", f"v{scm.current}", "-m", "release")
    out = ok("bump", "--part", "minor", "--commit", repo=repo)
    assert f"the version is the git tag: `invoke tag` makes v{NEXT}" in out
    assert f"next {NEXT} (prepared by bump" in ok("status", repo=repo)
    assert git(repo, "status", "--porcelain") == ""
    assert f"tagged v{NEXT}" in ok("tag", repo=repo)
    assert ok("check", "--tag", f"v{NEXT}", repo=repo).startswith(f"ok: tag v{NEXT}")
    status = ok("status", repo=repo)
    assert f"last tag v{NEXT}" in status and "prepared" not in status


def test_an_old_higher_tag_on_another_line_is_not_the_last_release(tmp_path: Path) -> None:

    repo = SETUPTOOLS_SCM.write(tmp_path / "r")
    git(repo, "tag", "-a", "v2.0.3", "-m", "release")
    git(repo, "checkout", "-q", "-b", "old-line")
    (repo / "old.txt").write_text("another line of history\n")
    git(repo, "add", "old.txt")
    git(repo, "commit", "-q", "-m", "old line")
    git(repo, "tag", "-a", "v9.0.0b0", "-m", "old beta")
    git(repo, "checkout", "-q", "main")
    assert "pkg (python) 2.0.3" in ok("status", repo=repo)


def test_bounded_matches_and_globs_leave_lookalikes_alone(tmp_path: Path) -> None:
    repo = SETUPTOOLS_ATTR.write(tmp_path / "r")
    ok("bump", "--to", NEXT, repo=repo)
    text = (repo / "pyproject.toml").read_text()
    assert 'minversion = "2.0.3"' in text  # `version = "{version}"`-like text, not ours
    assert (repo / "docs/old.rst").read_text() == "st-attr 2.0.30 was different.\n"


def test_text_followed_by_other_text_is_bounded(tmp_path: Path) -> None:
    repo = Layout("cuda", {
        "release.toml": 'tag-format = "v{version}"\n[trains.app]\npackages = ["."]\n'
                        'occurrences = ['
                        '{ path = "compose.yaml", search = "image: org/app:{version}" }, '
                        '{ path = "Dockerfile", search = "ARG VERSION={version}" }]\n',
        "pyproject.toml": '[project]\nname = "app"\nversion = "1.2.3"\n',
        "compose.yaml": "services:\n  gpu:\n    image: org/app:1.2.3-cuda\n"
                        "  cpu:\n    image: org/app:1.2.3\n  other:\n    image: org/app:1.2.30\n",
        "Dockerfile": "ARG VERSION=1.2.3\nARG OTHER_VERSION=1.2.3\n",
    }, "1.2.3").write(tmp_path / "cuda")
    status = ok("status", repo=repo)
    assert "app (python) 1.2.3" in status
    out = invoke("check", "--repo", str(repo))
    assert out.returncode == 1 and "compose.yaml:7" in out.stderr  # 1.2.30 is not 1.2.3
    (repo / "compose.yaml").write_text((repo / "compose.yaml").read_text()
                                       .replace("1.2.30", "1.2.3"))
    ok("bump", "--part", "minor", repo=repo)
    assert (repo / "compose.yaml").read_text().count("org/app:1.3.0") == 3
    assert "org/app:1.3.0-cuda" in (repo / "compose.yaml").read_text()
    assert (repo / "Dockerfile").read_text() == "ARG VERSION=1.3.0\nARG OTHER_VERSION=1.2.3\n"


def test_requirements_move_with_every_operator_that_names_the_version(tmp_path: Path) -> None:
    pkg = '[project]\nname = "{name}"\nversion = "1.4.0.dev0"\ndependencies = [{deps}]\n'
    repo = Layout("ops", {
        "release.toml": '[trains.mono]\npackages = ["libs/*"]\n',
        "libs/a/pyproject.toml": pkg.format(name="a", deps=""),
        "libs/b/pyproject.toml": pkg.format(name="b", deps='"a ~= 1.4.0.dev"'),
        "libs/c/pyproject.toml": pkg.format(name="c",
                                            deps='"a>=1.4.0.dev0,<2", "b == 1.4.0.dev0"'),
        "libs/d/pyproject.toml": pkg.format(name="d", deps='"a>=1.3", "b<=1.4.0.dev0", "c!=1.0"'),
    }, "1.4.0.dev0").write(tmp_path / "ops")
    ok("bump", "--to", "1.5.0.dev0", repo=repo)
    assert '"a ~= 1.5.0.dev"' in (repo / "libs/b/pyproject.toml").read_text()
    assert '"a>=1.5.0.dev0,<2", "b == 1.5.0.dev0"' in (repo / "libs/c/pyproject.toml").read_text()
    assert '"a>=1.3", "b<=1.5.0.dev0", "c!=1.0"' in (repo / "libs/d/pyproject.toml").read_text()
    assert ok("check", repo=repo).startswith("ok:")
    out = invoke("bump", "--to", "2.0.0", "--repo", str(repo))
    assert out.returncode == 1
    assert "would not admit 2.0.0; widen it first" in out.stderr


def test_exclude_leaves_a_stale_fallback_alone(tmp_path: Path) -> None:
    layout = Layout("fallback", {
        "release.toml": '[trains.pkg]\npackages = ["."]\n',
        "pyproject.toml": '[project]\nname = "fb"\nversion = "1.2.0"\n',
        "src/fb/__init__.py": "try:\n    from ._build import __version__\nexcept ImportError:\n"
                              '    __version__ = "1.1.0"\n',
    }, "1.2.0")
    repo = layout.write(tmp_path / "fb")
    out = invoke("bump", "--part", "patch", "--repo", str(repo))
    assert out.returncode == 1
    assert 'exclude = ["src/fb/__init__.py"]' in out.stderr, out.stderr
    (repo / "release.toml").write_text('[trains.pkg]\npackages = ["."]\n'
                                       'exclude = ["src/**/__init__.py"]\n')
    git(repo, "commit", "-qam", "leave the fallback alone")
    ok("bump", "--part", "patch", repo=repo)
    assert changed_lines(repo) == {"pyproject.toml": [('version = "1.2.0"', 'version = "1.2.1"')]}
    assert ok("check", repo=repo).startswith("ok:")


def test_a_glob_that_finds_nothing_is_refused(tmp_path: Path) -> None:
    repo = Layout("noglob", {
        "release.toml": '[trains.pkg]\npackages = ["."]\n'
                        'occurrences = [{ path = "docs/**/*.md", search = "pkg=={version}" }]\n',
        "pyproject.toml": '[project]\nname = "pkg"\nversion = "1.2.0"\n',
        "docs/a.md": "nothing here\n",
    }, "1.2.0").write(tmp_path / "ng")
    out = invoke("check", "--repo", str(repo))
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip() == ("error: no file matching 'docs/**/*.md' contains "
                                  "'pkg=={version}' (fix the occurrence in the release config)")
