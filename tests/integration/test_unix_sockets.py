"""Host unix sockets bound after a command starts, and what still reaches them.

The command writes a file saying it runs, the test binds a socket on the host,
then the command tries to connect: only what holds for a socket the mount view
never saw counts here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from corral.policy import load_policy
from corral.sandbox import Layer, Sandbox
from corral.sandbox import _sandbox as sandbox_module
from corral.sandbox._hidden import find_host_sockets
from corral.sandbox._landlock import ABI_RESOLVE_UNIX, landlock_abi
from tests.conftest import Home, allow_through
from tests.support import CORRAL, IS_ROOT, CorralCLI, Listener

ABI = landlock_abi()

# These tests check what the kernel holds once a command is let through.
pytestmark = pytest.mark.boundary_only

# How long either side waits for the other before the test fails.
_WAIT_SECONDS = 20

# Announces it runs, waits for the go file, then connects to argv[1] and prints
# "reached" or the errno name.
LATE_CONNECT = """
import errno, os, socket, sys, time
path, ready, go = sys.argv[1:4]
open(ready, "w").close()
deadline = time.monotonic() + 20
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.02)
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
try:
    s.connect(path)
    print(s.recv(100).decode().strip())
except OSError as exc:
    print(errno.errorcode.get(exc.errno, str(exc.errno)))
"""


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + _WAIT_SECONDS
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            out, err = process.communicate(timeout=_WAIT_SECONDS)
            pytest.fail(f"the command did not start: {out!r} {err!r}")
        time.sleep(0.02)


def connect_after_start(
    home: Home,
    workspace: Path,
    socket_path: Path,
    *,
    network: str = "offline",
    env: dict[str, str] | None = None,
) -> tuple[str, Listener]:
    """Start the command, bind `socket_path` on the host, let it connect.

    Returns what the command printed and the (closed) listener.
    """
    ready, go = workspace / "ready", workspace / "go"
    allow_through(home, network=network)
    argv = [*CORRAL, "run", "-C", str(workspace)]
    argv += ["--", "python3", "-c", LATE_CONNECT]
    argv += [str(socket_path), str(ready), str(go)]
    process = subprocess.Popen(
        argv,
        env=home.env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    listener: Listener | None = None
    try:
        _wait_for(ready, process)
        listener = Listener.unix(socket_path)
        go.touch()
        out, err = process.communicate(timeout=_WAIT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if listener is not None:
            listener.close()
    assert process.returncode == 0, err
    assert listener is not None
    return out.strip(), listener


@pytest.mark.skipif(
    ABI < ABI_RESOLVE_UNIX,
    reason=(
        f"below Landlock ABI {ABI_RESOLVE_UNIX} (this kernel offers ABI {ABI}) a "
        "socket bound on the host after the command starts, in a readable "
        "directory outside /tmp, /run and the hidden paths, stays reachable: the "
        "mount layer covers only the sockets bound when the command starts"
    ),
)
def test_a_socket_bound_after_start_in_a_readable_directory_is_unreachable(
    home: Home, workspace: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "srv" / "late"
    directory.mkdir(parents=True)
    printed, listener = connect_after_start(home, workspace, directory / "s.sock")
    assert printed == "EACCES"
    assert not listener.reached


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """A directory of the test's own beneath the host's /run, removed afterwards."""
    path = Path("/run") / f"corral-test-{os.getpid()}"
    path.mkdir(mode=0o755)
    try:
        yield path
    finally:
        for child in path.iterdir():
            child.unlink()
        path.rmdir()


@pytest.mark.skipif(not IS_ROOT, reason="creating a directory in /run needs root")
def test_a_socket_bound_after_start_under_run_is_unreachable(
    home: Home, workspace: Path, run_dir: Path
) -> None:
    """/run inside the sandbox is a fresh tmpfs: the host's never shows through."""
    printed, listener = connect_after_start(home, workspace, run_dir / "s.sock")
    assert printed == "ENOENT"
    assert not listener.reached


def test_a_socket_bound_after_start_in_the_runtime_dir_is_unreachable(
    home: Home, workspace: Path, tmp_path: Path
) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    printed, listener = connect_after_start(
        home,
        workspace,
        runtime / "bus",
        env={"XDG_RUNTIME_DIR": str(runtime)},
    )
    assert printed in {"EACCES", "ENOENT"}
    assert not listener.reached


@pytest.mark.skipif(not IS_ROOT, reason="creating a directory in /run needs root")
def test_the_hosts_run_is_replaced_by_an_empty_writable_tmpfs(
    corral: CorralCLI, workspace: Path, run_dir: Path
) -> None:
    (run_dir / "marker").write_text("host\n")
    script = (
        f"test ! -e {run_dir} && test ! -e /var/run/{run_dir.name} && "
        "touch /run/mine && readlink -f /var/run"
    )
    ran = corral.run(workspace, "sh", "-c", script)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == os.path.realpath("/var/run")
    assert not (Path("/run") / "mine").exists()


@pytest.mark.skipif(
    not Path("/etc/resolv.conf").exists(), reason="this machine has no resolv.conf"
)
def test_resolv_conf_stays_readable_online(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    """Also when it links into /run, as with systemd-resolved or resolvconf."""
    allow_through(home, network="online")
    ran = corral("run", "-C", str(workspace), "--", "cat", "/etc/resolv.conf")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == Path("/etc/resolv.conf").read_text()


def test_a_link_into_a_private_directory_reads_the_hosts_file(
    workspace: Path, home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As /etc/resolv.conf linking into /run: /tmp stands in, it is private too."""
    host_dir = Path(tempfile.mkdtemp(prefix="corral-test-", dir="/tmp"))
    try:
        (host_dir / "resolv.conf").write_text("nameserver 127.0.0.53\n")
        link = tmp_path / "resolv.conf"
        link.symlink_to(host_dir / "resolv.conf")
        monkeypatch.setattr(sandbox_module, "RESTORED_LINKS", (link,))
        env = home.env()
        sandbox = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)
        result = sandbox.run(
            ["sh", "-c", f"cat {link}; ls -A {host_dir}; echo x >> {link}"],
            capture=True,
        )
        assert result.stdout == b"nameserver 127.0.0.53\nresolv.conf\n"
        assert result.exit_status != 0  # bound read-only
        assert (host_dir / "resolv.conf").read_text() == "nameserver 127.0.0.53\n"
    finally:
        shutil.rmtree(host_dir)


def test_the_run_says_what_holds_host_unix_sockets(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral("run", "-C", str(workspace), "--json", "--", "true")
    assert ran.returncode == 0, ran.stderr
    profile = json.loads(ran.stdout)["profile"]
    assert profile["unix_sockets"] == (
        "kernel" if ABI >= ABI_RESOLVE_UNIX else "snapshot"
    )


@pytest.mark.skipif(not IS_ROOT, reason="creating a directory in /run needs root")
def test_landlock_without_the_mount_layer_keeps_the_hosts_run_read_only(
    workspace: Path, home: Home, run_dir: Path
) -> None:
    """Without a private /run, Landlock must not open the host's to writes."""
    env = home.env()
    sandbox = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)
    sandbox.profile = dataclasses.replace(
        sandbox.profile, layers=frozenset({Layer.LANDLOCK, Layer.IDENTITY})
    )
    result = sandbox.run(["touch", str(run_dir / "written")], capture=True)
    assert result.exit_status != 0
    assert not (run_dir / "written").exists()


def test_a_host_socket_gone_before_the_sandbox_mounts_over_it_costs_no_run(
    workspace: Path, home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Host programs bind and remove sockets at any moment: a vanished one is retried.

    The snapshot names a socket that is gone by the time bubblewrap covers it
    (its directory is read-only inside, so bubblewrap cannot make a mount
    point there); the run is set up again from a fresh snapshot.
    """
    gone = tmp_path / "outside" / "gone.sock"
    gone.parent.mkdir()
    snapshots: list[int] = []
    real = find_host_sockets

    def vanishing(covered: Iterable[Path]) -> list[Path]:
        snapshots.append(1)
        found = real(covered)
        return [*found, gone] if len(snapshots) == 1 else found

    monkeypatch.setattr(sandbox_module, "find_host_sockets", vanishing)
    env = home.env()
    sandbox = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)
    result = sandbox.run(["true"], capture=True)
    assert result.exit_status == 0, result.stderr
    assert len(snapshots) == 2
