"""What a sandboxed command cannot read or reach: credentials, secrets, the network."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Home, allow_through
from tests.support import IS_ROOT, ODD_SOCKET_NAMES, CorralCLI, Listener, sh


def test_ssh_and_cloud_credentials_are_unreadable(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    ran = corral.run(
        workspace,
        *sh("cat ~/.ssh/id_ed25519; cat ~/.aws/credentials; cat ~/.netrc; ls ~/.ssh"),
    )
    assert ran.returncode != 0
    for secret in ("PRIVATE KEY MATERIAL", "s3cr3t", "hunter2", "id_ed25519"):
        assert secret not in ran.stdout
    assert "hidden" in ran.stderr


def test_corrals_own_records_are_unreadable(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    assert corral.run(workspace, "true").returncode == 0
    events = home.state / "corral" / "events.jsonl"
    assert events.exists()
    ran = corral.run(workspace, *sh(f"cat {events}; echo x >> {events}"))
    assert ran.returncode != 0
    assert '"event"' not in ran.stdout


def test_secret_environment_variables_are_removed(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral.run(
        workspace,
        "env",
        env={
            "AWS_SECRET_ACCESS_KEY": "aws-value",
            "GITHUB_TOKEN": "gh-value",
            "DB_PASSWORD": "db-value",
            "OPENAI_API_KEY": "oa-value",
            "SOME_UNLISTED": "unlisted-value",
            "LC_ALL": "C.UTF-8",
        },
    )
    assert ran.returncode == 0, ran.stderr
    for value in ("aws-value", "gh-value", "db-value", "oa-value", "unlisted-value"):
        assert value not in ran.stdout
    assert "LC_ALL=C.UTF-8" in ran.stdout
    assert "CORRAL_SANDBOX=workspace-write" in ran.stdout


@pytest.fixture
def tcp_listener() -> Iterator[int]:
    """A TCP server on the host's loopback that answers 'reached' to anyone."""
    listener = Listener.tcp()
    yield listener.port
    listener.close()


CONNECT = """
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
print(s.recv(100).decode())
"""


def test_the_hosts_loopback_is_unreachable(
    corral: CorralCLI, workspace: Path, tcp_listener: int
) -> None:
    ran = corral.run(workspace, "python3", "-c", CONNECT, str(tcp_listener))
    assert ran.returncode != 0
    assert "reached" not in ran.stdout
    assert "network is offline" in ran.stderr


def test_online_mode_reaches_the_hosts_loopback(
    corral: CorralCLI, workspace: Path, home: Home, tcp_listener: int
) -> None:
    allow_through(home, network="online")
    ran = corral(
        "run",
        "-C",
        str(workspace),
        "--",
        "python3",
        "-c",
        CONNECT,
        str(tcp_listener),
    )
    assert ran.returncode == 0, ran.stderr
    assert "reached" in ran.stdout


UNIX_CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
s.connect(sys.argv[1])
print(s.recv(100).decode())
"""


def test_a_host_unix_socket_in_a_readable_directory_is_unreachable(
    corral: CorralCLI, workspace: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run" / "docker"
    run_dir.mkdir(parents=True)
    path = run_dir / "docker.sock"
    listener = Listener.unix(path)
    try:
        ran = corral.run(workspace, "python3", "-c", UNIX_CONNECT, str(path))
    finally:
        listener.close()
    assert ran.returncode != 0
    assert not listener.reached
    assert "reached" not in ran.stdout


@pytest.mark.parametrize("name", ODD_SOCKET_NAMES)
def test_a_host_unix_socket_is_unreachable_whatever_its_name(
    corral: CorralCLI, workspace: Path, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "u" / name
    path.parent.mkdir()
    listener = Listener.unix(path)
    try:
        ran = corral.run(workspace, "python3", "-c", UNIX_CONNECT, str(path))
    finally:
        listener.close()
    assert ran.returncode != 0
    assert not listener.reached


def test_unix_sockets_inside_the_sandbox_work(
    corral: CorralCLI, workspace: Path
) -> None:
    script = """
import os, socket, threading
a, b = socket.socketpair()
a.sendall(b"pair ")
print(b.recv(10).decode(), end="")
path = "s.sock"
srv = socket.socket(socket.AF_UNIX); srv.bind(path); srv.listen()
def serve():
    c, _ = srv.accept(); c.sendall(b"unix"); c.close()
threading.Thread(target=serve).start()
cli = socket.socket(socket.AF_UNIX); cli.connect(path)
print(cli.recv(10).decode())
os.unlink(path)
"""
    ran = corral.run(workspace, "python3", "-c", script)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "pair unix"


PRELOAD_SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
__attribute__((constructor)) static void record(void) {
    char line[256], seccomp[64] = "?", comm[64] = "?";
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof line, status)) {
        if (!strncmp(line, "Seccomp:", 8)) sscanf(line + 8, "%63s", seccomp);
        if (!strncmp(line, "Name:", 5)) sscanf(line + 5, "%63s", comm);
    }
    if (status) fclose(status);
    FILE *out = fopen(getenv("PRELOAD_LOG"), "a");
    if (out) { fprintf(out, "%s seccomp=%s\n", comm, seccomp); fclose(out); }
}
"""


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)")
def test_loader_variables_reach_only_the_sandboxed_command(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    """A passed LD_PRELOAD must not run code in bubblewrap or the enforcer."""
    source = workspace / "preload.c"
    source.write_text(PRELOAD_SOURCE)
    library = workspace / "preload.so"
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True
    )
    policy = home.config / "corral" / "policy.toml"
    policy.parent.mkdir(parents=True)
    policy.write_text('[env]\npass = ["LD_PRELOAD", "PRELOAD_LOG"]\n')
    log = workspace / "preload.log"
    ran = corral.run(
        workspace,
        "true",
        env={"LD_PRELOAD": str(library), "PRELOAD_LOG": str(log)},
    )
    assert ran.returncode == 0, ran.stderr
    # corral's own process (and the git it asks for the workspace) run with the
    # caller's environment by the caller's choice; neither bubblewrap nor the
    # enforcer, which run before the layers, may load the library.
    programs = dict(line.split() for line in log.read_text().splitlines())
    assert programs.get("true") == "seccomp=2"
    assert "bwrap" not in programs
    enforcer = Path(os.path.realpath(sys.executable)).name
    assert enforcer not in programs or Path(sys.executable).name == enforcer


@pytest.mark.skipif(not IS_ROOT, reason="needs root to bind a socket as another user")
def test_another_users_private_socket_does_not_stop_a_root_run(
    corral: CorralCLI, workspace: Path, tmp_path: Path
) -> None:
    """A socket root cannot reach without capabilities needs no cover, and gets none."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    path = private / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    os.chown(private, 65534, 65534)
    try:
        ran = corral.run(workspace, "true")
    finally:
        server.close()
    assert ran.returncode == 0, ran.stderr
