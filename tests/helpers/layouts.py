"""Small repositories, one per real-world version layout, written here (no project's files
copied). Each entry: the files, the train, the version the files carry now, and the lines a
bump to NEXT must produce (path -> list of (old line, new line))."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.repos import init_repo

NEXT = "2.1.0"


@dataclass(frozen=True)
class Layout:
    name: str
    files: dict[str, str]
    current: str
    changes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    tag_driven: bool = False

    def write(self, root: Path, *, git: bool = True) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        for rel, text in self.files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_publishable(rel, textwrap.dedent(text).lstrip()), encoding="utf-8")
            if rel.endswith("pyproject.toml") and not (path.parent / "README.md").exists():
                (path.parent / "README.md").write_text(f"{self.name}\n", encoding="utf-8")
        return init_repo(root) if git else root


def _publishable(rel: str, text: str) -> str:
    """A pyproject with the readme and description `twine check --strict` asks for."""
    if not rel.endswith("pyproject.toml") or "readme" in text:
        return text
    table = "[project]\n" if "[project]\n" in text else "[tool.poetry]\n"
    if table not in text:
        return text
    added = 'readme = "README.md"\n' + ("" if "description" in text else
                                        'description = "A layout fixture."\n')
    return text.replace(table, table + added, 1)


def _config(train: str = "pkg", extra: str = "") -> str:
    return f'tag-format = "v{{version}}"\n[trains.{train}]\npackages = ["."]\n{extra}'


HATCH_PATTERN = Layout("hatch-pattern", {
    "release.toml": _config(),
    "pyproject.toml": """
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [project]
        name = "hatch-pattern"
        dynamic = ["version"]
        [tool.hatch.version]
        path = "src/hatch_pattern/about.py"
        pattern = "RELEASE = '(?P<version>[^']+)'"
        [tool.hatch.build.targets.wheel]
        packages = ["src/hatch_pattern"]
    """,
    "src/hatch_pattern/__init__.py": "from .about import RELEASE as __version__\n",
    "src/hatch_pattern/about.py": "RELEASE = '2.0.3'\n",
}, "2.0.3", {"src/hatch_pattern/about.py": [("RELEASE = '2.0.3'", "RELEASE = '2.1.0'")]})

# Like requests: setuptools attr into a __version__ module that also holds a hex build number.
SETUPTOOLS_ATTR = Layout("setuptools-attr", {
    "release.toml": _config(extra=(
        'occurrences = [\n'
        '  { path = "src/st_attr/__version__.py", '
        'search = "__build__ = 0x{major:02x}{minor:02x}{micro:02x}" },\n'
        '  { path = "docs/**/*.rst", search = "pip install st-attr=={version}" },\n'
        ']\n')),
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "st-attr"
        dynamic = ["version"]
        [tool.setuptools.dynamic]
        version = {attr = "st_attr.__version__.__version__"}
        [tool.setuptools.packages.find]
        where = ["src"]
        [tool.pytest.ini_options]
        minversion = "2.0.3"
    """,
    "src/st_attr/__init__.py": "from .__version__ import __version__\n",
    "src/st_attr/__version__.py": '__version__ = "2.0.3"\n__build__ = 0x020003\n',
    "docs/guide/install.rst": "Run ``pip install st-attr==2.0.3`` (not 2.0.30).\n",
    "docs/old.rst": "st-attr 2.0.30 was different.\n",
}, "2.0.3", {
    "src/st_attr/__version__.py": [('__version__ = "2.0.3"', '__version__ = "2.1.0"'),
                                   ("__build__ = 0x020003", "__build__ = 0x020100")],
    "docs/guide/install.rst": [("Run ``pip install st-attr==2.0.3`` (not 2.0.30).",
                                "Run ``pip install st-attr==2.1.0`` (not 2.0.30).")],
})

SETUPTOOLS_FILE = Layout("setuptools-file", {
    "release.toml": _config(),
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "st-file"
        dynamic = ["version"]
        [tool.setuptools.dynamic]
        version = {file = "VERSION"}
        [tool.setuptools]
        packages = ["st_file"]
    """,
    "VERSION": "2.0.3\n",
    "st_file/__init__.py": "",
}, "2.0.3", {"VERSION": [("2.0.3", "2.1.0")]})

FLIT = Layout("flit", {
    "release.toml": _config(),
    "pyproject.toml": """
        [build-system]
        requires = ["flit_core>=3.4"]
        build-backend = "flit_core.buildapi"
        [project]
        name = "flit-mod"
        dynamic = ["version", "description"]
    """,
    "src/flit_mod/__init__.py": '"""A flit module."""\n\n__version__ = "2.0.3"\n',
}, "2.0.3", {"src/flit_mod/__init__.py": [('__version__ = "2.0.3"', '__version__ = "2.1.0"')]})

PDM_FILE = Layout("pdm-file", {
    "release.toml": _config(),
    "pyproject.toml": """
        [build-system]
        requires = ["pdm-backend"]
        build-backend = "pdm.backend"
        [project]
        name = "pdm-file"
        dynamic = ["version"]
        [tool.pdm.version]
        source = "file"
        path = "src/pdm_file/__init__.py"
    """,
    "src/pdm_file/__init__.py": '__version__ = "2.0.3"\n',
}, "2.0.3", {"src/pdm_file/__init__.py": [('__version__ = "2.0.3"', '__version__ = "2.1.0"')]})

# Like poetry-core: [tool.poetry] version, and __version__ in a namespace package's subpackage.
POETRY = Layout("poetry", {
    "release.toml": _config(),
    "pyproject.toml": """
        [build-system]
        requires = ["poetry-core>=1.0"]
        build-backend = "poetry.core.masonry.api"
        [tool.poetry]
        name = "nsx-core"
        version = "2.0.3"
        description = "A poetry package in a namespace."
        authors = ["Release Tester <tester@example.invalid>"]
        packages = [{ include = "nsx", from = "src" }]
    """,
    "src/nsx/core/__init__.py": '__version__ = "2.0.3"\n',
    "src/nsx/core/_vendor/other/__init__.py": '__version__ = "9.9.9"\n',
}, "2.0.3", {
    "pyproject.toml": [('version = "2.0.3"', 'version = "2.1.0"')],
    "src/nsx/core/__init__.py": [('__version__ = "2.0.3"', '__version__ = "2.1.0"')],
})

MATURIN = Layout("maturin", {
    "release.toml": _config(),
    "pyproject.toml": """
        [build-system]
        requires = ["maturin>=1.0,<2.0"]
        build-backend = "maturin"
        [project]
        name = "rusty"
        description = "A Rust binary as a Python package."
        readme = "README.md"
        dynamic = ["version"]
        [tool.maturin]
        bindings = "bin"
    """,
    "Cargo.toml": """
        [package]
        name = "rusty"
        version = "2.0.3"
        edition = "2021"

        [dependencies]
    """,
    "Cargo.lock": """
        # This file is automatically @generated by Cargo.
        # It is not intended for manual editing.
        version = 3

        [[package]]
        name = "rusty"
        version = "2.0.3"
    """,
    "README.md": "rusty\n",
    "src/main.rs": 'fn main() {\n    println!("rusty {}", env!("CARGO_PKG_VERSION"));\n}\n',
}, "2.0.3", {
    "Cargo.toml": [('version = "2.0.3"', 'version = "2.1.0"')],
    "Cargo.lock": [('version = "2.0.3"', 'version = "2.1.0"')],
})

MATURIN_WORKSPACE = Layout("maturin-workspace", {
    "release.toml": _config(train="pkg", extra="").replace('["."]', '["python"]'),
    "python/pyproject.toml": """
        [build-system]
        requires = ["maturin>=1.0,<2.0"]
        build-backend = "maturin"
        [project]
        name = "rusty-ws"
        dynamic = ["version"]
        [tool.maturin]
        manifest-path = "../crates/binding/Cargo.toml"
    """,
    "Cargo.toml": """
        [workspace]
        members = ["crates/*"]
        [workspace.package]
        version = "2.0.3"
    """,
    "crates/binding/Cargo.toml": """
        [package]
        name = "rusty-binding"
        version.workspace = true
    """,
    "crates/core/Cargo.toml": """
        [package]
        name = "rusty-core"
        version.workspace = true
    """,
    "Cargo.lock": """
        version = 3

        [[package]]
        name = "itoa"
        version = "2.0.3"
        source = "registry+https://github.com/rust-lang/crates.io-index"

        [[package]]
        name = "rusty-binding"
        version = "2.0.3"

        [[package]]
        name = "rusty-core"
        version = "2.0.3"
    """,
}, "2.0.3", {
    "Cargo.toml": [('version = "2.0.3"', 'version = "2.1.0"')],
    "Cargo.lock": [('version = "2.0.3"', 'version = "2.1.0"')] * 2,
})


def _scm(name: str, build: str, tool: str) -> Layout:
    return Layout(name, {
        "release.toml": _config(extra='occurrences = [{ path = "README.md", '
                                      f'search = "pip install {name}=={{version}}" }}]\n'),
        "pyproject.toml": f"""
            [build-system]
            {build}
            [project]
            name = "{name}"
            dynamic = ["version"]
            {tool}
        """,
        "README.md": f"Install: pip install {name}==2.0.3\n",
        f"src/{name.replace('-', '_')}/__init__.py": "",
        ".gitignore": "_version.py\n",
    }, "2.0.3", {"README.md": [(f"Install: pip install {name}==2.0.3",
                                f"Install: pip install {name}==2.1.0")]}, tag_driven=True)


SETUPTOOLS_SCM = _scm(
    "scm-st", 'requires = ["setuptools>=64", "setuptools-scm>=8"]\n'
    'build-backend = "setuptools.build_meta"', "[tool.setuptools_scm]")
HATCH_VCS = _scm(
    "scm-hatch", 'requires = ["hatchling", "hatch-vcs"]\nbuild-backend = "hatchling.build"',
    '[tool.hatch.version]\nsource = "vcs"')
PDM_SCM = _scm(
    "scm-pdm", 'requires = ["pdm-backend"]\nbuild-backend = "pdm.backend"',
    '[tool.pdm.version]\nsource = "scm"')

ALL = (HATCH_PATTERN, SETUPTOOLS_ATTR, SETUPTOOLS_FILE, FLIT, PDM_FILE, POETRY, MATURIN,
       MATURIN_WORKSPACE, SETUPTOOLS_SCM, HATCH_VCS, PDM_SCM)
