"""`invoke check --audit`: lines that carry a train's version but that no bump would move."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from release.config import load
from release.repo import tracked_files
from release.versions.audit import (
    Finding,
    audit,
    read_texts,
    release_table_lines,
    skip_reason,
    version_pattern,
)
from release.versions.scan import glob_regex, scan
from release.versions.suggest import Suggestion, render_suggestions, search_for, suggest
from tests.helpers.commands import invoke
from tests.helpers.layouts import ALL, Layout
from tests.helpers.repos import BIN, copy_example, git, init_repo

# --- the bounded matcher ---------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "1.2.3", "v1.2.3", "V1.2.3", "app:1.2.3-cuda", "pkg-1.2.3.tar.gz", "pkg==1.2.3,",
    '"1.2.3"', "version 1.2.3.", "release 1.2.3-1", "torch==1.2.3+cpu", "1.2.3-release",
    "app_1.2.3_amd64", "(1.2.3)",
])
def test_the_version_is_found_where_its_text_ends(text: str) -> None:
    assert version_pattern("1.2.3").search(text), text


@pytest.mark.parametrize("text", [
    "1.2.30", "11.2.3", "1.2.3.4", "0.1.2.3", "1.2.3rc1", "1.2.3.dev0", "1.2.3a", "1.2.3-beta",
    "1.2.3.post1", "1.2.3b2", "1.2.3RC1", "1.2.34", "21.2.3",
])
def test_the_version_is_never_part_of_a_longer_version(text: str) -> None:
    assert not version_pattern("1.2.3").search(text), text


def test_the_written_and_the_normalized_form_both_count() -> None:
    pattern = version_pattern("0.66b0.dev")
    assert pattern.search("pkg==0.66b0.dev")
    assert pattern.search("pkg==0.66b0.dev0")
    assert pattern.fullmatch("0.66b0.dev0")  # the longer form wins: the span is exact
    assert not pattern.search("pkg==0.66b0.dev1")
    assert not pattern.search("pkg==0.66b0.dev10")


def test_a_short_version_is_literal_and_bounded() -> None:
    pattern = version_pattern("6.0")
    assert pattern.search('minversion = "6.0"')  # reported: the user decides
    assert not pattern.search("6.0.1")
    assert not pattern.search("16.0")
    assert not pattern.search("6.01")


# --- what is audited -------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """One package at the repository root, its release config in the same pyproject."""
    root = tmp_path / "app"
    (root / "src" / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1.2.3"\n\n'
        '[tool.other]\npinned = "1.2.3"\n\n'
        '[tool.release]\ntag-format = "v{version}"  # not 1.2.3\n\n'
        '[tool.release.trains.app]\npackages = ["."]\n'
        'occurrences = [{ path = "README.md", search = "app=={version}" }]\n\n'
        '[tool.after]\nsame = "1.2.3"\n')
    (root / "src" / "app" / "__init__.py").write_text('__version__ = "1.2.3"\n')
    (root / "README.md").write_text("pip install app==1.2.3\nor app 1.2.3 from source\n")
    return root


@pytest.mark.parametrize("path", [
    "CHANGELOG.md", "docs/changelog.rst", "changelog.d/123.feature.md", "CHANGES.txt",
    "HISTORY.rst", "NEWS", "news/1.bugfix", "RELEASE_NOTES.md", "release-notes/core-1.2.3.md",
    "debian/app.changes", "uv.lock", "poetry.lock", "Cargo.lock", "pdm.lock",
    "web/package-lock.json", "web/yarn.lock", "Pipfile.lock", ".release/core-1.2.3.json",
])
def test_history_locks_and_records_are_not_audited(app: Path, path: str) -> None:
    assert skip_reason(Path(path), load(app)) is not None


@pytest.mark.parametrize("path", ["README.md", "docs/install.md", "Dockerfile",
                                  "pyproject.toml", "src/app/__init__.py"])
def test_other_files_are_audited(app: Path, path: str) -> None:
    assert skip_reason(Path(path), load(app)) is None


def test_a_release_toml_is_not_audited(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "m", with_git=False)
    text = (root / "pyproject.toml").read_text()
    table = text[text.index("[tool.release]"):].replace("[tool.release]\n", "")
    (root / "release.toml").write_text(table.replace("[tool.release.", "["))
    (root / "pyproject.toml").write_text(text[:text.index("[tool.release]")])
    config = load(root)
    assert skip_reason(Path("release.toml"), config) == "release configuration"
    assert skip_reason(Path("pyproject.toml"), config) is None


def test_only_the_release_tables_of_the_pyproject_are_left_out() -> None:
    text = ('[project]\nversion = "1"\n[tool.release]\na = 1\n[ tool.release.trains."x" ]\n'
            'b = [\n  "c",\n]\n[[tool.other]]\nd = 2\n')
    assert release_table_lines(text) == {3, 4, 5, 6, 7, 8}


def test_binaries_large_files_and_symlinks_are_not_read(tmp_path: Path) -> None:
    (tmp_path / "text.md").write_text("1.2.3\n")
    (tmp_path / "nul.bin").write_bytes(b"1.2.3\0")
    (tmp_path / "latin1.txt").write_bytes("café 1.2.3".encode("latin-1"))
    (tmp_path / "big.txt").write_text("1.2.3\n" * 400_000)
    (tmp_path / "link.md").symlink_to(tmp_path / "text.md")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "secret.md").write_text("1.2.3\n")
    os.symlink(outside, tmp_path / "linked-dir")
    names = ["text.md", "nul.bin", "latin1.txt", "big.txt", "link.md", "linked-dir/secret.md",
             "missing.md"]
    assert list(read_texts(tmp_path, map(Path, names))) == [Path("text.md")]


def test_audit_reports_unmanaged_lines_only(app: Path) -> None:
    config = load(app)
    found = scan(config)
    texts = read_texts(app, [Path("pyproject.toml"), Path("README.md"),
                             Path("src/app/__init__.py")])
    findings = audit(config, found, texts)
    assert [(f.path.as_posix(), f.line) for f in findings] == [
        ("pyproject.toml", 6), ("pyproject.toml", 16), ("README.md", 2)]
    assert str(findings[0]) == 'pyproject.toml:6: app 1.2.3: pinned = "1.2.3"'
    assert findings[2].spans == ((7, 12),)


def test_a_long_line_is_shortened_to_120_characters() -> None:
    finding = Finding("core", "1.2.3", Path("a.md"), 1, "  x 1.2.3 " + "y" * 200, ((4, 9),))
    shown = str(finding).split(": ", 2)[2]
    assert len(shown) == 120 and shown.endswith("...") and shown.startswith("x 1.2.3")


def test_trains_at_the_same_version_do_not_report_each_other(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "m", with_git=False)
    core = root / "packages/skyline-core/pyproject.toml"
    core.write_text(core.read_text().replace('version = "0.4.2"', 'version = "1.2.0"'))
    for rel in ("packages/skyline/src/skyline/__init__.py", "packages/skyline/pyproject.toml",
                "bundles/skyline-streaming/pyproject.toml", "bundles/skyline-vision/pyproject.toml",
                "bundles/skyline-vision-cuda/pyproject.toml", "docs/install.md", "compose.yaml",
                "addon/Dockerfile"):
        path = root / rel
        path.write_text(path.read_text().replace("0.4.2", "1.2.0"))
    config = load(root)
    assert audit(config, scan(config), read_texts(root, _all_files(root))) == []
    (root / "docs/matrix.md").write_text("| skyline | 1.2.0 |\n")
    texts = read_texts(root, _all_files(root))
    [finding] = audit(config, scan(config), texts)
    assert str(finding) == "docs/matrix.md:1: core (or extensions) 1.2.0: | skyline | 1.2.0 |"
    [entry] = suggest([finding], texts)
    assert entry.toml() == ('{ path = "docs/matrix.md", search = "skyline | {version}" },'
                            "  # or under extensions: same version")


def _all_files(root: Path) -> list[Path]:
    return [p.relative_to(root) for p in sorted(root.rglob("*")) if p.is_file()]


# --- suggestions -----------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "version", "search"), [
    ("image: org/app:1.2.3-cuda", "1.2.3", "org/app:{version}"),
    ("pip install skyline==0.4.2", "0.4.2", "skyline=={version}"),
    ('version = "1.2.3"', "1.2.3", 'version = "{version}"'),
    ('  "skyline==0.4.2",', "0.4.2", "skyline=={version}"),
    ('{"name": "app", "version": "1.2.3"}', "1.2.3", '"version": "{version}"'),
    ("Install `app 1.2.3` today", "1.2.3", "app {version}"),
    ("1.2.3", "1.2.3", "{version}"),
    ("    ARG V=v1.2.3", "1.2.3", "V=v{version}"),
])
def test_the_search_is_the_smallest_context_around_the_version(
        line: str, version: str, search: str) -> None:
    start = line.index(version)
    before, after, ok = search_for(line, (start, start + len(version)), line, 0, {start})
    assert ok
    assert before + "{version}" + after == search


def test_the_search_grows_until_no_other_version_matches_it() -> None:
    text = "Upgrade from skyline==0.3.0:\n\npip install skyline==0.4.2\n"
    offset = text.index("pip")
    line = text[offset:-1]
    start = line.index("0.4.2")
    before, after, ok = search_for(line, (start, start + 5), text, offset, {offset + start})
    assert ok and before + "{version}" + after == "install skyline=={version}"


def test_two_versions_on_a_line_get_searches_that_hold_one_version_each(tmp_path: Path) -> None:
    line = "RUN pip install a==0.4.2 # 0.4.2"
    spans = ((19, 24), (27, 32))
    finding = Finding("core", "0.4.2", Path("Dockerfile"), 1, line, spans)
    entries = suggest([finding], {Path("Dockerfile"): line + "\n"})
    assert [e.search for e in entries] == ["a=={version}", "# {version}"]


def test_an_ambiguous_line_is_suggested_as_a_comment() -> None:
    text = "app 1.2.3\napp 1.0.0\n"
    finding = Finding("core", "1.2.3", Path("a.txt"), 1, "app 1.2.3", ((4, 9),))
    [entry] = suggest([finding], {Path("a.txt"): text})
    assert entry.note
    assert entry.toml().startswith('# { path = "a.txt", search = "app {version}" },  # line 1')


def _pin_findings(texts: dict[Path, str]) -> list[Finding]:
    findings = []
    for path, text in texts.items():
        for number, line in enumerate(text.split("\n"), 1):
            if "app==1.2.3" in line:
                offset = sum(len(ln) + 1 for ln in text.split("\n")[:number - 1])
                start = line.index("1.2.3")
                findings.append(Finding("core", "1.2.3", path, number, line,
                                        ((start, start + 5),), offset))
    return findings


def test_three_files_of_one_name_become_one_glob_entry() -> None:
    texts = {Path(f"plugins/{n}/pyproject.toml"): f'name = "{n}"\ndeps = ["app==1.2.3"]\n'
             for n in ("a", "b", "c")}
    texts[Path("pyproject.toml")] = "[tool.x]\n"
    assert suggest(_pin_findings(texts), texts) == [
        Suggestion("core", "plugins/*/pyproject.toml", "app=={version}")]
    texts[Path("tools/d/sub/pyproject.toml")] = 'deps = ["app==1.2.3"]\n'
    assert suggest(_pin_findings(texts), texts) == [
        Suggestion("core", "**/pyproject.toml", "app=={version}")]


def test_three_files_of_one_extension_under_one_directory_become_one_glob_entry() -> None:
    texts = {Path(p): "pip install app==1.2.3\n"
             for p in ("docs/install.md", "docs/quickstart.md", "docs/guide/upgrade.md")}
    texts[Path("docs/index.rst")] = "app==1.2.3\n"
    entries = suggest(_pin_findings(texts), texts)
    assert Suggestion("core", "docs/**/*.md", "app=={version}") in entries
    assert Suggestion("core", "docs/index.rst", "app=={version}") in entries
    assert len(entries) == 2


def test_two_files_or_a_glob_catching_another_version_stay_separate() -> None:
    texts = {Path(f"p/{n}/pyproject.toml"): 'deps = ["app==1.2.3"]\n' for n in ("a", "b")}
    assert [e.path for e in suggest(_pin_findings(texts), texts)] == [
        "p/a/pyproject.toml", "p/b/pyproject.toml"]
    texts[Path("p/c/pyproject.toml")] = 'deps = ["app==1.2.3"]\n'
    texts[Path("p/old/pyproject.toml")] = 'deps = ["app==1.0.0"]\n'
    assert len(suggest(_pin_findings(texts), texts)) == 3


def test_glob_semantics() -> None:
    assert glob_regex("**/pyproject.toml").fullmatch("pyproject.toml")
    assert glob_regex("**/pyproject.toml").fullmatch("a/b/pyproject.toml")
    assert glob_regex("docs/*.md").fullmatch("docs/a.md")
    assert not glob_regex("docs/*.md").fullmatch("docs/x/a.md")
    assert glob_regex("docs/**/*.md").fullmatch("docs/x/y/a.md")
    assert not glob_regex("docs/**/*.md").fullmatch("other/docs/a.md")


def test_entries_are_toml_under_a_header_per_train(app: Path) -> None:
    entries = [Suggestion("app", "a.json", '"version": "{version}"'),
               Suggestion("web", "b.md", "v{version}")]
    assert render_suggestions(load(app), entries) == (
        "# [tool.release.trains.app]: add to its occurrences = [...]\n"
        '{ path = "a.json", search = "\\"version\\": \\"{version}\\"" },\n'
        "\n"
        "# [tool.release.trains.web]: add to its occurrences = [...]\n"
        '{ path = "b.md", search = "v{version}" },')


# --- end to end ------------------------------------------------------------------------------


def test_the_files_audited_are_those_git_knows(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "m")
    (root / "new.md").write_text("0.4.2\n")
    (root / "ignored.md").write_text("0.4.2\n")
    (root / ".git/info/exclude").write_text("ignored.md\n")
    files = tracked_files(root) or []
    assert Path("docs/install.md") in files and Path("new.md") in files
    assert Path("ignored.md") not in files
    assert tracked_files(root / "docs") == [Path("install.md")]


def test_the_example_has_no_unmanaged_line(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "m")
    out = invoke("check", "--audit", "--repo", str(root))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "audit: 0 unmanaged line(s) carry a train's version" in out.stdout
    git(root, "tag", "v0.4.2")
    tagged = invoke("check", "--tag", "v0.4.2", "--audit", "--repo", str(root))
    assert tagged.returncode == 0, tagged.stdout + tagged.stderr
    assert tagged.stdout.startswith("ok: tag v0.4.2 names core 0.4.2")
    assert "audit: 0 unmanaged line(s)" in tagged.stdout
    status = invoke("status", "--repo", str(root))
    assert status.returncode == 0 and "audit:" not in status.stdout


def test_audit_suggest_paste_then_bump(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "m")
    install = root / "docs/install.md"
    install.write_text(install.read_text() + "\nThe app alone:\n\n    pip install skyline==0.4.2\n")
    line = len(install.read_text().splitlines())
    (root / "CHANGELOG.md").write_text("## 0.4.2\n\n- pip install skyline==0.4.2 works\n")
    (root / "notes.md").write_text("skyline==0.4.2 (ignored by git: not audited)\n")
    (root / ".git/info/exclude").write_text("notes.md\n")
    for name in ("a", "b", "c"):
        (root / "deploy" / name).mkdir(parents=True)
        (root / "deploy" / name / "values.yaml").write_text(
            "replicas: 2\nimage: ghcr.io/example/skyline:0.4.2-cuda\n")

    out = invoke("check", "--audit", "--repo", str(root))
    assert out.returncode == 1
    assert f"docs/install.md:{line}: core 0.4.2: pip install skyline==0.4.2\n" in out.stdout
    assert "audit: 4 unmanaged line(s) carry a train's version (core 4)" in out.stdout
    assert "deploy/b/values.yaml:2: core 0.4.2: image: ghcr.io/example/skyline:0.4.2-cuda\n" \
        in out.stdout
    assert "CHANGELOG" not in out.stdout and "notes.md" not in out.stdout
    assert "error: 4 line(s) carry a train's version but no bump would move them" in out.stderr
    assert "Traceback" not in out.stderr

    status = invoke("status", "--repo", str(root))
    assert status.returncode == 0, status.stderr
    assert ("audit: 4 unmanaged line(s) carry a train's version; see invoke check --audit"
            in status.stdout)

    program = str(BIN / "release-train")
    suggested = invoke("check", "--suggest", "--repo", str(root))
    same = subprocess.run(  # the installed program takes the same flags
        [program, "--repo", str(root), "check", "--audit", "--suggest"],
        capture_output=True, text=True)
    assert suggested.returncode == same.returncode == 1
    assert same.stdout == suggested.stdout
    glob = '{ path = "deploy/*/values.yaml", search = "ghcr.io/example/skyline:{version}" },'
    entry = '{ path = "docs/install.md", search = "skyline=={version}" },'
    assert f"# [tool.release.trains.core]: add to its occurrences = [...]\n{glob}\n{entry}" \
        in suggested.stdout

    config = root / "pyproject.toml"
    text = config.read_text()
    at = text.index("occurrences = [\n", text.index("[tool.release.trains.core]"))
    at += len("occurrences = [\n")
    config.write_text(text[:at] + f"  {glob}\n  {entry}\n" + text[at:])
    clean = invoke("check", "--audit", "--repo", str(root))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "audit: 0 unmanaged line(s)" in clean.stdout
    plan = invoke("bump", "--repo", str(root), "--train", "core", "--part", "patch", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert (f"  docs/install.md:{line}\n    - pip install skyline==0.4.2\n"
            "    + pip install skyline==0.4.3\n") in plan.stdout
    for name in ("a", "b", "c"):
        assert (f"  deploy/{name}/values.yaml:2\n"
                "    - image: ghcr.io/example/skyline:0.4.2-cuda\n"
                "    + image: ghcr.io/example/skyline:0.4.3-cuda\n") in plan.stdout


def test_audit_needs_git(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "m", with_git=False)
    out = invoke("check", "--audit", "--repo", str(root))
    assert out.returncode == 1
    assert "is not a git repository" in out.stderr
    assert invoke("status", "--repo", str(root)).returncode == 0


def test_a_subdirectory_config_audits_its_own_tree(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    copy_example(outer / "m", with_git=False)
    (outer / "elsewhere.md").write_text("skyline==0.4.2\n")
    init_repo(outer)
    out = invoke("check", "--audit", "--repo", str(outer / "m"))
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("layout", ALL, ids=lambda layout: layout.name)
def test_every_version_layout_audits_clean_but_for_its_lookalike(
        layout: Layout, tmp_path: Path) -> None:
    root = layout.write(tmp_path / layout.name)
    if layout.tag_driven:
        git(root, "tag", "-a", f"v{layout.current}", "-m", "release")
    out = invoke("check", "--audit", "--repo", str(root))
    if layout.name == "setuptools-attr":  # minversion = "2.0.3" looks like the version
        assert out.returncode == 1
        assert 'pyproject.toml:14: pkg 2.0.3: minversion = "2.0.3"\n' in out.stdout
        assert "audit: 1 unmanaged line(s)" in out.stdout
    else:
        assert out.returncode == 0, out.stdout + out.stderr
        assert "audit: 0 unmanaged line(s)" in out.stdout
