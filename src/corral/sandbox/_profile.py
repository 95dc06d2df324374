"""The sandbox profile: a policy resolved against one workspace on this machine.

A `SandboxProfile` is everything the launcher needs, as concrete host paths:
which layers to enforce, what is writable, protected, hidden and masked.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from corral._home import home_dirs
from corral.errors import WorkspaceError
from corral.policy import NetworkMode, Policy, SandboxMode
from corral.sandbox._hidden import HiddenPath, expand_user_path, find_hidden
from corral.sandbox._landlock import ABI_RESOLVE_UNIX, landlock_abi
from corral.sandbox._layers import Layer

__all__ = [
    "PRIVATE_DIRS",
    "SYSTEM_DIRS",
    "SandboxProfile",
    "check_trusted_outside",
    "required_layers",
    "resolve_profile",
    "unix_socket_hold",
    "writable_paths",
    "writable_private_dirs",
]

# Directories whose files the machine itself runs or trusts: no workspace or
# writable root may be one of them or lie beneath one.
SYSTEM_DIRS: tuple[Path, ...] = tuple(
    Path(name)
    for name in (
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/proc",
        "/sbin",
        "/sys",
        "/usr",
    )
)

_VAR_RUN = Path("/var/run")
"""Usually a link to /run; on some systems a directory of its own."""

# Fresh, empty tmpfs inside every sandbox: nothing of the host's shows through,
# neither its files nor the unix sockets bound there, before or after the start.
PRIVATE_DIRS: tuple[Path, ...] = (
    Path("/tmp"),  # noqa: S108 - mounted as a fresh tmpfs, never the host's
    Path("/var/tmp"),  # noqa: S108 - likewise
    Path("/dev/shm"),  # noqa: S108 - likewise
    Path("/run"),  # system daemons' sockets, and each user's in /run/user/UID
    *((_VAR_RUN,) if _VAR_RUN.is_dir() and not _VAR_RUN.is_symlink() else ()),
)


def writable_private_dirs(layers: frozenset[Layer]) -> tuple[Path, ...]:
    """Return the private directories the Landlock layer lets a command write in.

    With the namespaces layer each is a fresh tmpfs.  Without it they are the
    host's own, and only those any user may write to anyway (a sticky,
    world-writable /tmp) stay writable: never the host's /run.
    """
    if Layer.NAMESPACES in layers:
        return PRIVATE_DIRS
    return tuple(path for path in PRIVATE_DIRS if _is_shared_scratch(path))


def _is_shared_scratch(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & stat.S_ISVTX and mode & stat.S_IWOTH)


@dataclass(frozen=True)
class SandboxProfile:
    """A policy resolved for one workspace: the input of the launcher."""

    workspace: Path
    mode: SandboxMode
    network: NetworkMode
    layers: frozenset[Layer]
    """Layers to enforce for this command."""
    missing: frozenset[Layer] = frozenset()
    """Layers this machine lacks and the policy accepted running without."""
    writable_roots: tuple[Path, ...] = ()
    """Host directories bound writable (the workspace first, in workspace-write)."""
    hidden: tuple[HiddenPath, ...] = ()
    protected_entries: tuple[str, ...] = ()
    """The policy's protected paths, relative to the workspace."""
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None
    git_write: bool = False
    """A person approved writing the git directories inside the workspace: all
    but what the host's git reads as configuration or runs as code.  Those
    outside the workspace stay read-only."""

    def summary(self) -> dict[str, object]:
        """Return the profile as the event record and ``--json`` describe it."""
        return {
            "mode": str(self.mode),
            "network": str(self.network),
            "layers": sorted(str(layer) for layer in self.layers),
            "missing_accepted": sorted(str(layer) for layer in self.missing),
            "writable_roots": [str(root) for root in self.writable_roots],
            "unix_sockets": unix_socket_hold(self.layers, landlock_abi()),
            "git_write": self.git_write,
        }


def unix_socket_hold(layers: frozenset[Layer], abi: int) -> str | None:
    """Say what keeps host unix sockets out of reach with `layers` at Landlock `abi`.

    ``"kernel"``: Landlock refuses every pathname socket not created inside the
    sandbox.  ``"snapshot"``: the mount layer alone, which covers the private
    directories, the hidden paths and the sockets bound when the command
    starts.  None: nothing does.
    """
    if Layer.LANDLOCK in layers and abi >= ABI_RESOLVE_UNIX:
        return "kernel"
    if Layer.NAMESPACES in layers:
        return "snapshot"
    return None


def required_layers(policy: Policy) -> frozenset[Layer]:
    """Return the layers the policy's boundary is made of."""
    if policy.sandbox_mode is SandboxMode.FULL_ACCESS:
        return frozenset()
    layers = set(Layer)
    if policy.network_mode is NetworkMode.ONLINE:
        layers.discard(Layer.NETWORK)
    return frozenset(layers)


def resolve_profile(
    policy: Policy,
    workspace: Path,
    *,
    state: Path,
    environ: Mapping[str, str],
    env: Mapping[str, str],
    layers: frozenset[Layer],
    missing: frozenset[Layer] = frozenset(),
    git_write: bool = False,
) -> SandboxProfile:
    """Resolve `policy` for `workspace`: concrete writable roots and hidden paths.

    Raises `WorkspaceError` when the workspace or a writable root cannot be
    guarded (missing, a system directory, or containing corral itself).
    """
    workspace = _checked_workspace(workspace, environ)
    roots: list[Path] = []
    if policy.sandbox_mode is not SandboxMode.READ_ONLY:
        roots.append(workspace)
        roots.extend(_writable_root(text, environ) for text in policy.writable_roots)
    hidden_entries = (*policy.hidden_paths, str(state))
    runtime_dir = environ.get("XDG_RUNTIME_DIR", "")
    if runtime_dir.startswith("/"):
        # Sockets of the user's session (agents, keyrings, buses) live here.
        hidden_entries = (*hidden_entries, runtime_dir)
    return SandboxProfile(
        workspace=workspace,
        mode=policy.sandbox_mode,
        network=policy.network_mode,
        layers=layers,
        missing=missing,
        writable_roots=tuple(dict.fromkeys(roots)),
        hidden=tuple(find_hidden(hidden_entries, environ)),
        protected_entries=policy.protected_paths,
        env=dict(env),
        timeout=policy.timeout,
        git_write=git_write,
    )


def writable_paths(
    policy: Policy, workspace: Path, environ: Mapping[str, str]
) -> tuple[Path, ...]:
    """The directories `policy` makes writable for `workspace`, as they resolve now.

    Unlike `resolve_profile`, checks nothing: for finding what must not lie
    beneath them before the profile exists.  A writable root that does not
    exist is left out.
    """
    if policy.sandbox_mode is SandboxMode.READ_ONLY:
        return ()
    roots = [workspace.resolve()]
    for text in policy.writable_roots:
        path = expand_user_path(text, environ)
        if path.is_absolute() and path.exists():
            roots.append(path.resolve())
    return tuple(roots)


def _checked_workspace(workspace: Path, environ: Mapping[str, str]) -> Path:
    if not workspace.is_dir():
        raise WorkspaceError(f"workspace {workspace} is not a directory")
    return _checked_writable(workspace.resolve(), "workspace", environ)


def _writable_root(text: str, environ: Mapping[str, str]) -> Path:
    path = expand_user_path(text, environ)
    if not path.is_absolute():
        raise WorkspaceError(f"writable root {text!r} is not an absolute path")
    if not path.is_dir():
        raise WorkspaceError(
            f"writable root {path} does not exist; create it or remove it from "
            "sandbox.writable_roots"
        )
    return _checked_writable(path.resolve(), "writable root", environ)


def _checked_writable(real: Path, what: str, environ: Mapping[str, str]) -> Path:
    """Refuse a directory whose writing would hand over the machine or the user."""
    for home in _homes(environ):
        if real == home or real in home.parents:
            raise WorkspaceError(
                f"{what} {real} contains the home directory {home} (shell start-up "
                "files, credentials, corral's own policy); choose a project "
                "directory with -C, or a narrower writable root"
            )
    for system in SYSTEM_DIRS:
        if real == system or real.is_relative_to(system):
            raise WorkspaceError(
                f"{what} {real} lies in {system}, whose files the machine itself "
                "runs or trusts; choose a directory outside the system's own"
            )
    return real


def _homes(environ: Mapping[str, str]) -> set[Path]:
    return {Path("/"), *(home.resolve() for home in home_dirs(environ))}


def check_trusted_outside(roots: tuple[Path, ...], trusted: Mapping[Path, str]) -> None:
    """Refuse when a file corral trusts lies beneath a writable root.

    `trusted` maps each path (corral's own code, its state directory, the user
    policy) to what it is.  A command could otherwise rewrite what corral runs,
    records or obeys outside the sandbox.  Raises `WorkspaceError`.
    """
    # Every run asks this: compared as strings, as is_relative_to compares parts.
    prefixes = [(root, os.fspath(root).rstrip("/") + "/") for root in roots]
    for path, what in trusted.items():
        real = os.path.realpath(path) + "/"
        for root, prefix in prefixes:
            if real.startswith(prefix):
                raise WorkspaceError(
                    f"{what} {path} lies beneath the writable root {root}, so a "
                    "sandboxed command could rewrite it; move it outside every "
                    "writable root (for corral's code: install corral elsewhere, "
                    "e.g. with pipx; for its state or policy: set XDG_STATE_HOME "
                    "or XDG_CONFIG_HOME elsewhere)"
                )
