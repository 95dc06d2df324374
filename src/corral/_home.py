"""Who runs corral and where their home is, from the kernel's ids, not the environment.

``$USER`` and ``$HOME`` are whatever the caller set; records name the effective
uid's passwd entry, and credential stores are looked for under both homes.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from pathlib import Path

from corral.errors import WorkspaceError

__all__ = ["check_home", "passwd_home", "user_name"]


def user_name() -> str:
    """Return the effective uid's login name, or the uid itself when it has none."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def passwd_home() -> Path | None:
    """Return the effective uid's home directory from the passwd database, if any."""
    try:
        home = pwd.getpwuid(os.geteuid()).pw_dir
    except KeyError:
        return None
    return Path(home) if home.startswith("/") else None


def check_home(environ: Mapping[str, str]) -> None:
    """Refuse a HOME that is set but empty or relative.

    Such a HOME would place hidden paths, the user policy and corral's state
    relative to whatever directory corral starts in.  Raises `WorkspaceError`.
    """
    home = environ.get("HOME")
    if home is not None and not home.startswith("/"):
        raise WorkspaceError(
            f"HOME is {home!r}, not an absolute path; set HOME to your home "
            "directory (e.g. HOME=/home/you) or unset it to use the passwd entry's"
        )
