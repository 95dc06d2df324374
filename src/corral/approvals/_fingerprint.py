"""The fingerprint of a run: one digest of exactly what it would do.

A request for approval is identified by it, and an approval covers that
fingerprint alone, so that nothing about the run can change after a person
said yes: not the directory, the argv, the boundary, nor the scripts it runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from corral._digest import sha256_hex

__all__ = ["fingerprint"]


def fingerprint(
    *,
    workspace: Path,
    cwd: Path,
    argv: Sequence[str],
    boundary: Mapping[str, str],
    scripts: Mapping[str, str],
) -> str:
    """Return the hex digest that names exactly what a run would do.

    `scripts` maps the workspace-relative files that decide what a test runner
    or build runs to digests of their content: an approval given before a
    command rewrote its package.json or Makefile does not cover it afterwards.
    """
    material = {
        "workspace": os.fsdecode(workspace),
        "cwd": os.fsdecode(cwd),
        "argv": [os.fsencode(arg).hex() for arg in argv],
        "boundary": dict(sorted(boundary.items())),
        "scripts": dict(sorted(scripts.items())),
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return sha256_hex(text.encode())
