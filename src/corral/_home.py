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

__all__ = ["check_home", "home_dirs", "passwd_home", "user_name"]


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


def home_dirs(environ: Mapping[str, str]) -> list[Path]:
    """Return this user's home directories: ``$HOME`` (if absolute), then passwd's.

    A caller can point HOME anywhere; what lives in the home the system knows
    for this uid matters all the same, so both count wherever homes do.
    """
    homes = []
    home = environ.get("HOME", "")
    if home.startswith("/"):
        homes.append(Path(home))
    passwd = passwd_home()
    if passwd is not None and passwd not in homes:
        homes.append(passwd)
    return homes


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
