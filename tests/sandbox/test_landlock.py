"""The Landlock layer alone: writes only beneath the writable roots."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.sandbox._landlock import (
    ABI_RESOLVE_UNIX,
    ABI_SCOPE,
    ABI_TCP,
    FS_IOCTL_DEV,
    FS_REFER,
    FS_RESOLVE_UNIX,
    FS_TRUNCATE,
    FS_WRITE_FILE,
    LandlockSpec,
    granted_rights,
    landlock_abi,
    ruleset_rights,
)
from tests.sandbox.enforcer_support import python_argv, run_enforced

ABI = landlock_abi()
pytestmark = pytest.mark.skipif(ABI == 0, reason="this kernel has no Landlock")

# Prints, as JSON, "ok" or the errno name for each operation in OPS (name -> code).
PROBE = """
import errno, json, os, socket, sys
results = {}
for name, code in OPS.items():
    try:
        exec(code)
        results[name] = "ok"
    except OSError as exc:
        results[name] = errno.errorcode.get(exc.errno, str(exc.errno))
print(json.dumps(results))
"""


def probe(ops: dict[str, str], spec: LandlockSpec | None) -> dict[str, object]:
    """Run the operations in a sandbox with `spec` (None: no Landlock layer)."""
    ran = run_enforced(python_argv(f"OPS = {ops!r}\n{PROBE}"), landlock=spec)
    assert ran.returncode == 0, (ran.status, ran.stderr)
    return ran.json()


@pytest.fixture
def writable(tmp_path: Path) -> Path:
    path = tmp_path / "writable"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    (path / "existing").write_text("kept\n")
    (path / "empty-dir").mkdir()
    return path


def spec_for(
    writable: Path, *, restrict_tcp: bool = True, scope: bool = True
) -> LandlockSpec:
    return LandlockSpec(
        writable=(str(writable),), restrict_tcp=restrict_tcp, scope=scope
    )


def test_everything_write_ish_is_allowed_beneath_a_writable_root(
    writable: Path,
) -> None:
    w = str(writable)
    ops = {
        "create": f"open({w + '/f'!r}, 'w').write('x')",
        "truncate": f"os.truncate({w + '/f'!r}, 0)",
        "mkdir": f"os.mkdir({w + '/d'!r})",
        "symlink": f"os.symlink('f', {w + '/d/link'!r})",
        "fifo": f"os.mkfifo({w + '/d/fifo'!r})",
        "rename": f"os.rename({w + '/f'!r}, {w + '/d/f'!r})",
        "unix-socket": f"socket.socket(socket.AF_UNIX).bind({w + '/d/sock'!r})",
        "remove": f"[os.unlink({w!r} + '/d/' + n) for n in os.listdir({w!r} + '/d')]",
        "rmdir": f"os.rmdir({w + '/d'!r})",
    }
    assert probe(ops, spec_for(writable)) == dict.fromkeys(ops, "ok")


def test_writes_outside_the_writable_roots_are_refused_but_reads_are_not(
    writable: Path, outside: Path
) -> None:
    o = str(outside)
    ops = {
        "create": f"open({o + '/new'!r}, 'w')",
        "append": f"open({o + '/existing'!r}, 'a')",
        "truncate": f"os.truncate({o + '/existing'!r}, 0)",
        "mkdir": f"os.mkdir({o + '/d'!r})",
        "symlink": f"os.symlink('x', {o + '/link'!r})",
        "read": f"open({o + '/existing'!r}).read()",
    }
    expected = dict.fromkeys(ops, "EACCES") | {"read": "ok"}
    assert probe(ops, spec_for(writable)) == expected
    assert (outside / "existing").read_text() == "kept\n"


def test_rename_and_delete_outside_are_refused(writable: Path, outside: Path) -> None:
    o = str(outside)
    ops = {
        "rename": f"os.rename({o + '/existing'!r}, {o + '/renamed'!r})",
        "unlink": f"os.unlink({o + '/existing'!r})",
        "rmdir": f"os.rmdir({o + '/empty-dir'!r})",
        "move-in": f"os.rename({o + '/existing'!r}, {str(writable) + '/moved'!r})",
    }
    assert probe(ops, spec_for(writable)) == dict.fromkeys(ops, "EACCES")
    assert sorted(p.name for p in outside.iterdir()) == ["empty-dir", "existing"]


@pytest.mark.skipif(ABI < 2, reason="REFER needs Landlock ABI 2")
def test_hard_link_from_outside_into_a_writable_root_is_refused(
    writable: Path, outside: Path
) -> None:
    """A link would give the outside file the writable root's rights (EXDEV)."""
    ops = {"link": f"os.link({str(outside / 'existing')!r}, {str(writable / 'l')!r})"}
    assert probe(ops, None) == {"link": "ok"}
    (writable / "l").unlink()
    assert probe(ops, spec_for(writable)) == {"link": "EXDEV"}


def test_devices_stay_usable(writable: Path) -> None:
    """/dev/null can be written and a pseudo-terminal opened and driven by ioctl."""
    ops = {
        "dev-null": "open('/dev/null', 'w').write('x')",
        "dev-zero-trunc": "os.close(os.open('/dev/zero', os.O_WRONLY | os.O_TRUNC))",
        "pty": (
            "import termios; m, s = os.openpty(); "
            "t = os.open(os.ttyname(s), os.O_RDWR | os.O_NOCTTY); "
            "termios.tcgetattr(t)"
        ),
    }
    assert probe(ops, spec_for(writable)) == dict.fromkeys(ops, "ok")


def test_a_missing_writable_root_fails_the_layer(tmp_path: Path) -> None:
    spec = LandlockSpec(writable=(str(tmp_path / "absent"),))
    ran = run_enforced(["true"], landlock=spec)
    assert ran.returncode == 125
    assert ran.status[-1]["layer"] == "landlock"
    assert "does not exist" in str(ran.status[-1]["error"])


def test_missing_device_paths_are_skipped(writable: Path) -> None:
    spec = LandlockSpec(writable=(str(writable),), devices=("/dev/null", "/dev/absent"))
    assert run_enforced(["true"], landlock=spec).returncode == 0


def test_the_highest_abi_is_used_and_reported(writable: Path) -> None:
    ran = run_enforced(["true"], landlock=spec_for(writable))
    assert ran.status == [
        {"ok": True, "landlock_abi": ABI, "seccomp": False, "identity": False}
    ]


@pytest.fixture
def tcp_listener() -> Iterator[tuple[str, int]]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()


@pytest.mark.skipif(ABI < ABI_TCP, reason="TCP rules need Landlock ABI 4")
def test_tcp_connect_and_bind_are_refused_when_restricted(
    writable: Path, tcp_listener: tuple[str, int]
) -> None:
    ops = {
        "connect": f"socket.create_connection({tcp_listener!r}, timeout=5)",
        "bind": "socket.socket().bind(('127.0.0.1', 0))",
    }
    open_spec = spec_for(writable, restrict_tcp=False)
    assert probe(ops, open_spec) == dict.fromkeys(ops, "ok")
    restricted = spec_for(writable, restrict_tcp=True)
    assert probe(ops, restricted) == dict.fromkeys(ops, "EACCES")


@pytest.fixture
def outside_process() -> Iterator[int]:
    """A process started outside any Landlock domain."""
    process = subprocess.Popen(["sleep", "60"])
    yield process.pid
    process.kill()
    process.wait()


@pytest.mark.skipif(ABI < ABI_SCOPE, reason="scoping needs Landlock ABI 6")
def test_signals_to_processes_outside_the_sandbox_are_refused_when_scoped(
    writable: Path, outside_process: int
) -> None:
    ops = {
        "signal-0": f"os.kill({outside_process}, 0)",
        "sigterm": f"os.kill({outside_process}, 15)",
        "inside": "import subprocess as p; c = p.Popen(['sleep', '9']); c.kill()",
    }
    unscoped = probe({"signal-0": ops["signal-0"]}, spec_for(writable, scope=False))
    assert unscoped == {"signal-0": "ok"}
    assert probe(ops, spec_for(writable, scope=True)) == {
        "signal-0": "EPERM",
        "sigterm": "EPERM",
        "inside": "ok",
    }
    os.kill(outside_process, 0)  # still alive


@pytest.fixture
def abstract_listener() -> Iterator[bytes]:
    name = f"\0corral-test-{os.getpid()}".encode()
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(name)
        server.listen()
        yield name


@pytest.mark.skipif(ABI < ABI_SCOPE, reason="scoping needs Landlock ABI 6")
def test_abstract_unix_sockets_outside_are_refused_when_scoped(
    writable: Path, abstract_listener: bytes
) -> None:
    ops = {"connect": f"socket.socket(socket.AF_UNIX).connect({abstract_listener!r})"}
    assert probe(ops, spec_for(writable, scope=False)) == {"connect": "ok"}
    assert probe(ops, spec_for(writable, scope=True)) == {"connect": "EPERM"}


def test_reading_and_executing_are_never_handled() -> None:
    spec = LandlockSpec(writable=())
    for abi in range(1, 11):
        fs, _, _ = ruleset_rights(spec, abi)
        assert fs & 0b1101 == 0  # EXECUTE, READ_FILE, READ_DIR
        assert fs & FS_WRITE_FILE


def test_rights_follow_the_abi() -> None:
    spec = LandlockSpec(writable=())
    fs1, net1, scope1 = ruleset_rights(spec, 1)
    assert not fs1 & (FS_REFER | FS_TRUNCATE | FS_IOCTL_DEV)
    assert (net1, scope1) == (0, 0)
    assert ruleset_rights(spec, 3)[0] & FS_TRUNCATE
    assert ruleset_rights(spec, 4)[1] == 0b11
    assert not ruleset_rights(spec, 4)[0] & FS_IOCTL_DEV
    assert ruleset_rights(spec, 5)[0] & FS_IOCTL_DEV
    assert ruleset_rights(spec, 6)[2] == 0b11
    relaxed = LandlockSpec(writable=(), restrict_tcp=False, scope=False)
    assert ruleset_rights(relaxed, 7)[1:] == (0, 0)


def test_unix_socket_resolution_is_handled_from_abi_9_and_granted_nowhere() -> None:
    """Handled with no rule: only sockets created inside the sandbox are reachable."""
    assert FS_RESOLVE_UNIX == 1 << 16
    spec = LandlockSpec(writable=())
    relaxed = LandlockSpec(writable=(), restrict_tcp=False, scope=False)
    for abi in range(1, 11):
        for each in (spec, relaxed):
            fs, _, _ = ruleset_rights(each, abi)
            assert bool(fs & FS_RESOLVE_UNIX) == (abi >= ABI_RESOLVE_UNIX)
            assert not granted_rights(fs) & FS_RESOLVE_UNIX
            assert granted_rights(fs) == fs & ~FS_RESOLVE_UNIX
    below, at = ruleset_rights(spec, 8)[0], ruleset_rights(spec, 9)[0]
    assert at == below | FS_RESOLVE_UNIX


@pytest.fixture
def host_unix_listener(tmp_path: Path) -> Iterator[str]:
    """A pathname unix socket bound outside any Landlock domain."""
    path = str(tmp_path / "host.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen()
        yield path


@pytest.mark.skipif(
    ABI < ABI_RESOLVE_UNIX,
    reason=f"refusing unix-socket connects needs Landlock ABI {ABI_RESOLVE_UNIX}, "
    f"this kernel offers {ABI}",
)
def test_host_unix_sockets_are_refused_and_the_sandboxs_own_are_not(
    writable: Path, host_unix_listener: str
) -> None:
    inside = str(writable / "own.sock")
    in_root = str(writable / "host-in-root.sock")
    with socket.socket(socket.AF_UNIX) as host_in_root:
        host_in_root.bind(in_root)
        host_in_root.listen()
        ops = {
            "host": f"socket.socket(socket.AF_UNIX).connect({host_unix_listener!r})",
            "host-in-writable-root": (
                f"socket.socket(socket.AF_UNIX).connect({in_root!r})"
            ),
            "own": (
                f"s = socket.socket(socket.AF_UNIX); s.bind({inside!r}); s.listen(); "
                f"socket.socket(socket.AF_UNIX).connect({inside!r})"
            ),
        }
        assert probe(ops, spec_for(writable)) == {
            "host": "EACCES",
            "host-in-writable-root": "EACCES",
            "own": "ok",
        }


def test_the_spec_is_a_value_compared_by_its_fields() -> None:
    spec = LandlockSpec(writable=("/w",), devices=("/dev/null",), scope=False)
    assert spec == LandlockSpec(("/w",), ("/dev/null",), True, False)
    assert spec != spec._replace(restrict_tcp=False)
    assert hash(spec) == hash(spec._replace())
    assert repr(spec) == (
        "LandlockSpec(devices=('/dev/null',), restrict_tcp=True, scope=False, "
        "writable=('/w',))"
    )
    with pytest.raises(AttributeError, match="immutable"):
        spec.scope = True
