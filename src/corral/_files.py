"""A file's identity on disk: its device and inode, which a rename keeps.

Compared before and after a step, it tells a path that still names the same
file from one that was replaced (removed and created again, or renamed over).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["identity"]


def identity(path: Path) -> tuple[int, int] | None:
    """Return (device, inode) of `path` itself (links not followed); None if absent."""
    try:
        info = path.lstat()
    except OSError:
        return None
    return info.st_dev, info.st_ino
