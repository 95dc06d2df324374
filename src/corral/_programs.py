"""Finding the programs corral itself runs on the host, outside any sandbox.

A program corral runs on the host runs with the person's rights, so it must
not be one a sandboxed command could have written: every ``PATH`` entry that
is relative or lies beneath a directory commands may write is passed over.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Found", "beneath", "find_program", "trusted_search_path"]


def _forms(path: Path) -> list[Path]:
    """`path` made absolute as written, and with its symbolic links resolved."""
    written = Path(os.path.normpath(path.absolute()))
    resolved = path.resolve()
    return [written] if written == resolved else [written, resolved]


def beneath(path: Path, roots: Iterable[Path]) -> Path | None:
    """Return the root of `roots` that `path` is, or lies beneath, in either form."""
    roots = [form for root in roots for form in _forms(root)]
    for form in _forms(path):
        for root in roots:
            if form == root or root in form.parents:
                return root
    return None


def trusted_search_path(environ: Mapping[str, str], avoid: Sequence[Path]) -> list[str]:
    """The absolute ``PATH`` entries of `environ` beneath none of `avoid`."""
    entries = environ.get("PATH", os.defpath).split(os.pathsep)
    return [e for e in entries if e.startswith("/") and beneath(Path(e), avoid) is None]


@dataclass
class Found:
    """The program found, if any, and the candidates passed over and why."""

    path: str | None = None
    skipped: list[str] = field(default_factory=list)


def find_program(
    name: str, environ: Mapping[str, str], *, avoid: Sequence[Path]
) -> Found:
    """Find `name` on ``PATH`` as a shell would, passing over untrusted places.

    A candidate is passed over when its ``PATH`` entry is relative or it lies
    (as written or resolved) beneath one of `avoid`; `Found.skipped` says so.
    """
    found = Found()
    for entry in environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = Path(entry or ".", name)
        try:
            info = candidate.stat()
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or not os.access(candidate, os.X_OK):
            continue
        root = beneath(candidate, avoid) if entry.startswith("/") else Path()
        if root is None:
            found.path = str(candidate)
            return found
        found.skipped.append(
            f"{candidate} (in {root}, where a sandboxed command could have put it)"
        )
    return found
