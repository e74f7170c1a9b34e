"""Configuration: discovered where possible, and refused with one line naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from release.config import load
from release.errors import ConfigError
from tests.helpers.repos import PKG, config_repo, write


def test_minimal_config_discovers_packages(tmp_path: Path) -> None:
    config = load(config_repo(tmp_path, """
        [tool.release.trains.core]
        packages = ["pkgs/*"]
    """))
    train = config.train("core")
    assert [p.name for p in train.packages] == ["a", "b"]
    assert train.tag("1.0.0") == "core-v1.0.0"
    assert config.pythons == ("3.11", "3.12", "3.13")


def test_release_toml_holds_the_same_tables(tmp_path: Path) -> None:
    root = config_repo(tmp_path, """
        tag-format = "v{version}"
        [trains.core]
        packages = ["pkgs/a"]
        occurrences = [{ path = "docs/install.md", search = "pip install a=={version}" }]
    """, in_release_toml=True)
    config = load(root)
    assert config.source.name == "release.toml"
    assert config.train("core").tag("2.0") == "v2.0"
    assert config.train("core").occurrences[0].path == Path("docs/install.md")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[trains.core]\npakages = ["pkgs/*"]', r"pyproject.toml: \[tool.release.trains.core\] "
                                                r"unknown key 'pakages'"),
        ('[trains.core]\npackages = ["nope/*"]', "'nope/\\*' matches no directory"),
        ('[trains.core]\npackages = ["pkgs/zz"]', "'pkgs/zz' is not a directory"),
        ('[trains.core]\npackages = ["../elsewhere"]', "outside the repository"),
        ('[trains.core]\npackages = ["/abs"]', "must be relative"),
        ('[trains.core]\npackages = ["pkgs/a"]\n[trains.more]\npackages = ["pkgs/*"]',
         "'pkgs/a' is already in train 'core'"),
        ('[trains.core]\npackages = "pkgs/*"', "packages must be a list of strings"),
        ('[trains.core]\npackages = ["pkgs/*"]\nkind = "rust"', 'kind must be "python" or'),
        ('[trains.core]\npackages = ["pkgs/*"]\noccurrences = [{path = "docs/nope.md", '
         'search = "{version}"}]', "'docs/nope.md' does not exist"),
        ('[trains.core]\npackages = ["pkgs/*"]\noccurrences = [{path = "docs/install.md", '
         'search = "a=="}]', "must contain {version} \\(once\\) or {major}"),
        ('tag-format = "{train}"\n[trains.core]\npackages = ["pkgs/*"]',
         "tag-format must contain {version}"),
        ('tag-format = "{oops}-{version}"\n[trains.core]\npackages = ["pkgs/*"]',
         "unknown placeholder"),
        ('[trains.addon]\nkind = "artifact"', "needs version = { path, search }"),
        ('[trains.core]\npackages = ["pkgs/*"]\npins = [{train = "ghost", path = '
         '"docs/install.md", search = "a=={version}"}]', "pins train 'ghost'"),
        ("trains = 3", "trains must be a table of trains"),
        ("", "at least one train"),
        ('[trains.core]\npackages = ["pkgs/*"]\n[indexes.mine]\nupload-url = "x"',
         "needs upload-url and simple-url"),
        ('max-file-size = -1\n[trains.core]\npackages = ["pkgs/*"]', "positive number"),
    ],
)
def test_invalid_config_is_one_line_naming_file_and_key(tmp_path: Path, table: str,
                                                        message: str) -> None:
    root = config_repo(tmp_path, table.replace("[trains", "[tool.release.trains")
                .replace("[indexes", "[tool.release.indexes"))
    with pytest.raises(ConfigError, match=message) as info:
        load(root)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("pyproject.toml")


def test_symlink_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"pyproject.toml": PKG.format(name="x")})
    root = config_repo(tmp_path / "repo", '[tool.release.trains.core]\npackages = ["link"]')
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ConfigError, match="outside the repository"):
        load(root)


def test_a_glob_through_a_symlink_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"x/pyproject.toml": PKG.format(name="x")})
    root = config_repo(tmp_path / "repo", '[tool.release.trains.core]\npackages = ["*/*"]')
    (root / "vendor").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ConfigError, match="'\\*/\\*' matches 'vendor/x', which is outside the "
                                          "repository"):
        load(root)


@pytest.mark.parametrize("where", ["../../../outside/v.py", "/tmp/v.py", "link/v.py"])
def test_a_version_file_outside_the_repository_is_refused(tmp_path: Path, where: str) -> None:
    """The build config of a package may not point the version (read and written by a bump)
    outside the repository."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "v.py").write_text('__version__ = "1.0.0"\n')
    root = config_repo(tmp_path / "repo", '[tool.release.trains.core]\npackages = ["pkgs/a"]',
                       extra={"pkgs/a/pyproject.toml": '[project]\nname = "a"\n'
                              f'dynamic = ["version"]\n[tool.hatch.version]\npath = "{where}"\n'})
    (root / "pkgs/a/link").symlink_to(tmp_path / "outside", target_is_directory=True)
    if where.startswith("/tmp/"):
        where = str(tmp_path / "outside" / "v.py")
        (root / "pkgs/a/pyproject.toml").write_text(
            f'[project]\nname = "a"\ndynamic = ["version"]\n[tool.hatch.version]\npath = '
            f'"{where}"\n')
    from release.versions.scan import scan

    with pytest.raises(ConfigError, match="outside the repository"):
        scan(load(root))


def test_two_sources_and_no_source_are_refused(tmp_path: Path) -> None:
    root = config_repo(tmp_path, '[tool.release.trains.core]\npackages = ["pkgs/*"]',
                extra={"release.toml": '[trains.core]\npackages = ["pkgs/*"]\n'})
    with pytest.raises(ConfigError, match="both exist"):
        load(root)
    (root / "release.toml").unlink()
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    with pytest.raises(ConfigError, match="no release configuration"):
        load(root)


def test_broken_toml_is_one_line(tmp_path: Path) -> None:
    root = config_repo(tmp_path, "[tool.release.trains.core\n")
    with pytest.raises(ConfigError, match="pyproject.toml: not valid TOML"):
        load(root)


def test_this_repository_declares_its_own_train() -> None:
    config = load(Path(__file__).resolve().parent.parent)
    train = config.train("release-train")
    assert [p.name for p in train.packages] == ["release-train"]
    assert train.tag("1.0.0") == "v1.0.0"
