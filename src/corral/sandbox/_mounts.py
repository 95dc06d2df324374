"""The bubblewrap command line: the namespaces layer's filesystem view, in order.

Order matters: later mounts cover earlier ones.  The root goes read-only
first, then private directories (with the host files restored through them),
then writable roots, then protected paths over them, then hidden paths and
host sockets over everything.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from corral.policy import NetworkMode
from corral.sandbox._hidden import HiddenPath
from corral.sandbox._layers import Layer
from corral.sandbox._profile import PRIVATE_DIRS, SandboxProfile

__all__ = ["SupportFiles", "View", "bwrap_argv"]

# Writable by a uid-0 process even without capabilities, and able to
# reconfigure or reboot the host: always covered read-only.
_PROC_COVERS = ("/proc/sys", "/proc/sysrq-trigger")

SANDBOX_HOSTNAME = "corral"


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
    restored: tuple[tuple[Path, Path], ...] = ()
    """Host files bound read-only beneath a private directory: (host, inside)."""


def bwrap_argv(
    bwrap: str,
    profile: SandboxProfile,
    view: View,
    support: SupportFiles,
    *,
    cwd: Path,
    json_status_fd: int,
    inner: Sequence[str],
) -> list[str]:
    """Return the bubblewrap command line that runs `inner` inside `profile`."""
    argv = [bwrap, "--die-with-parent", "--json-status-fd", str(json_status_fd)]
    argv += ["--unshare-user", "--cap-drop", "ALL"]
    if Layer.NETWORK in profile.layers and profile.network is not NetworkMode.ONLINE:
        argv.append("--unshare-net")
    if Layer.NAMESPACES in profile.layers:
        argv += _namespaces(profile, view, support)
    else:
        argv += ["--dev-bind", "/", "/"]
    argv += ["--chdir", str(cwd), "--"]
    argv += inner
    return argv


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
    for directory in view.pinned:
        argv += ["--bind", str(directory), str(directory)]
    for path in view.protected:
        argv += ["--ro-bind", str(path), str(path)]
    for hidden in view.hidden:
        source = support.empty_dir if hidden.is_dir else support.empty_file
        argv += ["--ro-bind", str(source), str(hidden.path)]
    for socket_path in view.sockets:
        argv += ["--ro-bind", os.devnull, str(socket_path)]
    return argv
