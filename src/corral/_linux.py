"""The one place where corral calls the Linux kernel directly, through ctypes.

One small typed function per system call (or prctl option); errno is turned into
corral's own errors here and nowhere else.  Only x86_64 and aarch64 are known.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys

from corral._record import Record
from corral.errors import LayerUnavailableError, SandboxSetupError

__all__ = [
    "AUDIT_ARCH",
    "SYSCALLS",
    "CapSets",
    "birth_time_ns",
    "cap_ambient_clear_all",
    "capbset_drop",
    "capget",
    "capset",
    "get_securebits",
    "interface_addresses",
    "landlock_abi_version",
    "landlock_add_net_port_rule",
    "landlock_add_path_beneath_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "native_arch",
    "no_new_privs",
    "seccomp_action_available",
    "seccomp_set_mode_filter",
    "set_dumpable",
    "set_no_new_privs",
    "set_parent_death_signal",
    "set_securebits",
]

# System-call numbers, checked against the kernel's own tables: x86_64 from
# arch/x86/entry/syscalls/syscall_64.tbl (asm/unistd_64.h), aarch64 from the
# generic table include/uapi/asm-generic/unistd.h that arm64 uses.  Syscalls that
# an architecture lacks (iopl, ioperm, uselib on aarch64) are simply absent.
_COMMON_NEW = {
    # Numbers from 424 on are shared by every architecture.
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "clone3": 435,
    "pidfd_getfd": 438,
    "mount_setattr": 442,
    "quotactl_fd": 443,
    "landlock_create_ruleset": 444,
    "landlock_add_rule": 445,
    "landlock_restrict_self": 446,
    "open_tree_attr": 467,
}

SYSCALLS: dict[str, dict[str, int]] = {
    "x86_64": {
        "ioctl": 16,
        "socket": 41,
        "socketpair": 53,
        "clone": 56,
        "ptrace": 101,
        "capget": 125,
        "capset": 126,
        "uselib": 134,
        "personality": 135,
        "prlimit64": 302,
        "vhangup": 153,
        "pivot_root": 155,
        "prctl": 157,
        "chroot": 161,
        "acct": 163,
        "mount": 165,
        "umount2": 166,
        "swapon": 167,
        "swapoff": 168,
        "reboot": 169,
        "iopl": 172,
        "ioperm": 173,
        "init_module": 175,
        "delete_module": 176,
        "quotactl": 179,
        "lookup_dcookie": 212,
        "kexec_load": 246,
        "add_key": 248,
        "request_key": 249,
        "keyctl": 250,
        "unshare": 272,
        "perf_event_open": 298,
        "open_by_handle_at": 304,
        "setns": 308,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        "finit_module": 313,
        "seccomp": 317,
        "kexec_file_load": 320,
        "bpf": 321,
        "userfaultfd": 323,
        **_COMMON_NEW,
    },
    "aarch64": {
        "lookup_dcookie": 18,
        "ioctl": 29,
        "umount2": 39,
        "mount": 40,
        "pivot_root": 41,
        "chroot": 51,
        "vhangup": 58,
        "quotactl": 60,
        "acct": 89,
        "capget": 90,
        "capset": 91,
        "personality": 92,
        "prlimit64": 261,
        "unshare": 97,
        "kexec_load": 104,
        "init_module": 105,
        "delete_module": 106,
        "ptrace": 117,
        "reboot": 142,
        "prctl": 167,
        "socket": 198,
        "socketpair": 199,
        "add_key": 217,
        "request_key": 218,
        "keyctl": 219,
        "clone": 220,
        "swapon": 224,
        "swapoff": 225,
        "perf_event_open": 241,
        "open_by_handle_at": 265,
        "setns": 268,
        "process_vm_readv": 270,
        "process_vm_writev": 271,
        "finit_module": 273,
        "seccomp": 277,
        "bpf": 280,
        "userfaultfd": 282,
        "kexec_file_load": 294,
        **_COMMON_NEW,
    },
}

AUDIT_ARCH: dict[str, int] = {
    # seccomp_data.arch values (linux/audit.h): EM_* | __AUDIT_ARCH_64BIT | _LE.
    "x86_64": 0xC000003E,
    "aarch64": 0xC00000B7,
}

# prctl(2) options (linux/prctl.h).
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_GET_SECCOMP = 21
_PR_CAPBSET_DROP = 24
_PR_GET_SECUREBITS = 27
_PR_SET_SECUREBITS = 28
_PR_SET_NO_NEW_PRIVS = 38
_PR_GET_NO_NEW_PRIVS = 39
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4

# capget/capset: version 3 carries 64 capability bits in two 32-bit words.
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_LINUX_CAPABILITY_U32S_3 = 2

# seccomp(2) operations (linux/seccomp.h).
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_GET_ACTION_AVAIL = 2

# landlock_create_ruleset(2) flag and rule types (linux/landlock.h).
_LANDLOCK_CREATE_RULESET_VERSION = 1 << 0
_LANDLOCK_RULE_PATH_BENEATH = 1
_LANDLOCK_RULE_NET_PORT = 2


class _RulesetAttr(ctypes.Structure):
    # All three words, zero where the running ABI lacks them: the kernel accepts
    # a longer struct as long as the bytes it does not know are zero.
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # __attribute__((packed)) in the uapi header: 12 bytes, no padding
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class _NetPortAttr(ctypes.Structure):
    _fields_ = (("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64))


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


class CapSets(Record):
    """The three per-thread capability sets, as 64-bit masks."""

    __slots__ = ("effective", "inheritable", "permitted")
    effective: int
    permitted: int
    inheritable: int

    def __init__(self, effective: int, permitted: int, inheritable: int) -> None:
        self._init(effective=effective, permitted=permitted, inheritable=inheritable)


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


# statx(2): what is asked for, and where struct statx holds the answers.
_AT_EMPTY_PATH = 0x1000
_STATX_BTIME = 0x800
_STATX_SIZE = 256
_STATX_BTIME_OFFSET = 80  # struct statx_timestamp: s64 seconds, u32 nanoseconds
_statx = getattr(_libc, "statx", None)  # glibc 2.28 and later
if _statx is not None:
    _statx.argtypes = (
        ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p
    )  # fmt: skip
    _statx.restype = ctypes.c_int


def birth_time_ns(fd: int) -> int | None:
    """When the file open at `fd` was created, in ns; None where the file
    system does not keep it (or the C library has no statx)."""
    buffer = ctypes.create_string_buffer(_STATX_SIZE)
    if _statx is None or _statx(fd, b"", _AT_EMPTY_PATH, _STATX_BTIME, buffer):
        return None
    raw, order = buffer.raw, sys.byteorder
    if not int.from_bytes(raw[0:4], order) & _STATX_BTIME:
        return None
    at = _STATX_BTIME_OFFSET
    seconds = int.from_bytes(raw[at : at + 8], order, signed=True)
    nanoseconds = int.from_bytes(raw[at + 8 : at + 12], order)
    return seconds * 1_000_000_000 + nanoseconds


def native_arch() -> str | None:
    """Name the architecture of this process if corral knows its syscalls, else None.

    A 32-bit interpreter on a 64-bit kernel counts as unknown: its system calls
    take the compat path, with other numbers.
    """
    machine = os.uname().machine
    if machine in SYSCALLS and ctypes.sizeof(ctypes.c_void_p) == 8:
        return machine
    return None


def _nr(name: str, layer: str) -> int:
    arch = native_arch()
    if arch is None:
        raise LayerUnavailableError(
            layer, f"corral knows no system calls for {os.uname().machine}"
        )
    return SYSCALLS[arch][name]


def _syscall(nr: int, *args: int) -> tuple[int, int]:
    """Call syscall(2); return (result, errno), errno being 0 on success."""
    ctypes.set_errno(0)
    result = int(_libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(a) for a in args)))
    return result, (ctypes.get_errno() if result == -1 else 0)


def _prctl(option: int, *args: int) -> tuple[int, int]:
    padded = (*args, 0, 0, 0, 0)[:4]
    return _syscall(_nr("prctl", "identity"), option, *padded)


def _fail(what: str, err: int, advice: str) -> SandboxSetupError:
    return SandboxSetupError(f"{what} failed: {os.strerror(err)}; {advice}")


# Landlock


def landlock_abi_version() -> int:
    """Return the highest Landlock ABI the kernel offers (1 or more).

    Raises LayerUnavailableError when Landlock is not built in (ENOSYS) or not
    enabled at boot (EOPNOTSUPP: add ``landlock`` to the ``lsm=`` boot option).
    """
    nr = _nr("landlock_create_ruleset", "landlock")
    result, err = _syscall(nr, 0, 0, _LANDLOCK_CREATE_RULESET_VERSION)
    if err == errno.ENOSYS:
        raise LayerUnavailableError("landlock", "the kernel has no Landlock (ENOSYS)")
    if err == errno.EOPNOTSUPP:
        raise LayerUnavailableError(
            "landlock",
            "Landlock is built in but not enabled; add 'landlock' to the lsm= "
            "kernel boot option",
        )
    if err:
        raise _fail("landlock_create_ruleset(VERSION)", err, "report this machine")
    if result < 1:
        raise LayerUnavailableError("landlock", f"the kernel reports ABI {result}")
    return result


def landlock_create_ruleset(handled_fs: int, handled_net: int, scoped: int) -> int:
    """Create a ruleset handling the given rights; return its (close-on-exec) fd.

    Raises SandboxSetupError when the kernel refuses the handled rights.
    """
    attr = _RulesetAttr(handled_fs, handled_net, scoped)
    nr = _nr("landlock_create_ruleset", "landlock")
    fd, err = _syscall(nr, ctypes.addressof(attr), ctypes.sizeof(attr), 0)
    if err:
        raise _fail(
            "landlock_create_ruleset", err, "the kernel rejects the rights asked for"
        )
    return fd


def landlock_add_path_beneath_rule(
    ruleset_fd: int, parent_fd: int, allowed: int
) -> None:
    """Allow `allowed` beneath the file or directory open (O_PATH) at `parent_fd`.

    Raises SandboxSetupError, e.g. when a directory-only right is given for a file.
    """
    attr = _PathBeneathAttr(allowed, parent_fd)
    nr = _nr("landlock_add_rule", "landlock")
    _, err = _syscall(
        nr, ruleset_fd, _LANDLOCK_RULE_PATH_BENEATH, ctypes.addressof(attr), 0
    )
    if err:
        raise _fail("landlock_add_rule(PATH_BENEATH)", err, "check the path's type")


def landlock_add_net_port_rule(ruleset_fd: int, port: int, allowed: int) -> None:
    """Allow the TCP rights `allowed` (bind, connect) on `port`.

    Raises SandboxSetupError when the kernel refuses the rule (ABI < 4).
    """
    attr = _NetPortAttr(allowed, port)
    nr = _nr("landlock_add_rule", "landlock")
    _, err = _syscall(
        nr, ruleset_fd, _LANDLOCK_RULE_NET_PORT, ctypes.addressof(attr), 0
    )
    if err:
        raise _fail("landlock_add_rule(NET_PORT)", err, "check the Landlock ABI")


def landlock_restrict_self(ruleset_fd: int, flags: int = 0) -> None:
    """Enforce the ruleset on this thread and every process it will start.

    Raises SandboxSetupError; without no_new_privs the kernel says EPERM.
    """
    _, err = _syscall(_nr("landlock_restrict_self", "landlock"), ruleset_fd, flags)
    if err:
        raise _fail("landlock_restrict_self", err, "no_new_privs must be set before it")


# prctl: no_new_privs, bounding set, securebits, ambient capabilities


def set_no_new_privs() -> None:
    """Set no_new_privs: from now on, execve() never grants privileges.

    Raises SandboxSetupError (the kernel only refuses it for bad arguments).
    """
    _, err = _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    if err:
        raise _fail("prctl(PR_SET_NO_NEW_PRIVS)", err, "report this machine")


def no_new_privs() -> bool:
    """Tell whether no_new_privs is set for this thread."""
    result, err = _prctl(_PR_GET_NO_NEW_PRIVS)
    if err:
        raise _fail("prctl(PR_GET_NO_NEW_PRIVS)", err, "report this machine")
    return result == 1


def capbset_drop(cap: int) -> None:
    """Drop capability number `cap` from the bounding set (needs CAP_SETPCAP).

    Raises SandboxSetupError.
    """
    _, err = _prctl(_PR_CAPBSET_DROP, cap)
    if err:
        raise _fail(f"prctl(PR_CAPBSET_DROP, {cap})", err, "CAP_SETPCAP is needed")


def get_securebits() -> int:
    """Return this thread's securebits."""
    result, err = _prctl(_PR_GET_SECUREBITS)
    if err:
        raise _fail("prctl(PR_GET_SECUREBITS)", err, "report this machine")
    return result


def set_securebits(bits: int) -> None:
    """Set this thread's securebits (needs CAP_SETPCAP; locked bits cannot change).

    Raises SandboxSetupError.
    """
    _, err = _prctl(_PR_SET_SECUREBITS, bits)
    if err:
        raise _fail(
            f"prctl(PR_SET_SECUREBITS, {bits:#x})", err, "CAP_SETPCAP is needed"
        )


def cap_ambient_clear_all() -> None:
    """Empty the ambient capability set.

    Raises SandboxSetupError (EINVAL before Linux 4.3, which corral does not run on).
    """
    _, err = _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL)
    if err:
        raise _fail("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", err, "report this machine")


def set_dumpable(dumpable: bool) -> None:
    """Set whether this process may be dumped, and so opened through /proc.

    A process that may not is closed to ptrace and to /proc/PID/fd for every
    process without CAP_SYS_PTRACE, even one of its own uid.  execve() sets it
    back for the program it starts.
    Raises SandboxSetupError (the kernel only refuses bad arguments).
    """
    _, err = _prctl(_PR_SET_DUMPABLE, int(dumpable))
    if err:
        raise _fail("prctl(PR_SET_DUMPABLE)", err, "report this machine")


def set_parent_death_signal(signum: int) -> None:
    """Have the kernel send `signum` to this process when its parent ends (0: none).

    fork() clears it in the child; execve() keeps it.
    Raises SandboxSetupError for a signal number the kernel does not know.
    """
    _, err = _prctl(_PR_SET_PDEATHSIG, signum)
    if err:
        raise _fail("prctl(PR_SET_PDEATHSIG)", err, "report this machine")


# capget / capset


def capget() -> CapSets:
    """Return the calling thread's effective, permitted and inheritable sets."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * _LINUX_CAPABILITY_U32S_3)()
    nr = _nr("capget", "identity")
    _, err = _syscall(nr, ctypes.addressof(header), ctypes.addressof(data))
    if err:
        raise _fail("capget", err, "report this machine")
    low, high = data
    return CapSets(
        effective=int(low.effective) | int(high.effective) << 32,
        permitted=int(low.permitted) | int(high.permitted) << 32,
        inheritable=int(low.inheritable) | int(high.inheritable) << 32,
    )


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """Set the calling thread's capability sets (each a 64-bit mask).

    Raises SandboxSetupError (EPERM when asked to gain a capability).
    """
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * _LINUX_CAPABILITY_U32S_3)()
    for word, item in enumerate(data):
        shift = 32 * word
        item.effective = (effective >> shift) & 0xFFFFFFFF
        item.permitted = (permitted >> shift) & 0xFFFFFFFF
        item.inheritable = (inheritable >> shift) & 0xFFFFFFFF
    nr = _nr("capset", "identity")
    _, err = _syscall(nr, ctypes.addressof(header), ctypes.addressof(data))
    if err:
        raise _fail("capset", err, "capabilities can only be dropped, never gained")


# seccomp


def seccomp_action_available(action: int) -> bool:
    """Tell whether the kernel offers seccomp filters with return `action`."""
    if native_arch() is None:
        return False
    value = ctypes.c_uint32(action)
    _, err = _syscall(
        _nr("seccomp", "seccomp"), _SECCOMP_GET_ACTION_AVAIL, 0, ctypes.addressof(value)
    )
    if err == 0:
        return True
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise _fail("seccomp(SECCOMP_GET_ACTION_AVAIL)", err, "report this machine")


def seccomp_set_mode_filter(program: bytes, flags: int = 0) -> None:
    """Install the classic-BPF `program` (8-byte instructions) as a seccomp filter.

    Raises SandboxSetupError (EACCES without no_new_privs, EINVAL for a bad
    program) or LayerUnavailableError when the kernel has no seccomp filters.
    """
    count, remainder = divmod(len(program), 8)
    if remainder or not 0 < count <= 0xFFFF:
        raise SandboxSetupError(
            f"a seccomp program of {len(program)} bytes is malformed; this is a bug "
            f"in corral"
        )
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(count, ctypes.addressof(buffer))
    nr = _nr("seccomp", "seccomp")
    _, err = _syscall(nr, _SECCOMP_SET_MODE_FILTER, flags, ctypes.addressof(fprog))
    if err == errno.ENOSYS:
        raise LayerUnavailableError("seccomp", "the kernel has no seccomp(2)")
    if err:
        raise _fail(
            "seccomp(SECCOMP_SET_MODE_FILTER)", err, "no_new_privs must be set first"
        )


class _IfAddrs(ctypes.Structure):
    # struct ifaddrs from <ifaddrs.h>; pointers kept as integers to follow by hand.
    _fields_ = (
        ("ifa_next", ctypes.c_void_p),
        ("ifa_name", ctypes.c_char_p),
        ("ifa_flags", ctypes.c_uint),
        ("ifa_addr", ctypes.c_void_p),
        ("ifa_netmask", ctypes.c_void_p),
        ("ifa_ifu", ctypes.c_void_p),
        ("ifa_data", ctypes.c_void_p),
    )


# Where the address bytes lie in struct sockaddr_in and struct sockaddr_in6,
# by address family (AF_INET 2, AF_INET6 10).
_SOCKADDR_LAYOUT: dict[int, tuple[int, int]] = {2: (4, 4), 10: (8, 16)}
_libc.getifaddrs.argtypes = (ctypes.POINTER(ctypes.c_void_p),)
_libc.getifaddrs.restype = ctypes.c_int
_libc.freeifaddrs.argtypes = (ctypes.c_void_p,)
_libc.freeifaddrs.restype = None


def interface_addresses() -> list[bytes]:
    """Return every IPv4 (4 bytes) and IPv6 (16 bytes) address of this host's
    interfaces in this network namespace, read with getifaddrs(3).

    Raises SandboxSetupError when the C library cannot list them.
    """
    head = ctypes.c_void_p()
    if _libc.getifaddrs(ctypes.byref(head)) != 0:
        err = ctypes.get_errno()
        raise _fail(
            "cannot list this host's addresses: getifaddrs",
            err,
            "without them the network proxy cannot refuse them, so it does not start",
        )
    found = []
    try:
        node = head.value
        while node:
            entry = _IfAddrs.from_address(node)
            if entry.ifa_addr:
                family = ctypes.c_ushort.from_address(entry.ifa_addr).value
                layout = _SOCKADDR_LAYOUT.get(family)
                if layout is not None:
                    offset, size = layout
                    found.append(ctypes.string_at(entry.ifa_addr + offset, size))
            node = entry.ifa_next
    finally:
        _libc.freeifaddrs(head)
    return found
