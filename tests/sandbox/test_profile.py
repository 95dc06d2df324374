"""What the profile says about the host's unix sockets, layer by layer."""

from __future__ import annotations

from pathlib import Path

from corral.sandbox._layers import Layer
from corral.sandbox._profile import (
    PRIVATE_DIRS,
    unix_socket_hold,
    writable_private_dirs,
)

EVERY = frozenset(Layer)


def test_landlock_from_abi_9_holds_unix_sockets_in_the_kernel() -> None:
    assert unix_socket_hold(EVERY, 9) == "kernel"
    assert unix_socket_hold(frozenset({Layer.LANDLOCK}), 10) == "kernel"


def test_below_abi_9_the_mount_layers_snapshot_holds_them() -> None:
    assert unix_socket_hold(EVERY, 8) == "snapshot"
    assert unix_socket_hold(EVERY - {Layer.LANDLOCK}, 9) == "snapshot"


def test_without_either_layer_nothing_holds_them() -> None:
    assert unix_socket_hold(frozenset(), 9) is None
    assert unix_socket_hold(frozenset({Layer.SECCOMP, Layer.LANDLOCK}), 7) is None


def test_run_is_private_like_tmp() -> None:
    assert {"/tmp", "/var/tmp", "/dev/shm", "/run"} <= {str(p) for p in PRIVATE_DIRS}


def test_with_the_mount_layer_every_private_dir_is_writable_for_landlock() -> None:
    assert writable_private_dirs(EVERY) == PRIVATE_DIRS


def test_without_it_the_hosts_run_is_never_writable() -> None:
    """The host's own /run holds daemons' files; only a sticky /tmp is shared."""
    writable = writable_private_dirs(EVERY - {Layer.NAMESPACES})
    assert Path("/run") not in writable
    assert Path("/var/run") not in writable
    assert Path("/tmp") in writable
