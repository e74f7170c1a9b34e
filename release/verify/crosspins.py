"""Other trains' releases that the release pins exactly: where install-back finds them.

Installing one train (`nox -s testpypi -- --train core`) needs the exact releases of other
trains its packages pin (a bundle's `skyline-ext-vision==1.2.0`). They come from the target
index when it has them, else from production when they are already published there; an index
that knows the project but lacks that version would hide production's under uv's first-index
strategy, so production's page for that one project is given as extra links. A pin that no
index has is one line naming the package, version and the train to release first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from release.config import Config
from release.errors import MissingPinError
from release.publish.endpoints import Endpoint
from release.publish.index import IndexClient
from release.verify.installs import Wheel


@dataclass(frozen=True)
class CrossPin:
    """`pinned_by` requires `package==version`, a release of another train."""

    pinned_by: str
    package: str  # canonical
    version: str
    train: str


@dataclass
class Sources:
    """Where to install from: indexes in priority order, and extra project pages."""

    indexes: list[str]
    find_links: list[str] = field(default_factory=list)


def _exact(text: str) -> tuple[str, str] | None:
    """(name, version) of a runtime `name==version` requirement; None for others and extras."""
    req = Requirement(text)
    if req.marker is not None and "extra" in str(req.marker):
        return None  # only an extra needs it: install-back installs none
    exact = [s.version for s in req.specifier if s.operator in ("==", "===")]
    return (canonicalize_name(req.name), exact[0]) if len(exact) == 1 else None


def package_trains(config: Config) -> dict[str, str]:
    """Canonical package name -> the train that releases it."""
    return {str(canonicalize_name(p.name)): t.name
            for t in config.trains.values() for p in t.packages}


def cross_train_pins(wheels: Sequence[Wheel], owners: Mapping[str, str]) -> list[CrossPin]:
    """Exact runtime requirements of the wheels that name a package of a train not among
    theirs (`owners`: canonical package name -> train)."""
    ours = {owners.get(w.name) for w in wheels}
    pins: dict[tuple[str, str], CrossPin] = {}
    for wheel in wheels:
        for text in wheel.requires:
            found = _exact(text)
            if found is None:
                continue
            name, version = found
            train = owners.get(name)
            if train is not None and train not in ours:
                pins.setdefault(found, CrossPin(wheel.name, name, version, train))
    return sorted(pins.values(), key=lambda p: (p.train, p.package))


def _project_page(index: Endpoint, package: str) -> str:
    return f"{index.simple_url.rstrip('/')}/{package}/"


def locate(pins: Sequence[CrossPin], target: Endpoint, production: Endpoint | None,
           fallbacks: Sequence[str]) -> Sources:
    """The sources that install every pin: the target, then production (when the target is
    not production itself) and the fallbacks; MissingPinError when neither index has a pin."""
    sources = Sources([target.simple_url, *fallbacks])
    if not pins:
        return sources
    with target.client() as on_target:
        missing = [p for p in pins if not on_target.has_version(p.package, p.version)]
        if not missing:
            return sources
        if production is None:
            raise _missing(missing[0], [target])
        with production.client() as on_production:
            for pin in missing:
                if not on_production.has_version(pin.package, pin.version):
                    raise _missing(pin, [target, production])
                _add_production(sources, on_target, production, pin)
    return sources


def _add_production(sources: Sources, on_target: IndexClient, production: Endpoint,
                    pin: CrossPin) -> None:
    if production.simple_url not in sources.indexes:
        sources.indexes.insert(1, production.simple_url)
    if on_target.files(pin.package):  # the target's other versions would hide production's
        sources.find_links.append(_project_page(production, pin.package))


def _missing(pin: CrossPin, indexes: Sequence[Endpoint]) -> MissingPinError:
    where = " nor ".join(i.where_simple for i in indexes)
    on = f"on neither {where}" if len(indexes) > 1 else f"not on {where}"
    return MissingPinError(f"{pin.pinned_by} pins {pin.package}=={pin.version} (train "
                           f"{pin.train}), which is {on}: release {pin.train} first")
