"""The seccomp layer: a classic-BPF filter over the system calls a command may make.

It refuses new namespaces, mounts, ptrace, the kernel keyring, BPF, io_uring,
TIOCSTI, setting another process's limits, and every socket family but unix
and netlink (plus inet when online); everything else is allowed.  Foreign
architectures and x32 never get through.
"""

from __future__ import annotations

import errno
import struct

from corral import _linux
from corral.errors import LayerUnavailableError

__all__ = ["apply_seccomp", "build_filter", "seccomp_available"]

# Classic BPF opcodes (linux/filter.h, linux/bpf_common.h).
_BPF_LD_W_ABS = 0x00 | 0x00 | 0x20  # BPF_LD | BPF_W | BPF_ABS: A = data[k]
_BPF_JEQ_K = 0x05 | 0x10 | 0x00  # BPF_JMP | BPF_JEQ | BPF_K
_BPF_JGE_K = 0x05 | 0x30 | 0x00  # BPF_JMP | BPF_JGE | BPF_K (unsigned)
_BPF_JSET_K = 0x05 | 0x40 | 0x00  # BPF_JMP | BPF_JSET | BPF_K: A & k != 0
_BPF_RET_K = 0x06 | 0x00  # BPF_RET | BPF_K
_BPF_MAX_JUMP = 255  # jt and jf are 8-bit offsets

# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6].
_OFF_NR = 0
_OFF_ARCH = 4


def _arg_low(index: int) -> int:
    """Offset of the low 32 bits of syscall argument `index` (both arches are LE)."""
    return 16 + 8 * index


# Filter return values (linux/seccomp.h).
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_RET_ALLOW = 0x7FFF0000

_X32_SYSCALL_BIT = 0x40000000
"""x86_64 numbers with this bit are x32 calls, which the table below cannot see."""

DENIED = (
    # New namespaces and mount tables: the mount layer is the filesystem view.
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "open_tree_attr",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    # Reading or steering other processes.
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    # The kernel keyring is shared beyond the sandbox.
    "add_key",
    "request_key",
    "keyctl",
    # Large kernel attack surface no command here needs.
    "bpf",
    "perf_event_open",
    "userfaultfd",
    # io_uring submits socket and file work that this filter never sees.
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    # Administration of the machine itself.
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "iopl",
    "ioperm",
    "open_by_handle_at",  # bypasses path lookup, hence the mount view
    "quotactl",
    "quotactl_fd",
    "lookup_dcookie",
    "uselib",
    "vhangup",
)
"""System calls refused with EPERM (those an architecture lacks are skipped)."""

_CLONE_NEW_FLAGS = (
    0x00000080  # CLONE_NEWTIME
    | 0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)
"""clone() flags that create namespaces; the kernel reads only their low 32 bits."""

_TIOCSTI = 0x5412  # push bytes into a terminal's input: types commands for its owner
_TIOCLINUX = 0x541C  # virtual-console control, including selection paste
# ioctl()'s request is an unsigned int in the kernel: only the low 32 bits count.

_AF_UNIX = 1
_AF_INET = 2
_AF_INET6 = 10
_AF_NETLINK = 16

_PERSONALITIES = (
    0x00000000,  # PER_LINUX
    0x00000008,  # PER_LINUX32: uname reports a 32-bit machine (linux32, setarch)
    0x00040000,  # PER_LINUX | ADDR_NO_RANDOMIZE: gdb, setarch -R (own ASLR only)
    0x00040008,  # PER_LINUX32 | ADDR_NO_RANDOMIZE
    0xFFFFFFFF,  # query the current personality without changing it
)
"""personality() values allowed; others (READ_IMPLIES_EXEC, MMAP_PAGE_ZERO,
foreign ABIs) are refused with EPERM."""


class _Program:
    """A classic-BPF program under construction, with named jump targets."""

    def __init__(self) -> None:
        self._code: list[tuple[int, str | None, str | None, int]] = []
        self._labels: dict[str, int] = {}

    def label(self, name: str) -> None:
        self._labels[name] = len(self._code)

    def load(self, offset: int) -> None:
        self._code.append((_BPF_LD_W_ABS, None, None, offset))

    def jump(self, op: int, k: int, true: str | None, false: str | None) -> None:
        """Jump to label `true` or `false` (None: the next instruction)."""
        self._code.append((op, true, false, k))

    def ret(self, value: int) -> None:
        self._code.append((_BPF_RET_K, None, None, value))

    def assemble(self) -> bytes:
        out = bytearray()
        for index, (code, true, false, k) in enumerate(self._code):
            jt, jf = self._offset(index, true), self._offset(index, false)
            out += struct.pack("=HBBI", code, jt, jf, k)
        return bytes(out)

    def _offset(self, index: int, label: str | None) -> int:
        if label is None:
            return 0
        offset = self._labels[label] - index - 1
        if not 0 <= offset <= _BPF_MAX_JUMP:
            raise ValueError(f"BPF jump to {label!r} out of range ({offset})")
        return offset


def build_filter(*, allow_inet: bool, arch: str | None = None) -> bytes:
    """Return the seccomp program for `arch` (default: this process's own).

    Raises LayerUnavailableError for an architecture corral knows no syscalls for.
    """
    arch = arch or _linux.native_arch()
    if arch not in _linux.SYSCALLS:
        raise LayerUnavailableError(
            "seccomp", f"corral has no system-call table for {arch or 'this machine'}"
        )
    numbers = _linux.SYSCALLS[arch]
    p = _Program()

    # A foreign calling convention (i386 on x86_64, arm32 on aarch64) has other
    # numbers; the process is killed rather than let through.
    p.load(_OFF_ARCH)
    p.jump(_BPF_JEQ_K, _linux.AUDIT_ARCH[arch], None, "kill")
    p.load(_OFF_NR)
    if arch == "x86_64":
        # As on a kernel built without x32: ENOSYS.
        p.jump(_BPF_JGE_K, _X32_SYSCALL_BIT, "enosys", None)

    for name in DENIED:
        if name in numbers:
            p.jump(_BPF_JEQ_K, numbers[name], "eperm", None)
    p.jump(_BPF_JEQ_K, numbers["clone"], "clone", None)
    # clone3 passes its flags in memory, out of a filter's reach; glibc falls back
    # to clone() on ENOSYS, whose flags the filter sees.
    p.jump(_BPF_JEQ_K, numbers["clone3"], "enosys", None)
    p.jump(_BPF_JEQ_K, numbers["ioctl"], "ioctl", None)
    p.jump(_BPF_JEQ_K, numbers["socket"], "socket", None)
    p.jump(_BPF_JEQ_K, numbers["socketpair"], "socket", None)
    p.jump(_BPF_JEQ_K, numbers["personality"], "personality", None)
    p.jump(_BPF_JEQ_K, numbers["prlimit64"], "prlimit", None)
    p.ret(_RET_ALLOW)
    _argument_checks(p, allow_inet=allow_inet)

    p.label("eperm")
    p.ret(_RET_ERRNO | errno.EPERM)
    p.label("allow")
    p.ret(_RET_ALLOW)
    p.label("enosys")
    p.ret(_RET_ERRNO | errno.ENOSYS)
    p.label("kill")
    p.ret(_RET_KILL_PROCESS)
    return p.assemble()


def _argument_checks(p: _Program, *, allow_inet: bool) -> None:
    """The calls judged by their arguments; each ends at eperm or allow, or
    falls through to the eperm the caller puts right after."""
    # Setting another process's limits (pid != 0 and a new limit given): the
    # supervisor and the bridge share the sandbox, out of the command's reach
    # but for this.  Its own limits (pid 0, as setrlimit passes) and reading
    # anyone's stay allowed.  pid is an int: the kernel reads its low 32 bits.
    p.label("prlimit")
    p.load(_arg_low(0))
    p.jump(_BPF_JEQ_K, 0, "allow", None)
    p.load(_arg_low(2))
    p.jump(_BPF_JEQ_K, 0, None, "eperm")
    p.load(_arg_low(2) + 4)  # a pointer: both halves must be zero for NULL
    p.jump(_BPF_JEQ_K, 0, "allow", "eperm")

    p.label("clone")
    p.load(_arg_low(0))
    p.jump(_BPF_JSET_K, _CLONE_NEW_FLAGS, "eperm", "allow")

    p.label("ioctl")
    p.load(_arg_low(1))
    p.jump(_BPF_JEQ_K, _TIOCSTI, "eperm", None)
    p.jump(_BPF_JEQ_K, _TIOCLINUX, "eperm", "allow")

    p.label("socket")
    p.load(_arg_low(0))
    families = [_AF_UNIX, _AF_NETLINK] + ([_AF_INET, _AF_INET6] if allow_inet else [])
    for family in families:
        p.jump(_BPF_JEQ_K, family, "allow", None)
    p.ret(_RET_ERRNO | errno.EAFNOSUPPORT)

    p.label("personality")
    p.load(_arg_low(0))
    for persona in _PERSONALITIES:
        p.jump(_BPF_JEQ_K, persona, "allow", None)
    # Any other personality falls through to EPERM, which the caller puts next.


def apply_seccomp(program: bytes) -> None:
    """Install `program` on this process and all it starts; sets no_new_privs first.

    Raises LayerUnavailableError or SandboxSetupError (see corral._linux).
    """
    _linux.set_no_new_privs()
    _linux.seccomp_set_mode_filter(program)


def seccomp_available() -> bool:
    """Tell whether this kernel can enforce corral's filter (for ``corral doctor``)."""
    return _linux.seccomp_action_available(_RET_KILL_PROCESS)
