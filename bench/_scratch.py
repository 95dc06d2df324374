"""Scratch space for one benchmark run, outside /tmp and removed afterwards."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def scratch(prefix: str) -> Path:
    """A fresh directory under ~/.cache/corral-bench, for the caller to remove.

    Not under /tmp: every sandbox has a private /tmp of its own, so a workspace
    there would not be the one the sandbox sees.
    """
    base = Path.home() / ".cache" / "corral-bench"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def remove_tree(path: Path) -> None:
    """Remove a directory tree, including corral's mode-000 stand-ins inside it."""
    # Top-down, so each directory is opened up before the walk enters it.
    for directory, subdirectories, _ in os.walk(path):
        for name in subdirectories:
            child = Path(directory) / name
            if not child.is_symlink():
                child.chmod(0o700)
    shutil.rmtree(path)
