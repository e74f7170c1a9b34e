"""Other trains' pinned releases in install-back: which pins, and which index has them."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from release.errors import MissingPinError
from release.publish.endpoints import Endpoint
from release.publish.index import IndexClient, IndexFile
from release.verify.crosspins import CrossPin, cross_train_pins, locate
from release.verify.installs import Wheel
from release.verify.uvconfig import index_config

OWNERS = {"skyline-core": "core", "skyline-streaming": "core",
          "skyline-ext-streaming": "extensions", "skyline-ext-ai": "extensions"}


def wheel(name: str, *requires: str) -> Wheel:
    return Wheel(Path(f"{name}.whl"), name, "0.4.2", {}, (), (), requires)


def test_only_exact_runtime_pins_of_other_trains_count() -> None:
    wheels = [wheel("skyline-core", "requests>=2"),
              wheel("skyline-streaming", "skyline-core==0.4.2", "Skyline_Ext_Streaming==1.2.0",
                    'skyline-ext-ai==1.2.0; extra == "ai"', "skyline-ext-ai>=1.0")]
    assert cross_train_pins(wheels, OWNERS) == [
        CrossPin("skyline-streaming", "skyline-ext-streaming", "1.2.0", "extensions")]


class Listing(IndexClient):
    """An index that lists one file per version it has."""

    def __init__(self, versions: Mapping[str, Sequence[str]]) -> None:
        super().__init__("http://listing.invalid/simple/")
        self.versions = versions

    def files(self, project: str) -> list[IndexFile]:
        return [IndexFile(f"{project}-{v}.tar.gz", f"http://listing.invalid/{v}", None, v, False)
                for v in self.versions.get(project, ())]


@dataclass(frozen=True)
class Listed(Endpoint):
    listing: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def client(self) -> IndexClient:
        return Listing(dict(self.listing))


def index(name: str, **versions: tuple[str, ...]) -> Listed:
    url = f"https://{name}.example/simple/"
    return Listed(name, url.replace("simple", "legacy"), url, None, name == "pypi", True,
                  f"{name.upper()}_TOKEN",
                  tuple((k.replace("_", "-"), v) for k, v in versions.items()))


PIN = CrossPin("skyline-streaming", "skyline-ext-streaming", "1.2.0", "extensions")
FALLBACKS = ["https://pypi.example/simple/", "https://pypi.org/simple/"]


def test_a_pin_on_the_target_needs_nothing_more() -> None:
    target = index("testpypi", skyline_ext_streaming=("1.2.0",))
    sources = locate([PIN], target, index("pypi"), FALLBACKS)
    assert sources.indexes == [target.simple_url, *FALLBACKS]
    assert sources.find_links == []


def test_a_pin_published_on_production_comes_from_there() -> None:
    production = index("pypi", skyline_ext_streaming=("1.2.0",))
    sources = locate([PIN], index("testpypi"), production, ["https://pypi.org/simple/"])
    assert sources.indexes == ["https://testpypi.example/simple/", production.simple_url,
                               "https://pypi.org/simple/"]
    assert sources.find_links == []


def test_a_target_with_other_versions_does_not_hide_production() -> None:
    production = index("pypi", skyline_ext_streaming=("1.2.0",))
    sources = locate([PIN], index("testpypi", skyline_ext_streaming=("1.1.0",)), production,
                     FALLBACKS)
    assert sources.indexes == ["https://testpypi.example/simple/", *FALLBACKS]
    assert sources.find_links == ["https://pypi.example/simple/skyline-ext-streaming/"]
    config = tomllib.loads(index_config(sources.indexes, sources.find_links))
    assert config["find-links"] == sources.find_links
    assert [i["url"] for i in config["index"]] == [sources.indexes[0], FALLBACKS[0],
                                                   FALLBACKS[-1].rstrip("/")]


def test_a_pin_on_neither_index_is_one_line_naming_the_train() -> None:
    with pytest.raises(MissingPinError) as caught:
        locate([PIN], index("testpypi", skyline_ext_streaming=("1.1.0",)),
               index("pypi", skyline_ext_streaming=("1.1.0",)), FALLBACKS)
    assert str(caught.value) == (
        "skyline-streaming pins skyline-ext-streaming==1.2.0 (train extensions), which is on "
        "neither https://testpypi.example/simple/ nor https://pypi.example/simple/: release "
        "extensions first")


def test_production_as_target_looks_nowhere_else() -> None:
    with pytest.raises(MissingPinError, match=r"which is not on https://pypi\.example/simple/: "
                       "release extensions first"):
        locate([PIN], index("pypi"), None, [])


def test_no_pins_ask_no_index() -> None:
    target = index("testpypi")
    assert locate([], target, None, []).indexes == [target.simple_url]
