"""Host files reached through a private directory, kept readable inside the sandbox.

/run is a fresh tmpfs in every sandbox, but /etc/resolv.conf often links into it
(systemd-resolved, resolvconf, NetworkManager): its target is bound back read-only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["RESTORED_LINKS", "find_restored"]

RESTORED_LINKS: tuple[Path, ...] = (Path("/etc/resolv.conf"),)
"""Host links whose target a command needs to read even when it lies in /run."""

# A longer chain of links is not followed (the kernel itself stops at 40).
_MAX_HOPS = 40


def find_restored(
    links: Iterable[Path], private: Sequence[Path]
) -> tuple[tuple[Path, Path], ...]:
    """Return (host file, path inside) for each link that leads into `private`.

    The path inside is the first step of the chain beneath a private directory:
    bound there, the file ends the chain as it does on the host.  Links that
    dangle, lead elsewhere or end at something other than a file are left alone.
    """
    found = []
    for link in links:
        try:
            real = link.resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        destination = _first_private_step(link, private)
        if destination is not None and real.is_file():
            found.append((real, destination))
    return tuple(found)


def _first_private_step(link: Path, private: Sequence[Path]) -> Path | None:
    step = link
    for _ in range(_MAX_HOPS):
        if not step.is_symlink():
            return None
        target = step.parent / step.readlink()
        # The directories on the way are resolved as the kernel would; the last
        # component may itself be a link, the next step.
        step = Path(os.path.realpath(target.parent)) / target.name
        if any(step.is_relative_to(directory) for directory in private):
            return step
    return None
