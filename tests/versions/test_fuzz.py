"""Fuzzed versions: every PEP 440 spelling, odd pyproject files, random package files.

What must hold for any input: only `ReleaseError`s escape the public entry points (config
loading, bump planning, `check`), so no traceback reaches the user; every bump is valid and
greater; a version written back keeps the repository's style; and every write leaves each byte
it does not change as it was (random configuration tables: tests/test_fuzz_config.py).

The default profile keeps the suite fast (CI); `nox -s fuzz` runs the deep one
(HYPOTHESIS_PROFILE=deep) with many more examples (tests/helpers/fuzzing.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import event, example, given
from hypothesis import strategies as st
from packaging.version import Version

from release.commands.status import run_check
from release.config import load
from release.errors import ReleaseError, VersionError
from release.versions.agreement import problems
from release.versions.pep440 import bump, format_version, parse
from release.versions.plan import apply_plan, plan_change
from release.versions.scan import scan
from tests.helpers.fuzzing import (
    PART,
    TOML_VALUES,
    dump_toml,
    fuzz,
    scratch_dir,
    version_texts,
)
from tests.helpers.repos import write


@fuzz
@given(version_texts())
@example(" 0!0+0")  # an explicit zero epoch is kept
@example("0!0A0-00+0")  # so are leading zeros of pre, post and dev numbers
def test_every_written_form_parses_as_packaging_reads_it_and_keeps_its_style(text: str) -> None:
    written = parse(text)
    assert written.version == Version(text)
    assert written.text == text.strip()
    assert format_version(written.version, written.style) == text.strip()


@fuzz
@given(version_texts(), PART)
def test_every_bump_is_valid_greater_and_written_in_the_same_style(text: str, part: str) -> None:
    current = parse(text)
    try:
        new = bump(current, part)
    except VersionError:
        return  # e.g. --part post of an rc: refused with a message
    assert new.version > current.version
    assert Version(new.text) == new.version
    again = parse(new.text)
    assert again.version == new.version
    assert format_version(again.version, again.style) == new.text
    assert new.text.startswith(current.style.prefix)


@fuzz
@given(version_texts(), version_texts())
def test_to_is_greater_or_refused(text: str, target: str) -> None:
    current = parse(text)
    try:
        new = bump(current, to=target)
    except VersionError as exc:
        if Version(target).local:  # a local version is never a release
            assert "is a local version" in str(exc)
            return
        assert "not greater" in str(exc)
        assert Version(target) <= current.version
        return
    assert new.version == Version(target) > current.version
    assert Version(new.text) == new.version


@fuzz
@given(st.text(max_size=40), st.one_of(PART, st.text(max_size=8)), st.text(max_size=20))
def test_garbage_is_refused_with_a_version_error(text: str, part: str, to: str) -> None:
    try:
        current = parse(text)
    except VersionError:
        return
    for kwargs in ({"part": part}, {"to": to}):
        try:
            bump(current, **kwargs)
        except VersionError:
            pass


# --- pyproject files: odd but valid TOML, and every write keeps what it does not change -------

@dataclass(frozen=True)
class Layout:
    """Two packages (alpha carries the version, beta pins it) written in a random style."""

    files: dict[str, str]  # path -> text: {V} where the version goes, {O} what stays old
    newline: str

    def render(self, version: str, old: str) -> dict[str, str]:
        return {path: text.replace("{V}", version).replace("{O}", old)
                .replace("\n", self.newline) for path, text in self.files.items()}


WS = st.sampled_from(["", " ", "  ", "\t"])
COMMENT = st.sampled_from(["", "  # a comment", " #", "\t# version = \"9.9\"", "# ünïcode"])


@st.composite
def _string(draw: st.DrawFn, value: str) -> str:
    quote = draw(st.sampled_from(['"', "'", '"""', "'''"]))
    return f"{quote}{value}{quote}"


@st.composite
def layouts(draw: st.DrawFn) -> Layout:
    line = lambda key, value: (  # noqa: E731 - a local shorthand
        f"{draw(WS)}{key}{draw(WS)}={draw(WS)}{value}{draw(COMMENT)}\n")
    dynamic = draw(st.booleans())
    head = draw(st.sampled_from(["", "# alpha's build config\n", "\n\n", "#!\n# -*- x -*-\n"]))
    project = head + f"[project]{draw(COMMENT)}\n" + line("name", draw(_string("alpha")))
    if dynamic:
        project += line("dynamic", '["version"]')
    else:
        project += line("version", draw(_string("{V}")))
    project += draw(st.sampled_from([
        "", line("urls", '{ home = "https://x.invalid", "odd key" = "y" }'),
        line("authors", '[{ name = "A", email = "a@x.invalid" }, {name="B"}]'),
        'keywords = [\n  "a",  # one\n  "b",\n]\n', line("description", "'''multi\nline'''"),
    ]))
    build = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    tables = [project, build]
    if dynamic:
        tables.append("[tool.hatch.version]\n" + line("path", '"src/alpha/__init__.py"'))
    tables.append(draw(st.sampled_from(["", "[tool.other]\nx = 1\n[tool.other.sub]\ny = [1,2]\n",
                                        "[[tool.list]]\na = 1\n[[tool.list]]\na = 2\n"])))
    order = draw(st.permutations(tables[1:]))
    alpha = "".join([tables[0], *order]) if draw(st.booleans()) else \
        "".join([*order, tables[0]])
    dunder = draw(st.sampled_from(['__version__ = "{V}"\n', "__version__ = '{V}'\n",
                                   '"""Alpha."""\n\n__version__: str = "{V}"  # kept\n',
                                   'X = 1\n__version__  =  "{V}"\nY = "{O}x"\n',
                                   # a page break and a line separator are not line ends here
                                   '"""A.\u2028B."""\n\x0c\n__version__ = "{V}"\n']))
    pin_ws = draw(st.sampled_from(["", " "]))
    pin = draw(_string(f"alpha{pin_ws}=={pin_ws}{{V}}")).replace("'''", '"""')
    beta = ("[project]\nname = 'beta'\nversion = \"7.0\"\n"
            + draw(st.sampled_from([
                f"dependencies = [{pin}]\n",
                f"dependencies = [\n    {pin},  # pinned\n    \"other>=1\",\n]\n",
                f"[project.optional-dependencies]\nx = [{pin}]\n",
            ]))
            + draw(st.sampled_from(["", f"[dependency-groups]\ndev = [{pin}, {{include-group = "
                                        '"y"}]\ny = []\n'])))
    files = {"alpha/pyproject.toml": alpha, "alpha/src/alpha/__init__.py": dunder,
             "beta/pyproject.toml": beta}
    if draw(st.booleans()):
        files["alpha/VERSION"] = draw(st.sampled_from(["{V}\n", "{V}", "  {V}  \n\n"]))
    files["pyproject.toml"] = ('[tool.release]\n[tool.release.trains.a]\npackages = ["alpha"]\n'
                               '[tool.release.trains.b]\npackages = ["beta"]\n')
    return Layout(files, draw(st.sampled_from(["\n", "\n", "\r\n"])))


# As a file holds them: no surrounding whitespace.
PLAIN_VERSIONS = version_texts(padded=False)


@fuzz
@given(layouts(), PLAIN_VERSIONS, st.one_of(PART, PLAIN_VERSIONS.map(lambda v: "to:" + v)))
@example(Layout({  # CRLF files keep their line endings
    "alpha/pyproject.toml": '[project]\nname="alpha"\nversion="{V}"\n',
    "alpha/src/alpha/__init__.py": 'X = 1\n__version__  =  "{V}"\nY = "{O}x"\n',
    "beta/pyproject.toml": "[project]\nname = 'beta'\nversion = \"7.0\"\n"
                           'dependencies = ["alpha=={V}"]\n',
    "pyproject.toml": '[tool.release.trains.a]\npackages = ["alpha"]\n'
                      '[tool.release.trains.b]\npackages = ["beta"]\n'}, "\r\n"), "0+0", "major")
def test_a_bump_changes_exactly_the_version_bytes(layout: Layout, old: str, how: str) -> None:
    with scratch_dir() as root:
        before = layout.render(old, old)
        write(root, before, dedent=False)
        for path, text in before.items():
            (root / path).write_bytes(text.encode())
        try:
            config = load(root)
            assert not problems(config, scan(config))
            part, to = (None, how[3:]) if how.startswith("to:") else (how, None)
            plan = plan_change(config, config.train("a"), to, part=part)
        except VersionError as exc:  # the part or --to makes no sense: the only refusal
            event(f"refused: {type(exc).__name__}")
            return
        event("bumped and written")
        expected = layout.render(plan.new.text, old)
        planned = {str(e.path): e.new for e in plan.edits}
        changed = {p for p in before if before[p] != expected[p]}
        assert set(planned) == changed
        for path, text in planned.items():
            assert text == expected[path], path
        apply_plan(config, plan)
        for path, text in expected.items():
            assert (root / path).read_bytes() == text.encode(), path
        after = load(root)
        assert not problems(after, scan(after))


REQUIREMENTS = st.one_of(
    st.sampled_from(["alpha==1.0", "alpha == 1.0", "alpha==1.0.*", "alpha===1.0", "alpha>=1.0",
                     "alpha<1", "alpha~=1.0", "alpha!=1.0", "alpha[x]==1.0; python_version>'3'",
                     "alpha @ https://x.invalid/a.whl", "alpha==v1.0", "alpha==1.0+local",
                     "alpha", "beta==1.0", "not a requirement", "", "alpha==", "alpha==1.0,<2"]),
    TOML_VALUES)


def _sometimes(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(value, value, TOML_VALUES)


PACKAGE_TABLES = st.fixed_dictionaries({}, optional={
    "project": _sometimes(st.fixed_dictionaries({"name": _sometimes(st.just("alpha"))}, optional={
        "version": _sometimes(st.sampled_from(["1.0", "v1.0", "1.0rc1", "one", ""])),
        "dynamic": _sometimes(st.sampled_from([["version"], "version", [], ["readme"]])),
        "dependencies": _sometimes(st.lists(REQUIREMENTS, max_size=3)),
        "optional-dependencies": _sometimes(st.dictionaries(
            st.text(min_size=1, max_size=4), _sometimes(st.lists(REQUIREMENTS, max_size=2)),
            max_size=2)),
    })),
    "dependency-groups": _sometimes(st.dictionaries(
        st.text(min_size=1, max_size=4), _sometimes(st.lists(_sometimes(st.one_of(
            REQUIREMENTS, st.just({"include-group": "x"}))), max_size=2)), max_size=2)),
    "tool": _sometimes(st.fixed_dictionaries({}, optional={
        "hatch": _sometimes(st.fixed_dictionaries({}, optional={"version": _sometimes(
            st.fixed_dictionaries({}, optional={"path": _sometimes(st.sampled_from(
                ["src/alpha/__init__.py", "VERSION", "../x.py", "/etc/passwd", "nope.py",
                 "src", "src/alpha/__init__.py\x00"]))}))})),
        "setuptools": _sometimes(st.fixed_dictionaries({}, optional={
            "dynamic": _sometimes(st.fixed_dictionaries({}, optional={"version": _sometimes(
                st.fixed_dictionaries({}, optional={
                    "attr": _sometimes(st.sampled_from(["alpha.__version__", "alpha", ".x",
                                                        "alpha..v", "nope.v"])),
                    "file": _sometimes(st.sampled_from(["VERSION", "nope", "../x"]))}))})),
            "package-dir": _sometimes(st.sampled_from([{"": "src"}, {"": "."}, {}]))})),
    })),
})
PACKAGE_FILES = {
    "pyproject.toml": '[tool.release.trains.a]\npackages = ["alpha"]\n'
                      '[tool.release.trains.b]\npackages = ["beta"]\n',
    "beta/pyproject.toml": '[project]\nname = "beta"\nversion = "2.0"\n'
                           'dependencies = ["alpha==1.0"]\n',
    "alpha/src/alpha/__init__.py": '__version__ = "1.0"\n',
    "alpha/VERSION": "1.0\n",
}


@fuzz
@given(PACKAGE_TABLES, st.sampled_from(["alpha/pyproject.toml", "beta/pyproject.toml"]),
       st.one_of(st.none(), st.text(max_size=60)),
       st.sampled_from(["alpha/VERSION", "alpha/src/alpha/__init__.py"]))
def test_any_package_file_is_read_or_refused_with_a_release_error(
        table: dict[str, Any], target: str, other_text: str | None, other: str) -> None:
    text = dump_toml(table)
    if text is None:
        return
    with scratch_dir() as root:
        write(root, {**PACKAGE_FILES, target: text,
                     **({other: other_text} if other_text is not None else {})}, dedent=False)
        for entry in (lambda: load(root), lambda: run_check(root),
                      lambda: plan_change(load(root), load(root).train("a"), part="patch")):
            try:
                entry()
            except ReleaseError as exc:
                assert str(exc).strip()
