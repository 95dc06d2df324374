"""corral's own state directory: event log, sandbox support files, placeholder journal.

The directory lives outside every workspace and is hidden from every sandbox,
so a command can neither read nor rewrite what corral records about it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from corral.errors import WorkspaceError

__all__ = ["ensure_private_dir", "state_dir"]

# Owner-only: the event log and approvals are evidence, not shared files.
_PRIVATE_MODE = 0o700


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return corral's state directory (``$XDG_STATE_HOME/corral``), creating it.

    Raises `WorkspaceError` when it cannot be created or is not private.
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or ""
    root = Path(base) if base.startswith("/") else Path.home() / ".local" / "state"
    return ensure_private_dir(root / "corral")


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (mode 0700) if missing and check that only its owner can use it.

    Raises `WorkspaceError` when it is not a directory, not ours, or open to others.
    """
    try:
        path.mkdir(mode=_PRIVATE_MODE, parents=True, exist_ok=True)
        info = path.lstat()
    except OSError as exc:
        raise WorkspaceError(
            f"cannot create corral's state directory {path}: {exc.strerror}; "
            "set XDG_STATE_HOME to a directory you own"
        ) from exc
    if not path.is_dir() or path.is_symlink():
        raise WorkspaceError(f"{path} is not a directory; move it away and retry")
    if info.st_uid != os.geteuid():
        raise WorkspaceError(
            f"{path} belongs to uid {info.st_uid}, not to you; "
            "set XDG_STATE_HOME to a directory you own"
        )
    if info.st_mode & 0o077:
        path.chmod(_PRIVATE_MODE)
    return path
