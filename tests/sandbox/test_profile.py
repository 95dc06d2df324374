"""What the profile says about the host's unix sockets, layer by layer, and
what of corral's own it refuses to find in a writable root."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.errors import WorkspaceError
from corral.sandbox._layers import Layer
from corral.sandbox._profile import (
    PRIVATE_DIRS,
    check_trusted_outside,
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


@pytest.mark.parametrize("where", ["ws", "ws/state", "link/state", "ws/absent/x"])
def test_a_trusted_path_in_a_writable_root_by_any_name_refuses(
    tmp_path: Path, where: str
) -> None:
    (tmp_path / "ws" / "state").mkdir(parents=True)
    (tmp_path / "link").symlink_to("ws")
    with pytest.raises(WorkspaceError, match="beneath the writable root"):
        check_trusted_outside((tmp_path / "ws",), {tmp_path / where: "the state"})


def test_a_trusted_path_beside_a_writable_root_of_a_longer_name_passes(
    tmp_path: Path,
) -> None:
    """``ws-state`` is not beneath ``ws``, though its name starts the same."""
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws-state").mkdir()
    check_trusted_outside((tmp_path / "ws",), {tmp_path / "ws-state": "the state"})
