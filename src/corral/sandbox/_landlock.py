"""The Landlock layer: writes only beneath the writable roots, whatever the mounts say.

Only write-ish filesystem rights are handled; reading and executing are left to
the mount layer.  On newer kernels TCP bind/connect, abstract unix sockets and
signals leaving the sandbox, and connecting to pathname unix sockets created
outside it are refused too.
"""

from __future__ import annotations

import os
import stat

from corral import _linux
from corral._record import Record
from corral.errors import LayerUnavailableError, SandboxSetupError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from os import PathLike

__all__ = [
    "ABI_RESOLVE_UNIX",
    "ABI_SCOPE",
    "ABI_TCP",
    "DEFAULT_DEVICE_PATHS",
    "LandlockSpec",
    "apply_landlock",
    "granted_rights",
    "landlock_abi",
    "ruleset_rights",
]

# Filesystem rights (linux/landlock.h), with the ABI that introduced each.
FS_WRITE_FILE = 1 << 1
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2: link or rename into another directory
FS_TRUNCATE = 1 << 14  # ABI 3: truncate(2), O_TRUNC
FS_IOCTL_DEV = 1 << 15  # ABI 5: ioctl(2) on character and block devices
FS_RESOLVE_UNIX = 1 << 16  # ABI 9: connect(2)/sendmsg(2) to a pathname unix socket

NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4

SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

ABI_TCP = 4
"""The first ABI that can refuse TCP bind and connect."""
ABI_SCOPE = 6
"""The first ABI that can scope abstract unix sockets and signals to the sandbox."""
ABI_RESOLVE_UNIX = 9
"""The first ABI that can refuse connecting to pathname unix sockets: below it,
only the mount layer's covers over the sockets bound at start hold them."""

_FS_RIGHTS_BY_ABI = (
    (
        1,
        FS_WRITE_FILE
        | FS_REMOVE_DIR
        | FS_REMOVE_FILE
        | FS_MAKE_CHAR
        | FS_MAKE_DIR
        | FS_MAKE_REG
        | FS_MAKE_SOCK
        | FS_MAKE_FIFO
        | FS_MAKE_BLOCK
        | FS_MAKE_SYM,
    ),
    (2, FS_REFER),
    (3, FS_TRUNCATE),
    (5, FS_IOCTL_DEV),
    (ABI_RESOLVE_UNIX, FS_RESOLVE_UNIX),
)

_NEVER_GRANTED = FS_RESOLVE_UNIX
"""Handled but given to no path: a command reaches only the unix sockets created
inside its own Landlock domain, wherever a host socket lives or appears."""

_FILE_RIGHTS = FS_WRITE_FILE | FS_TRUNCATE | FS_IOCTL_DEV
"""The write-ish rights that apply to a file itself; the rest only to directories."""

_DEVICE_RIGHTS = FS_WRITE_FILE | FS_TRUNCATE | FS_IOCTL_DEV
"""Devices can be written to and driven by ioctl, but nothing is created beside them."""

DEFAULT_DEVICE_PATHS = (
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",  # the controlling terminal, reopened by ssh, less, sudo-style prompts
    "/dev/ptmx",  # allocating a pseudo-terminal: script, expect, tmux, pexpect
    "/dev/pts",  # the terminals themselves, and what /dev/stdout resolves to on one
)
"""Devices any ordinary command may open for writing."""


class LandlockSpec(Record):
    """What the Landlock layer lets a command do."""

    __slots__ = ("devices", "restrict_tcp", "scope", "writable")
    writable: tuple[str | PathLike[str], ...]
    """The writable roots: directories (or files) given every handled right."""
    devices: tuple[str | PathLike[str], ...]
    """Devices that may be written to, truncated and driven by ioctl; missing ones
    are skipped."""
    restrict_tcp: bool
    """Refuse every TCP bind and connect (ABI 4 and later)."""
    scope: bool
    """Refuse abstract unix sockets and signals that leave the sandbox (ABI 6+)."""

    def __init__(
        self,
        writable: tuple[str | PathLike[str], ...],
        devices: tuple[str | PathLike[str], ...] = DEFAULT_DEVICE_PATHS,
        restrict_tcp: bool = True,
        scope: bool = True,
    ) -> None:
        self._init(
            writable=writable, devices=devices, restrict_tcp=restrict_tcp, scope=scope
        )


def landlock_abi() -> int:
    """Return the kernel's Landlock ABI version, or 0 when Landlock is unavailable."""
    try:
        return _linux.landlock_abi_version()
    except LayerUnavailableError:
        return 0


def ruleset_rights(spec: LandlockSpec, abi: int) -> tuple[int, int, int]:
    """Return the (filesystem, network, scope) masks the ruleset handles at `abi`."""
    fs = 0
    for since, rights in _FS_RIGHTS_BY_ABI:
        if abi >= since:
            fs |= rights
    net = NET_BIND_TCP | NET_CONNECT_TCP if spec.restrict_tcp and abi >= ABI_TCP else 0
    scoped = (
        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        if spec.scope and abi >= ABI_SCOPE
        else 0
    )
    return fs, net, scoped


def granted_rights(handled_fs: int) -> int:
    """Return the rights a writable root is given out of the `handled_fs` mask."""
    return handled_fs & ~_NEVER_GRANTED


def apply_landlock(spec: LandlockSpec) -> int:
    """Enforce `spec` on this process and all it starts; return the ABI used.

    TCP and scope restrictions are applied only from ABI_TCP and ABI_SCOPE on;
    the caller compares the returned ABI when it needs them.  Sets no_new_privs,
    which Landlock requires of an unprivileged process.

    Raises LayerUnavailableError when the kernel has no Landlock, and
    SandboxSetupError when a writable root is missing or a rule is refused.
    """
    abi = _linux.landlock_abi_version()
    handled_fs, handled_net, scoped = ruleset_rights(spec, abi)

    ruleset_fd = _linux.landlock_create_ruleset(handled_fs, handled_net, scoped)
    try:
        for root in spec.writable:
            if not _allow(ruleset_fd, root, granted_rights(handled_fs)):
                raise SandboxSetupError(
                    f"writable root {root} does not exist; create it or remove it "
                    f"from the policy's writable roots"
                )
        for device in spec.devices:
            _allow(ruleset_fd, device, handled_fs & _DEVICE_RIGHTS)

        # TCP (and unix-socket resolution) is refused by handling it with no
        # port (or path) rule at all.
        _linux.set_no_new_privs()
        _linux.landlock_restrict_self(ruleset_fd)
    finally:
        os.close(ruleset_fd)
    return abi


def _allow(ruleset_fd: int, path: str | PathLike[str], rights: int) -> bool:
    """Add a rule granting `rights` beneath `path`; False if `path` does not exist."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise SandboxSetupError(
            f"cannot open {path} for a Landlock rule: {exc.strerror}; check that "
            f"it is reachable inside the sandbox"
        ) from exc
    try:
        # The kernel refuses directory-only rights (make, remove, refer) on a file.
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        _linux.landlock_add_path_beneath_rule(ruleset_fd, fd, rights)
    finally:
        os.close(fd)
    return True
