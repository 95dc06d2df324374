"""corral's own files: opened as regular files or refused, and told apart on disk.

`open_regular` is the one way corral opens a file of its own there: a link,
FIFO, socket, device or directory planted at the name is refused at once,
never followed or waited on.  `identity` tells a path that still names the
same file from one that was replaced.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path

from corral.errors import CorralError

__all__ = ["PRIVATE_FILE_MODE", "StateFileError", "identity", "open_regular"]

PRIVATE_FILE_MODE = 0o600
"""corral's own files are evidence and settings of one user: owner-only."""

# O_NOFOLLOW: a link in place of the file is refused, not followed.
# O_NONBLOCK: opening a FIFO returns at once instead of waiting for its other end.
_GUARD = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# What open(2) says when the name is not a file it can open as one: a link
# (O_NOFOLLOW), a directory opened for writing, a FIFO with no reader opened
# for writing without blocking, a device without its driver.
_NOT_A_FILE = (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.ENODEV)
_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class StateFileError(CorralError):
    """Something other than a regular file stands at one of corral's file names."""

    def __init__(self, path: Path | str, what: str) -> None:
        self.path = Path(path)
        self.what = what
        super().__init__(
            f"{path} is {what}, not a file corral wrote: corral neither follows "
            "nor waits on what is planted at its own file names; move it out of "
            "the way (out of the state directory) and retry"
        )


def open_regular(path: Path | str, flags: int, mode: int = PRIVATE_FILE_MODE) -> int:
    """Open `path` with `flags`, refusing anything but a regular file.

    Links are not followed and a FIFO is not waited on; the descriptor comes
    back without O_NONBLOCK (unless `flags` asked for it) and not inheritable.
    Raises `StateFileError` for a link, FIFO, socket, device or directory,
    or a file with a second name (a hard link), and `OSError` for any other
    failure (an absent file, a full disk).
    """
    try:
        fd = os.open(path, flags | _GUARD, mode)
    except OSError as exc:
        if exc.errno in _NOT_A_FILE:
            raise StateFileError(path, _what_is_at(path)) from exc
        raise
    try:
        _check_regular(fd, path)
        if not flags & os.O_NONBLOCK:
            # F_SETFL changes only the status flags: this clears O_NONBLOCK alone.
            fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_regular(fd: int, path: Path | str) -> None:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise StateFileError(path, _kind(info.st_mode))
    if info.st_nlink > 1:
        # Another name, in a directory a sandbox may write, would let it change
        # what corral keeps out of every sandbox's reach.
        raise StateFileError(path, f"a file with {info.st_nlink} names (hard links)")


def identity(path: Path) -> tuple[int, int] | None:
    """Return (device, inode) of `path` itself (links not followed); None if absent."""
    try:
        info = path.lstat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _what_is_at(path: Path | str) -> str:
    try:
        return _kind(os.lstat(path).st_mode)
    except OSError:
        return "not a regular file"


def _kind(mode: int) -> str:
    for is_kind, name in _KINDS:
        if is_kind(mode):
            return name
    return "not a regular file"
