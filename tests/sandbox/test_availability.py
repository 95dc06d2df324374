"""What ``corral doctor`` says of the Landlock layer at each ABI."""

from __future__ import annotations

from corral.sandbox._availability import _landlock_status
from corral.sandbox._layers import Layer


def test_below_abi_9_unix_sockets_are_held_by_a_snapshot() -> None:
    status = _landlock_status(7)
    assert (status.layer, status.available) == (Layer.LANDLOCK, True)
    assert status.unix_sockets == "snapshot"
    assert status.detail.startswith("ABI 7; host unix sockets: those listed at")
    assert status.to_json()["unix_sockets"] == "snapshot"


def test_from_abi_9_on_the_kernel_refuses_host_unix_sockets() -> None:
    status = _landlock_status(9)
    assert status.available
    assert status.unix_sockets == "kernel"
    assert status.detail == "ABI 9; host unix sockets: refused by the kernel"


def test_without_landlock_the_layer_is_missing_and_sockets_a_snapshot() -> None:
    status = _landlock_status(0)
    assert not status.available
    assert status.detail == "the kernel offers no Landlock ABI"
    assert status.unix_sockets == "snapshot"
