"""tests.helpers.launcher runs a command as its own process would: the same output, exit
code, working directory and environment, and the signal that killed it."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

from tests.helpers import launcher
from tests.helpers.repos import BIN, ROOT, copy_example, env

COMMANDS = [
    ("invoke", ["status", "--repo", "{repo}"]),
    ("invoke", ["check", "--repo", "{repo}"]),
    ("invoke", ["bump", "--repo", "{repo}", "--train", "core", "--part", "minor", "--dry-run"]),
    ("invoke", ["bump", "--repo", "{repo}", "--train", "nope", "--part", "minor"]),
    ("invoke", ["--help", "bump"]),
    ("invoke", ["bmup"]),
    ("release-train", ["--repo", "{repo}", "status", "--train", "core"]),
    ("release-train", ["--version"]),
    ("release-train", ["check", "--repo", "{repo}", "--trian", "core"]),
]


@pytest.mark.parametrize(("program", "args"), COMMANDS,
                         ids=[" ".join(a[:2]) for _, a in COMMANDS])
def test_a_launched_command_is_the_spawned_one(program: str, args: list[str],
                                               tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    argv = [str(BIN / program), *(a.format(repo=repo) for a in args)]
    spawned = subprocess.run(argv, cwd=ROOT, env=env(), capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL)
    launched = launcher.Launcher().run(program, argv, cwd=ROOT, env=env(), timeout=60)
    assert (launched.returncode, launched.stdout, launched.stderr) == \
        (spawned.returncode, spawned.stdout, spawned.stderr)
    assert spawned.stdout + spawned.stderr


def test_the_command_gets_its_own_directory_and_environment(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    # No --repo: RELEASE_REPO from the command's environment, then its working directory.
    by_env = launcher.run("release-train", ["status"], cwd=ROOT,
                          env=env(RELEASE_REPO=str(repo)), timeout=60, bin_dir=BIN)
    by_cwd = launcher.run("release-train", ["status"], cwd=repo, env=env(), timeout=60,
                          bin_dir=BIN)
    assert by_env.returncode == by_cwd.returncode == 0, by_env.stderr + by_cwd.stderr
    assert by_env.stdout == by_cwd.stdout and "core (python) 0.4.2" in by_cwd.stdout
    # The next command does not inherit the last one's environment.
    elsewhere = launcher.run("release-train", ["status"], cwd=tmp_path, env=env(),
                             timeout=60, bin_dir=BIN)
    assert elsewhere.returncode != 0 and "core (python)" not in elsewhere.stdout


def test_a_killed_command_reports_its_signal(tmp_path: Path) -> None:
    """release-train's kill points end the process with SIGKILL: -9, as subprocess says."""
    repo = copy_example(tmp_path / "repo")
    argv = ["--repo", str(repo), "release", "--part", "patch"]
    out = launcher.run("release-train", argv, cwd=ROOT, env=env(
        RELEASE_KILL_AFTER="preflight", TESTPYPI_SIMPLE_URL="http://127.0.0.1:9/simple/",
        PYPI_SIMPLE_URL="http://127.0.0.1:9/simple/"), timeout=120, bin_dir=BIN)
    assert out.returncode == -9, out.stdout + out.stderr


def test_a_command_past_its_timeout_is_killed() -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        launcher.Launcher().run("invoke", [str(BIN / "invoke"), "--help"], cwd=ROOT,
                                env=env(), timeout=0.001)


def _read_at_import(tree: ast.Module) -> list[int]:
    """Lines of module-level code (default values included) that read the environment or the
    working directory: what a command forked from the launch server would see stale."""
    found: list[int] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for default in [*node.args.defaults, *node.args.kw_defaults]:
                if default is not None:
                    visit(default)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    visit(decorator)
            return
        if isinstance(node, ast.Attribute) and node.attr in (
                "environ", "getenv", "getcwd", "cwd", "home", "expanduser"):
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_no_module_of_release_reads_the_environment_when_imported() -> None:
    read = {str(path.relative_to(ROOT)): lines for path in sorted((ROOT / "release").rglob("*.py"))
            if (lines := _read_at_import(ast.parse(path.read_text())))}
    assert read == {}
    sample = ast.parse("import os\nX = os.environ.get('A')\ndef f(y=os.getcwd()):\n"
                       "    return os.environ\n")
    assert _read_at_import(sample) == [2, 3]  # the check sees both, not the function body
