"""The sandbox profile: a policy resolved against one workspace on this machine.

A `SandboxProfile` is everything the launcher needs, as concrete host paths:
which layers to enforce, what is writable, protected, hidden and masked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from corral.errors import WorkspaceError
from corral.policy import NetworkMode, Policy, SandboxMode
from corral.sandbox._hidden import HiddenPath, expand_user_path, find_hidden
from corral.sandbox._layers import Layer

__all__ = [
    "PRIVATE_DIRS",
    "SandboxProfile",
    "check_corral_outside",
    "required_layers",
    "resolve_profile",
]

# Fresh, empty tmpfs inside every sandbox: nothing of the host's shows through.
PRIVATE_DIRS: tuple[Path, ...] = (
    Path("/tmp"),  # noqa: S108 - mounted as a fresh tmpfs, never the host's
    Path("/var/tmp"),  # noqa: S108 - likewise
    Path("/dev/shm"),  # noqa: S108 - likewise
)


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

    def summary(self) -> dict[str, object]:
        """Return the profile as the event record and ``--json`` describe it."""
        return {
            "mode": str(self.mode),
            "network": str(self.network),
            "layers": sorted(str(layer) for layer in self.layers),
            "missing_accepted": sorted(str(layer) for layer in self.missing),
            "writable_roots": [str(root) for root in self.writable_roots],
        }


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
    )


def _checked_workspace(workspace: Path, environ: Mapping[str, str]) -> Path:
    if not workspace.is_dir():
        raise WorkspaceError(f"workspace {workspace} is not a directory")
    real = workspace.resolve()
    home = expand_user_path("~", environ).resolve()
    if real == Path("/") or real in home.parents or real == home:
        raise WorkspaceError(
            f"workspace {real} contains your home directory's own files (shell "
            "start-up files, credentials); choose a project directory with -C"
        )
    return real


def _writable_root(text: str, environ: Mapping[str, str]) -> Path:
    path = expand_user_path(text, environ)
    if not path.is_absolute():
        raise WorkspaceError(f"writable root {text!r} is not an absolute path")
    if not path.is_dir():
        raise WorkspaceError(
            f"writable root {path} does not exist; create it or remove it from "
            "sandbox.writable_roots"
        )
    real = path.resolve()
    if real == Path("/"):
        raise WorkspaceError("writable root / would make the whole machine writable")
    return real


def check_corral_outside(roots: tuple[Path, ...], components: tuple[Path, ...]) -> None:
    """Refuse when corral's own code lies beneath a writable root.

    A command could otherwise rewrite corral itself, which runs outside the
    sandbox.  Raises `WorkspaceError`.
    """
    for component in components:
        real = Path(os.path.realpath(component))
        for root in roots:
            if real.is_relative_to(root):
                raise WorkspaceError(
                    f"corral's own {component} lies beneath the writable root {root}, "
                    "so a sandboxed command could rewrite corral itself; install "
                    "corral outside the workspace (e.g. pipx or another venv)"
                )
