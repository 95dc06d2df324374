"""Where runs meet the proxy process, and the channel they speak over.

The proxy's directory in the state dir holds its control socket, the lock
that serialises its start and exit, and its log.  Both ends use a `Channel`:
JSON lines over the control socket; only the message that registers a route
carries a descriptor (the unix listener bound into the sandbox).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import stat
import struct
from collections.abc import Iterator
from pathlib import Path

from corral._files import open_regular
from corral.errors import CorralError

__all__ = [
    "CONTROL_NAME",
    "LOG_NAME",
    "Channel",
    "ChannelClosedError",
    "network_dir",
    "peer_is_outside_sandboxes",
    "socket_name",
    "start_lock",
]

CONTROL_NAME = "proxy.sock"
LOCK_NAME = "proxy.lock"
LOG_NAME = "proxy.log"

# A unix socket's address holds at most 107 bytes; a longer path is reached
# through the descriptor of its directory instead.
_SUN_PATH_ROOM = 100

# A route is a few kilobytes; a line longer than this is not corral's.
_MAX_LINE = 4 << 20
_MAX_FDS = 2


def network_dir(state: Path) -> Path:
    """Return (creating it, private) the proxy's directory in the state dir."""
    path = state / "network"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise CorralError(
            f"{path} is not a directory of this user's; remove it and rerun"
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        path.chmod(0o700)
    return path


@contextlib.contextmanager
def socket_name(path: Path) -> Iterator[str]:
    """Yield a name for `path` short enough to bind or connect a unix socket at."""
    if len(os.fsencode(path)) <= _SUN_PATH_ROOM:
        yield str(path)
        return
    fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


@contextlib.contextmanager
def start_lock(directory: Path) -> Iterator[None]:
    """Hold the lock that serialises a proxy's start, registration and exit."""
    fd = open_regular(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class ChannelClosedError(ConnectionError):
    """The other end closed the channel (or sent something that is not a message)."""


class Channel:
    """One end of a control connection; not safe for concurrent readers."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""
        self._fds: list[int] = []

    def send(self, message: dict[str, object], fds: tuple[int, ...] = ()) -> None:
        data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        if fds:
            sent = socket.send_fds(self.sock, [data], list(fds))
            data = data[sent:]
        self.sock.sendall(data)

    def receive(self) -> tuple[dict[str, object], list[int]]:
        """Return the next message and the descriptors that came with it."""
        while b"\n" not in self._buffer:
            if len(self._buffer) > _MAX_LINE:
                raise ChannelClosedError("control message too long")
            data, fds, flags, _ = socket.recv_fds(self.sock, 1 << 16, _MAX_FDS)
            self._fds.extend(fds)
            if flags & socket.MSG_CTRUNC:
                self._close_fds()
                raise ChannelClosedError("too many descriptors in a control message")
            if not data:
                self._close_fds()
                raise ChannelClosedError("the other end closed the control channel")
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        fds, self._fds = self._fds, []
        try:
            message = json.loads(line)
        except ValueError as exc:
            for fd in fds:
                os.close(fd)
            raise ChannelClosedError(f"not a control message: {exc}") from exc
        if not isinstance(message, dict):
            for fd in fds:
                os.close(fd)
            raise ChannelClosedError("a control message must be a JSON object")
        return message, fds

    def _close_fds(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []


# A process inside a sandbox lives in namespaces of its own (bubblewrap always
# makes a user namespace; offline and allow-list a network namespace).
_HOST_NAMESPACES = ("user", "net")


def peer_is_outside_sandboxes(sock: socket.socket) -> bool:
    """Whether the peer of `sock` is this user's process in this one's namespaces.

    The control socket of one state directory is visible to the commands of
    runs of another (only a run's own state directory is hidden): a same-uid
    peer is not enough, since a sandboxed command is one.  A peer whose
    namespaces cannot be read is refused.
    """
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    pid, uid, _gid = struct.unpack("3i", creds)
    if uid != os.geteuid() or pid <= 0:
        return False
    pidfd = _peer_pidfd(sock)
    try:
        same = all(
            Path(f"/proc/{pid}/ns/{kind}").stat().st_ino
            == Path(f"/proc/self/ns/{kind}").stat().st_ino
            for kind in _HOST_NAMESPACES
        )
        if pidfd is not None:
            # Still alive after the check, so /proc/<pid> was the peer, not a
            # process that took its number after it exited.
            signal.pidfd_send_signal(pidfd, 0)
    except OSError:
        return False
    finally:
        if pidfd is not None:
            os.close(pidfd)
    return same


# SO_PEERPIDFD (Linux 6.5): a pidfd of the peer, which a reused pid cannot fool.
_SO_PEERPIDFD = 77


def _peer_pidfd(sock: socket.socket) -> int | None:
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, _SO_PEERPIDFD, 4)
    except OSError:
        return None  # an older kernel: the pid alone
    return int(struct.unpack("i", raw)[0])
