"""Find what a command must not read or reach: hidden paths and the host's unix sockets.

A read-only mount does not stop ``connect()`` on a unix socket, so every
socket bound on the host when a command starts is covered as well, wherever
it lives.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from corral._home import home_dirs
from corral._logger import get_logger

__all__ = ["HiddenPath", "expand_user_path", "find_hidden", "find_host_sockets"]

logger = get_logger(__name__)

# The kernel's list of bound unix sockets in this network namespace.
_PROC_NET_UNIX = Path("/proc/net/unix")
# Where the kernel keeps a file's POSIX access ACL.
_ACL_XATTR = "system.posix_acl_access"
# Fields before the path in each line of /proc/net/unix.
_UNIX_FIELDS_BEFORE_PATH = 7
# The longest name a unix socket can be bound at: all of sun_path, no NUL after.
_SUN_PATH_MAX = 108


@dataclass(frozen=True)
class HiddenPath:
    """A host path replaced by an empty, unreadable one inside the sandbox."""

    path: Path
    is_dir: bool
    aliases: tuple[Path, ...] = ()
    """Other names it was found by (through links), for explaining refusals."""


def expand_user_path(text: str, environ: Mapping[str, str]) -> Path:
    """Expand a leading ``~`` with the invoking user's home directory."""
    if text == "~" or text.startswith("~/"):
        home = environ.get("HOME") or str(Path.home())
        return Path(home + text[1:])
    return Path(text)


def _expansions(text: str, environ: Mapping[str, str]) -> set[Path]:
    """Expand a leading ``~`` under every home of this user (see `home_dirs`)."""
    paths = {expand_user_path(text, environ)}
    if text == "~" or text.startswith("~/"):
        paths.update(Path(str(home) + text[1:]) for home in home_dirs(environ))
    return paths


def find_hidden(entries: Iterable[str], environ: Mapping[str, str]) -> list[HiddenPath]:
    """Return the hidden entries that exist, by their real paths (links followed).

    Only real paths: a mount over a path through a symbolic link would fail
    (bubblewrap cannot create its parents), and the link leads to the real one.
    """
    found: dict[Path, set[Path]] = {}
    for entry in entries:
        for path in _expansions(entry, environ):
            real = path.resolve()
            if real.exists():
                found.setdefault(real, set()).update({path} - {real})
    return [
        HiddenPath(real, real.is_dir(), tuple(sorted(found[real], key=str)))
        for real in sorted(found, key=str)
    ]


def find_host_sockets(covered: Iterable[Path]) -> list[Path]:
    """Return every bound unix socket path on the host not beneath a `covered` path.

    A snapshot of this network namespace's /proc/net/unix, which cannot show a
    socket bound later, one bound in another network namespace, one bound by a
    relative path (listed so, relative to a directory nobody knows) or through
    the binder's own /proc/self/fd/N (relative to a descriptor of another
    process), one renamed since, or whose directory was, nor a hard link's
    other names.  Landlock ABI 9 refuses all of them in the kernel; below it
    only the private directories and the hidden paths hold them.
    """
    covered_paths = tuple(covered)
    sockets: set[Path] = set()
    seen: set[Path] = set()
    try:
        # A name is listed as its bytes: no decoding, no line end but newline.
        lines = _PROC_NET_UNIX.read_bytes().split(b"\n")[1:]
    except OSError:
        return []
    for at, line in enumerate(lines):
        fields = line.split(None, _UNIX_FIELDS_BEFORE_PATH)
        if len(fields) <= _UNIX_FIELDS_BEFORE_PATH:
            continue
        name = fields[_UNIX_FIELDS_BEFORE_PATH]
        if not name.startswith(b"/"):
            continue
        for raw in _names(name, lines, at + 1):
            path = Path(os.fsdecode(raw))
            if path not in seen:
                seen.add(path)
                _add_socket(sockets, path, covered_paths)
    return sorted(sockets)


def _add_socket(sockets: set[Path], path: Path, covered: tuple[Path, ...]) -> None:
    """Add `path` to `sockets` if it is a host socket a command could reach.

    Judged where the socket really is: a name as bound may climb out of a
    covered directory (``/tmp/../x.sock``) or pass through a link.
    """
    try:
        # Bound through a linked directory (/var/run/...): cover the real one.
        path = Path(os.path.realpath(path.parent)) / path.name
        info = path.lstat()
        if _beneath(path, covered) or not stat.S_ISSOCK(info.st_mode):
            return
        if not _reachable(path):
            return
    except OSError:
        return
    sockets.add(path)
    if info.st_nlink > 1:
        logger.warning(
            "the host socket %s has %d other names, which cannot be found to cover",
            path,
            info.st_nlink - 1,
        )


def _names(name: bytes, lines: list[bytes], start: int) -> list[bytes]:
    """The names a line of the listing may stand for: `name`, or more of it.

    A newline in a name cuts it in the listing, and the rest is on the `lines`
    from `start` on: besides `name` itself, each longer name so made that is a
    socket (up to the longest name a socket can have).
    """
    found = []
    whole = name
    for at in range(start, len(lines)):
        whole += b"\n" + lines[at]
        if len(whole) > _SUN_PATH_MAX:
            break
        if _is_socket(whole):
            found.append(whole)
    return [name, *found]


def _is_socket(name: bytes) -> bool:
    try:
        return stat.S_ISSOCK(os.lstat(name).st_mode)
    except OSError:
        return False


def _beneath(path: Path, prefixes: tuple[Path, ...]) -> bool:
    return any(path.is_relative_to(prefix) for prefix in prefixes)


def _reachable(path: Path) -> bool:
    """Tell whether a process of ours without capabilities could reach `path`.

    Root on the host passes every permission check, but a sandboxed command
    (and bubblewrap setting it up) holds no capabilities: a socket behind
    another user's private directory is out of its reach, and trying to cover
    it would fail the run.  A directory with an ACL may grant more than its
    mode bits say, so it counts as reachable and the socket is covered.
    """
    uid, groups = os.geteuid(), {os.getegid(), *os.getgroups()}
    for directory in path.parents:
        info = directory.stat()
        if info.st_uid == uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed and not _has_acl(directory):
            return False
    return True


def _has_acl(path: Path) -> bool:
    try:
        os.getxattr(path, _ACL_XATTR)
    except OSError:
        return False
    return True
