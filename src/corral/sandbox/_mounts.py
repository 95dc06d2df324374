"""The bubblewrap command line: the namespaces layer's filesystem view, in order.

Order matters: later mounts cover earlier ones.  The root goes read-only
first, then private directories (with the host files restored through them),
then writable roots, then protected paths over them (with the writable git
directories and pinned parents among them, each after what holds it), then
hidden paths and host sockets over everything.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from corral.errors import SandboxSetupError
from corral.policy import NetworkMode
from corral.sandbox._hidden import HiddenPath
from corral.sandbox._layers import Layer
from corral.sandbox._profile import PRIVATE_DIRS, SandboxProfile

__all__ = ["SupportFiles", "View", "bwrap_command", "bwrap_options"]

# Writable by a uid-0 process even without capabilities, and able to
# reconfigure or reboot the host: always covered read-only.
_PROC_COVERS = ("/proc/sys", "/proc/sysrq-trigger")

SANDBOX_HOSTNAME = "corral"

# bubblewrap refuses more arguments than this in all, its command line and
# --args files together (MAX_ARGS in bubblewrap 0.11).
_BWRAP_MAX_ARGS = 9000


@dataclass(frozen=True)
class SupportFiles:
    """Empty, mode-000 host files that hidden paths are replaced with."""

    empty_dir: Path
    empty_file: Path


@dataclass(frozen=True)
class View:
    """What the mount layer shows for one run: resolved just before launch."""

    protected: tuple[Path, ...]
    hidden: tuple[HiddenPath, ...]
    sockets: tuple[Path, ...]
    kept: tuple[Path, ...] = ()
    """corral's own files beneath a private directory, shown read-only through it."""
    pinned: tuple[Path, ...] = ()
    """Writable directories bound over themselves so they cannot be renamed."""
    granted: tuple[Path, ...] = ()
    """Git directories bound writable over themselves under approved git writes,
    inside a read-only path too (a submodule's, in ``modules``)."""
    restored: tuple[tuple[Path, Path], ...] = ()
    """Host files bound read-only beneath a private directory: (host, inside)."""
    bridged: bool = False
    """Whether the proxy's bridge runs inside (allow-list mode)."""


def mount_points(view: View, *, sockets: bool = True) -> list[str]:
    """Every path `view` covers with a mount of its own: protected, pinned and
    granted paths, hidden paths and, unless `sockets` is false, host sockets.

    Each must stay a mount point for the cover to hold
    (`corral.sandbox._supervise.expected_mounts`).  A host socket's cover
    matters only until the command starts: what is bound at its path later is
    a socket bound after the start, which the snapshot of host sockets does not
    cover anyway (Landlock ABI 9 refuses them all); and programs remove their
    sockets as they please, which must not end the command.
    """
    paths = [*view.protected, *view.pinned, *view.granted]
    if sockets:
        paths += view.sockets
    paths += [hidden.path for hidden in view.hidden]
    return sorted({str(path) for path in paths})


def bwrap_options(
    profile: SandboxProfile,
    view: View,
    support: SupportFiles,
    *,
    cwd: Path,
    json_status_fd: int,
) -> list[str]:
    """Return bubblewrap's options (everything before the command) for `profile`."""
    options = ["--die-with-parent", "--json-status-fd", str(json_status_fd)]
    options += ["--unshare-user", "--cap-drop", "ALL"]
    if Layer.NETWORK in profile.layers and profile.network is not NetworkMode.ONLINE:
        options.append("--unshare-net")
    if view.bridged and Layer.NAMESPACES not in profile.layers:
        # The bridge must end with the command, as it does with its pid namespace.
        options.append("--unshare-pid")
    if Layer.NAMESPACES in profile.layers:
        options += _namespaces(profile, view, support)
    else:
        options += ["--dev-bind", "/", "/"]
    options += ["--chdir", str(cwd)]
    return options


def bwrap_command(
    bwrap: str, options: Sequence[str], inner: Sequence[str]
) -> tuple[list[str], int]:
    """Return the command line running `inner` and the descriptor holding `options`.

    The options go NUL-separated into a memfd read through ``--args``: one bind
    per protected path can outgrow what the kernel lets a command line hold
    (ARG_MAX), and a file has no such bound.  bubblewrap reads it from its start
    and closes it, so it never reaches the command.  Raises `SandboxSetupError`
    when there are more arguments than bubblewrap takes.
    """
    argv = [bwrap, "--args", "", "--", *inner]
    if len(options) + len(argv) > _BWRAP_MAX_ARGS:
        raise SandboxSetupError(
            f"the sandbox needs {len(options) + len(argv)} bubblewrap arguments, "
            f"more than the {_BWRAP_MAX_ARGS} it takes; the command did not run; "
            "the workspace holds too many protected paths (nested git directories), "
            "choose a smaller workspace with -C"
        )
    fd = os.memfd_create("corral-bwrap-args", os.MFD_CLOEXEC)
    try:
        data = memoryview(b"".join(os.fsencode(arg) + b"\0" for arg in options))
        while data:
            data = data[os.write(fd, data) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    argv[2] = str(fd)
    return argv, fd


def ordered_binds(view: View) -> list[tuple[Path, bool]]:
    """Return the binds over the writable roots, as (path, writable), in order.

    Each path is bound after every path that holds it, since a bind's source is
    the host's directory, which shows none of the mounts made before it.  A
    pinned directory beneath a read-only path is left out: it cannot be renamed
    there anyway, and binding it would make it writable.  A path both protected
    and pinned or granted is read-only.
    """
    writable = dict.fromkeys((*view.pinned, *view.granted), True)
    writable.update(dict.fromkeys(view.protected, False))
    granted = {os.fspath(path) for path in view.granted}
    # Every run orders its binds: compared as strings, by depth as Path.parts
    # counts it for these absolute paths.
    paths = {os.fspath(path): path for path in writable}
    binds: dict[str, bool] = {}
    for text in sorted(paths, key=lambda text: (text.count("/"), text)):
        holder = next((a for a in _ancestors(text) if a in binds), None)
        read_only_there = holder is not None and not binds[holder]
        if writable[paths[text]] and read_only_there and text not in granted:
            continue
        binds[text] = writable[paths[text]]
    return [(paths[text], bind) for text, bind in binds.items()]


def _ancestors(path: str) -> Iterator[str]:
    """Yield the directories that hold the absolute `path`, nearest first."""
    while path != "/":
        path = path.rpartition("/")[0] or "/"
        yield path


def _namespaces(
    profile: SandboxProfile, view: View, support: SupportFiles
) -> list[str]:
    argv = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    argv += ["--disable-userns", "--hostname", SANDBOX_HOSTNAME]
    argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for cover in _PROC_COVERS:
        argv += ["--ro-bind-try", cover, cover]
    for private in PRIVATE_DIRS:
        argv += ["--tmpfs", str(private)]
    for kept in view.kept:
        argv += ["--ro-bind", str(kept), str(kept)]
    for source, destination in view.restored:
        # -try: the host may replace the file (rename over it) at any moment.
        argv += ["--ro-bind-try", str(source), str(destination)]
    for root in profile.writable_roots:
        argv += ["--bind", str(root), str(root)]
    for path, writable in ordered_binds(view):
        argv += ["--bind" if writable else "--ro-bind", str(path), str(path)]
    for hidden in view.hidden:
        source = support.empty_dir if hidden.is_dir else support.empty_file
        argv += ["--ro-bind", str(source), str(hidden.path)]
    for socket_path in view.sockets:
        argv += ["--ro-bind", os.devnull, str(socket_path)]
    return argv
