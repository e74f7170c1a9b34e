"""Is the version still free? No package of the train may have it on a target index (any
file, yanked too): a version is burnt once a file of it was uploaded."""

from __future__ import annotations

from collections.abc import Sequence

from release.config import Config, Train
from release.errors import IndexServerError, ReleaseError
from release.publish.endpoints import Endpoint, endpoint
from release.publish.index import IndexClient


def check_available(train: Train, version: str, targets: Sequence[Endpoint],
                    require_check: bool = False) -> list[str]:
    """No package of the train has this version (any file, yanked too) on a target index:
    a version is burnt once a file of it was uploaded. An index that cannot be asked is a
    warning line (an error with `require_check`)."""
    lines = []
    for target in targets:
        if not train.packages:
            break
        try:
            with IndexClient(target.simple_url, target.json_api, retries=1,
                             timeout=10) as client:
                taken = [p.name for p in train.packages if client.has_version(p.name, version)]
        except IndexServerError as exc:
            if require_check:
                raise IndexServerError(f"could not check whether {train.name} {version} is "
                                       f"free on {target.name}: {exc} (--require-index-check)"
                                       ) from None
            lines.append(f"warning: could not check whether {train.name} {version} is free on "
                         f"{target.name} ({target.where_simple}): {exc}; going on "
                         "(--require-index-check refuses instead)")
            continue
        if taken:
            raise ReleaseError(f"{taken[0]} {version} is already on {target.name} "
                               f"({target.where_simple}): that version is burnt; release the "
                               f"next one (invoke bump --train {train.name})")
        lines.append(f"{train.name} {version}: none of its {len(train.packages)} package(s) "
                     f"has that version on {target.name} ({target.where_simple})")
    return lines


def availability(config: Config, train: Train, version: str,
                 require_check: bool = False) -> list[str]:
    """check_available against the configured testpypi and pypi (TESTPYPI_*/PYPI_* override)."""
    return check_available(train, version, [endpoint(config, "testpypi"),
                                            endpoint(config, "pypi")], require_check)
