"""The mount and network layers each stop their share of escapes on their own.

Landlock, seccomp and the identity layer are shown alone in tests/sandbox,
through the enforcer without bubblewrap.
"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest

from corral.policy import load_policy
from corral.sandbox import Layer, Sandbox
from tests.conftest import Home
from tests.support import IS_ROOT


def _sandbox(workspace: Path, home: Home, layers: set[Layer]) -> Sandbox:
    env = home.env()
    sandbox = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)
    sandbox.profile = dataclasses.replace(sandbox.profile, layers=frozenset(layers))
    return sandbox


def test_the_mount_layer_alone_keeps_protected_and_outside_paths_read_only(
    workspace: Path, home: Home, tmp_path: Path
) -> None:
    sandbox = _sandbox(workspace, home, {Layer.NAMESPACES})
    outside = tmp_path / "outside"
    outside.mkdir()
    result = sandbox.run(
        [
            "sh",
            "-c",
            f"echo x > .git/hooks/h; echo x > {outside}/f; "
            "cat ~/.ssh/id_ed25519; echo x > ok",
        ],
        capture=True,
    )
    assert not (workspace / ".git" / "hooks" / "h").exists()
    assert not (outside / "f").exists()
    assert b"PRIVATE KEY" not in (result.stdout or b"")
    assert (workspace / "ok").exists()


def test_the_network_layer_alone_cuts_the_host_off(workspace: Path, home: Home) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        sandbox = _sandbox(workspace, home, {Layer.NETWORK})
        result = sandbox.run(
            [
                "python3",
                "-c",
                f"import socket; socket.create_connection(('127.0.0.1', {port}), 2)",
            ],
            capture=True,
        )
    finally:
        server.close()
    assert result.exit_status != 0
    assert b"Connection refused" in (result.stderr or b"")


@pytest.mark.skipif(
    not IS_ROOT, reason="only a uid-0 sandbox could write kernel settings"
)
def test_a_root_sandbox_cannot_write_kernel_settings(
    workspace: Path, home: Home
) -> None:
    setting = Path("/proc/sys/kernel/core_pattern")
    current = setting.read_text()
    sandbox = _sandbox(workspace, home, set(Layer))
    # Writes back the value it read: even a failing test changes nothing.
    result = sandbox.run(
        ["sh", "-c", f"printf '%s' \"$1\" > {setting}", "sh", current.rstrip("\n")],
        capture=True,
    )
    assert result.exit_status != 0
    assert setting.read_text() == current
