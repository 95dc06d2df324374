"""The seccomp layer alone: refused system calls, and ordinary work unharmed."""

from __future__ import annotations

import errno
import re
import shutil
import struct
from collections.abc import Mapping
from pathlib import Path

import pytest

from corral import _linux
from corral.errors import LayerUnavailableError
from corral.sandbox._seccomp import DENIED, build_filter, seccomp_available
from tests.sandbox.enforcer_support import IS_ROOT, python_argv, run_enforced

ARCH = _linux.native_arch()
pytestmark = pytest.mark.skipif(
    ARCH is None or not seccomp_available(), reason="no seccomp filters here"
)
NR = _linux.SYSCALLS[ARCH or "x86_64"]

# Prints {label: "ok" | errno name} for raw system calls given as (nr, *args).
PROBE = """
import ctypes, errno, json, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
results = {}
for label, (nr, *args) in CALLS.items():
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(a) for a in args))
    if r == 0 and label.startswith("clone"):
        os._exit(0)  # the child of a clone that went through
    if r > 0 and label.startswith("clone"):
        os.waitpid(r, 0)
    err = ctypes.get_errno() if r == -1 else 0
    results[label] = errno.errorcode[err] if err else "ok"
print(json.dumps(results))
"""

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
SIGCHLD = 17
PR_GET_SECUREBITS = 27


def raw_calls(
    calls: Mapping[str, tuple[int, ...]], allow_inet: bool | None
) -> dict[str, object]:
    """Make the calls behind the filter (None: no seccomp layer)."""
    code = f"CALLS = {calls!r}\n{PROBE}"
    ran = run_enforced(python_argv(code), seccomp_allow_inet=allow_inet)
    assert ran.returncode == 0, (ran.status, ran.stderr)
    return ran.json()


# Arguments chosen so that, without the filter, each call fails harmlessly with
# its own errno (or succeeds without effect on anything outside the probe).
HARMLESS = {
    "setns": (NR["setns"], -1, 0),
    "mount": (NR["mount"], 0, 0, 0, 0, 0),
    "umount2": (NR["umount2"], 0, 0),
    "chroot": (NR["chroot"], 0),
    "open_tree": (NR["open_tree"], -1, 0, 0),
    "ptrace": (NR["ptrace"], 2, 0x7FFFFFF0, 0, 0),  # PEEKDATA on no such pid
    "process_vm_readv": (NR["process_vm_readv"], 0x7FFFFFF0, 0, 1, 0, 1, 0),
    "pidfd_getfd": (NR["pidfd_getfd"], -1, 0, 0),
    "add_key": (NR["add_key"], 0, 0, 0, 0, 0),
    "request_key": (NR["request_key"], 0, 0, 0, 0),
    "keyctl": (NR["keyctl"], 9999, 0, 0, 0, 0),
    "bpf": (NR["bpf"], 9999, 0, 0),
    "perf_event_open": (NR["perf_event_open"], 0, 0, -1, -1, 0),
    "userfaultfd": (NR["userfaultfd"], 0xFFFFFFFF),
    "io_uring_setup": (NR["io_uring_setup"], 0, 0),
    "io_uring_enter": (NR["io_uring_enter"], -1, 0, 0, 0, 0, 0),
    "open_by_handle_at": (NR["open_by_handle_at"], -1, 0, 0),
    "clone3": (NR["clone3"], 0, 0),
    "clone-newuser": (NR["clone"], CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0),
    "personality-exec": (NR["personality"], 0x0400000),  # READ_IMPLIES_EXEC
    # Last: once in a new user namespace, a nested one needs a uid mapping first.
    "unshare": (NR["unshare"], CLONE_NEWUSER),
}


def test_dangerous_calls_are_refused_while_without_the_filter_they_are_not() -> None:
    baseline = raw_calls(HARMLESS, None)
    filtered = raw_calls(HARMLESS, False)
    expected = dict.fromkeys(HARMLESS, "EPERM") | {"clone3": "ENOSYS"}
    assert filtered == expected
    assert all(baseline[label] != expected[label] for label in HARMLESS), baseline


def test_clone_with_a_new_mount_namespace_is_refused_but_a_plain_fork_is_not() -> None:
    calls = {
        "clone-newns": (NR["clone"], CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0),
        "clone-plain": (NR["clone"], SIGCHLD, 0, 0, 0, 0),
    }
    assert raw_calls(calls, False) == {"clone-newns": "EPERM", "clone-plain": "ok"}


def test_harmless_personalities_and_the_query_are_allowed() -> None:
    calls = {
        "query": (NR["personality"], 0xFFFFFFFF),
        "linux": (NR["personality"], 0),
        "no-aslr": (NR["personality"], 0x0040000),
    }
    assert raw_calls(calls, False) == dict.fromkeys(calls, "ok")


# Sets the limits of a child it starts (another process) and its own (pid 0).
PRLIMIT_PROBE = """
import errno, json, resource, subprocess
child = subprocess.Popen(["sleep", "5"])
results = {}
for label, pid in (("other", child.pid), ("own", 0)):
    try:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (256, 256))
        results[label] = "ok"
    except OSError as exc:
        results[label] = errno.errorcode[exc.errno]
read = resource.prlimit(child.pid, resource.RLIMIT_NOFILE)
results["read-other"] = "ok" if read else "?"
child.kill()
print(json.dumps(results))
"""


def test_limits_of_another_process_cannot_be_set_but_ones_own_can() -> None:
    """corral's supervisor and bridge share the sandbox: no command may starve them."""
    ran = run_enforced(python_argv(PRLIMIT_PROBE), seccomp_allow_inet=False)
    assert ran.returncode == 0, (ran.status, ran.stderr)
    assert ran.json() == {"other": "EPERM", "own": "ok", "read-other": "ok"}
    unfiltered = run_enforced(python_argv(PRLIMIT_PROBE), seccomp_allow_inet=None)
    assert unfiltered.json()["other"] == "ok"


def test_unshare_and_mount_commands_fail() -> None:
    script = "unshare -U true; echo unshare=$?; mount -t tmpfs x /mnt; echo mount=$?"
    ran = run_enforced(["sh", "-c", script], seccomp_allow_inet=False)
    assert "unshare=1" in ran.stdout
    assert "mount=0" not in ran.stdout
    assert "Operation not permitted" in ran.stderr


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_strace_cannot_trace() -> None:
    ran = run_enforced(["strace", "-o", "/dev/null", "true"], seccomp_allow_inet=False)
    assert ran.returncode != 0
    assert "Operation not permitted" in ran.stderr


SOCKETS = """
import errno, json, socket
def attempt(make):
    try:
        make().close()
        return "ok"
    except OSError as exc:
        return errno.errorcode[exc.errno]
print(json.dumps({
    "inet": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
    "inet6": attempt(lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)),
    "vsock": attempt(lambda: socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)),
    "packet": attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW)),
    "unix-pair": attempt(lambda: socket.socketpair(socket.AF_UNIX)[0]),
    "netlink": attempt(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)),
}))
"""


def test_socket_families_offline() -> None:
    ran = run_enforced(python_argv(SOCKETS), seccomp_allow_inet=False)
    assert ran.json() == {
        "inet": "EAFNOSUPPORT",
        "inet6": "EAFNOSUPPORT",
        "vsock": "EAFNOSUPPORT",
        "packet": "EAFNOSUPPORT",
        "unix-pair": "ok",
        "netlink": "ok",
    }


def test_socket_families_online() -> None:
    ran = run_enforced(python_argv(SOCKETS), seccomp_allow_inet=True)
    result = ran.json()
    assert result["inet"] == result["inet6"] == result["unix-pair"] == "ok"
    assert result["vsock"] == result["packet"] == "EAFNOSUPPORT"


def test_without_the_filter_vsock_and_packet_fail_differently_or_work() -> None:
    result = run_enforced(python_argv(SOCKETS)).json()
    assert result["vsock"] != "EAFNOSUPPORT" or result["packet"] != "EAFNOSUPPORT"
    if IS_ROOT:
        assert result["packet"] == "ok"


# Pushes a byte into a pseudo-terminal that the probe made its controlling one.
TIOCSTI = """
import errno, fcntl, os, termios
os.setsid()
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
for name, request in (("TIOCSTI", termios.TIOCSTI), ("TIOCLINUX", 0x541C)):
    try:
        fcntl.ioctl(slave, request, b"\\x0c")
        print(name, "ok")
    except OSError as exc:
        print(name, errno.errorcode[exc.errno])
"""


def test_tiocsti_is_refused_by_the_filter_and_works_without_it() -> None:
    baseline = run_enforced(python_argv(TIOCSTI))
    filtered = run_enforced(python_argv(TIOCSTI), seccomp_allow_inet=False)
    assert "TIOCSTI ok" in baseline.stdout, baseline.stderr
    assert filtered.stdout.split("\n")[:2] == ["TIOCSTI EPERM", "TIOCLINUX EPERM"]


@pytest.mark.skipif(ARCH != "x86_64", reason="i386 and x32 exist only on x86_64")
def test_foreign_calling_conventions_never_get_through() -> None:
    """An int 0x80 (i386) call kills the process; an x32 call gets ENOSYS."""
    int80 = (
        "import ctypes, mmap\n"
        "m = mmap.mmap(-1, 4096, prot=7)\n"
        # mov eax, 20 (i386 getpid); int 0x80; ret
        "m.write(bytes.fromhex('b814000000cd80c3'))\n"
        "addr = ctypes.addressof(ctypes.c_char.from_buffer(m))\n"
        "print(ctypes.CFUNCTYPE(ctypes.c_int)(addr)())\n"
    )
    assert run_enforced(python_argv(int80), seccomp_allow_inet=False).returncode == -31
    x32_getpid = {"x32": (0x40000000 | 39,)}
    assert raw_calls(x32_getpid, False) == {"x32": "ENOSYS"}


def test_ordinary_work_is_unharmed() -> None:
    code = (
        "import asyncio, multiprocessing, subprocess, threading\n"
        "t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()\n"
        "for method, n in (('fork', -2), ('spawn', -3)):\n"
        "    with multiprocessing.get_context(method).Pool(1) as p:\n"
        "        print(p.map(abs, [n]))\n"
        "print(asyncio.run(asyncio.sleep(0, 'async')))\n"
        "print(subprocess.run(['git', '--version'], capture_output=True).returncode)\n"
    )
    ran = run_enforced(python_argv(code), seccomp_allow_inet=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["thread", "[2]", "[3]", "async", "0"]


# The filter itself, read by a tiny classic-BPF interpreter.


def evaluate(program: bytes, nr: int, arch: int, args: tuple[int, ...] = ()) -> int:
    data = struct.pack("<iIQ6Q", nr, arch, 0, *(args + (0,) * (6 - len(args))))
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = struct.unpack_from("=HBBI", program, pc * 8)
        pc += 1
        if code == 0x20:
            acc = struct.unpack_from("<I", data, k)[0]
        elif code == 0x06:
            return int(k)
        else:
            taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += jt if taken else jf


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_the_filter_decides_as_intended_on_each_architecture(arch: str) -> None:
    program = build_filter(allow_inet=False, arch=arch)
    numbers, audit = _linux.SYSCALLS[arch], _linux.AUDIT_ARCH[arch]
    eperm, allow = 0x50000 | errno.EPERM, 0x7FFF0000
    for name in DENIED:
        if name in numbers:
            assert evaluate(program, numbers[name], audit) == eperm, name
    assert evaluate(program, numbers["clone"], audit, (CLONE_NEWUSER,)) == eperm
    assert evaluate(program, numbers["clone"], audit, (SIGCHLD,)) == allow
    assert evaluate(program, numbers["socket"], audit, (2,)) == 0x50000 | 97
    assert evaluate(program, numbers["socket"], audit, (1 | 1 << 32,)) == allow
    assert evaluate(program, numbers["ioctl"], audit, (0, 0x5412)) == eperm
    assert evaluate(program, numbers["ioctl"], audit, (0, 1 << 32 | 0x5412)) == eperm
    assert evaluate(program, numbers["capget"], audit) == allow
    prlimit = numbers["prlimit64"]
    assert evaluate(program, prlimit, audit, (5, 7, 0x1000)) == eperm
    assert evaluate(program, prlimit, audit, (5, 7, 1 << 32)) == eperm  # high half
    assert evaluate(program, prlimit, audit, (5, 7, 0, 0x1000)) == allow  # read
    assert evaluate(program, prlimit, audit, (0, 7, 0x1000)) == allow  # its own
    assert evaluate(program, numbers["capget"], 0x40000003) == 0x80000000  # i386


def test_an_unknown_architecture_is_refused() -> None:
    with pytest.raises(LayerUnavailableError, match="seccomp"):
        build_filter(allow_inet=False, arch="riscv64")


HEADERS = {
    "x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    "aarch64": Path("/usr/include/asm-generic/unistd.h"),
}


@pytest.mark.parametrize("arch", sorted(HEADERS))
def test_syscall_numbers_match_the_kernel_headers(arch: str) -> None:
    """Every number the header knows agrees (newer calls may postdate the header)."""
    if not HEADERS[arch].exists():
        pytest.skip(f"{HEADERS[arch]} is not installed")
    text = HEADERS[arch].read_text()
    known = dict(re.findall(r"#define __NR_(\w+)\s+(\d+)\b", text))
    checked = 0
    for name, number in _linux.SYSCALLS[arch].items():
        if name in known:
            assert int(known[name]) == number, name
            checked += 1
    assert checked >= len(_linux.SYSCALLS[arch]) - 1  # open_tree_attr is 6.15+


def test_prctl_is_numbered_for_the_running_machine() -> None:
    """A call through the table reaches the right syscall (securebits read back)."""
    code = f"CALLS = {{'prctl': ({NR['prctl']}, {PR_GET_SECUREBITS})}}\n{PROBE}"
    assert run_enforced(python_argv(code)).json() == {"prctl": "ok"}
