"""Allow-list presets read from this machine's own pip, npm and git configuration.

A preset names the hosts a tool is configured to fetch from, so that a policy
can say ``presets = ["pip"]`` instead of copying registry names into it.
Nothing a sandboxed command could have written widens a preset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from corral._logger import get_logger
from corral.network.presets._common import Preset, Reading
from corral.network.presets._git import read_git_remotes
from corral.network.presets._npm import read_npm
from corral.network.presets._pip import read_pip

__all__ = ["PRESETS", "Preset", "read_preset"]

logger = get_logger(__name__)

PRESETS = ("pip", "npm", "git-remotes")

_READERS: dict[str, Callable[[Reading], None]] = {
    "pip": read_pip,
    "npm": read_npm,
    "git-remotes": read_git_remotes,
}


def read_preset(
    name: str,
    *,
    workspace: Path,
    environ: Mapping[str, str],
    writable: Sequence[Path] = (),
) -> Preset:
    """Read preset `name` from the configuration the tool itself would read now.

    `environ` is the environment the sandboxed command gets; files beneath the
    workspace or a writable root in `writable` are skipped and noted.  A tool
    that is absent or fails is noted, never raised.  Raises ValueError for a
    name not in `PRESETS`.
    """
    if name not in _READERS:
        raise ValueError(
            f"unknown network preset {name!r}; the presets are {', '.join(PRESETS)}"
        )
    reading = Reading(workspace, environ, writable)
    _READERS[name](reading)
    logger.debug("preset %s: %s", name, reading.patterns)
    return Preset(
        name,
        tuple(reading.patterns),
        tuple(reading.sources),
        tuple(reading.notes),
        dict(reading.environment),
    )
