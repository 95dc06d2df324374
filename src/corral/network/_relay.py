"""A client's sockets: taken over from the unix listener, copied both ways, closed.

Bytes move socket to pipe to socket with splice(2), so they never enter Python;
where the kernel refuses splice the copy falls back to recv and send.  Each
direction counts what it delivered and half-closes its destination at the end.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import stat
import threading
import time
from collections.abc import Callable

from corral._logger import get_logger

__all__ = [
    "CHUNK",
    "Reader",
    "Sockets",
    "Tally",
    "pump",
    "receive_client",
    "relay",
    "reply",
    "stream_socket",
]

logger = get_logger(__name__)

CHUNK = 256 * 1024
"""Bytes asked of one splice or recv in bulk: past this, larger asks measured no
faster on loopback, and each direction's pipe holds this much."""
_SMALL_CHUNK = 64 * 1024
_SPLICE_AFTER = 1 << 20
"""Bytes a direction copies through a small buffer before it takes a pipe.  Most
connections carry less; and a pipe's pages count against the user's pipe quota,
past which the kernel gives every new pipe of that user 8 KiB."""
# Errors that mean "this pair of files cannot be spliced", not "the copy failed".
_NO_SPLICE = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP})
_MAX_FDS = 4  # room to see, and close, descriptors beyond the one expected
_CLIENT_FAMILIES = frozenset({socket.AF_INET, socket.AF_INET6, socket.AF_UNIX})
_LINGER = 1.0  # seconds, and bytes below, read after a reply so close sends no RST
_LINGER_BYTES = 1 << 20


class Tally:
    """Bytes delivered in one direction, counted as they go."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class Sockets:
    """The sockets of one connection, which another thread may cut at any time.

    Cutting shuts them down, which wakes every thread blocked on them; only
    `close` closes them, so a cut never reaches a descriptor number that has
    since been reused.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: list[socket.socket] = []
        self._cut = False

    @property
    def is_cut(self) -> bool:
        """Whether the connection was cut: nothing more should be started on it."""
        return self._cut

    def add(self, sock: socket.socket) -> None:
        """Hold `sock` until `close`; a socket added after a cut is cut at once."""
        with self._lock:
            self._held.append(sock)
            if self._cut:
                _shutdown(sock, socket.SHUT_RDWR)

    def discard(self, sock: socket.socket) -> None:
        """Close `sock` and hold it no longer."""
        with self._lock:
            if sock in self._held:
                self._held.remove(sock)
            sock.close()

    def cut(self) -> None:
        """Shut every socket down, both ways."""
        with self._lock:
            self._cut = True
            for sock in self._held:
                _shutdown(sock, socket.SHUT_RDWR)

    def close(self) -> None:
        """Close every socket held."""
        with self._lock:
            for sock in self._held:
                sock.close()
            self._held.clear()


class Reader:
    """Buffered reads from a socket, for the heads before the bytes only relayed.

    `fail` makes the error for a head that is cut short, too long or too slow;
    `deadline` (a `time.monotonic` value) bounds how long the reads may take.
    """

    def __init__(
        self,
        sock: socket.socket,
        data: bytes,
        fail: Callable[[str], Exception],
        deadline: float | None = None,
    ) -> None:
        self._sock = sock
        self._buffer = bytearray(data)
        self._fail = fail
        self._deadline = deadline

    def _fill(self) -> bool:
        if self._deadline is not None:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise self._fail("the request head did not arrive in the time allowed")
            self._sock.settimeout(remaining)
        try:
            data = self._sock.recv(CHUNK)
        except TimeoutError:
            raise self._fail(
                "the request head did not arrive in the time allowed"
            ) from None
        self._buffer += data
        return bool(data)

    def peek(self) -> bytes:
        """What is buffered, reading once if nothing is; empty at end of input."""
        if not self._buffer:
            self._fill()
        return bytes(self._buffer)

    def line(self, limit: int) -> bytes:
        """One line with its end, at most `limit` bytes long."""
        start = 0
        while (end := self._buffer.find(b"\n", start)) < 0:
            if len(self._buffer) >= limit:
                raise self._fail(f"a line is longer than {limit} bytes")
            start = len(self._buffer)
            if not self._fill():
                raise self._fail("the connection closed in the middle of a line")
        if end + 1 > limit:
            raise self._fail(f"a line is longer than {limit} bytes")
        line = bytes(self._buffer[: end + 1])
        del self._buffer[: end + 1]
        return line

    def read(self, size: int) -> bytes:
        """Up to `size` bytes: what is buffered, else one read; empty at the end."""
        if not self._buffer:
            self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def end_deadline(self) -> None:
        """Read without a time limit from now on: the head has arrived."""
        self._deadline = None

    def take(self) -> bytes:
        """Everything buffered and not yet read."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


def relay(
    client: socket.socket,
    upstream: socket.socket,
    sockets: Sockets,
    up: Tally,
    down: Tally,
) -> None:
    """Copy both ways until both directions end; an error in either cuts both."""
    client.setblocking(True)
    upstream.setblocking(True)
    thread = threading.Thread(
        target=_direction,
        args=(client, upstream, sockets, up),
        name="corral-proxy-up",
    )
    thread.start()
    try:
        _direction(upstream, client, sockets, down)
    finally:
        thread.join()


def _direction(
    src: socket.socket, dst: socket.socket, sockets: Sockets, tally: Tally
) -> None:
    try:
        pump(src, dst, tally)
    except OSError as exc:
        logger.debug("relay ended by %s after %d bytes", exc, tally.count)
        sockets.cut()
    else:
        _shutdown(dst, socket.SHUT_WR)


def pump(src: socket.socket, dst: socket.socket, tally: Tally) -> None:
    """Copy from `src` to `dst` until `src` ends; both must be blocking.

    Raises `OSError` when either side fails; `tally` holds what was delivered.
    """
    if _copy(src, dst, tally, _SMALL_CHUNK, until=_SPLICE_AFTER):
        return
    if not _splice(src.fileno(), dst, tally):
        _copy(src, dst, tally, CHUNK)


def _splice(src: int, dst: socket.socket, tally: Tally) -> bool:
    """Splice until end of input; False when splice cannot serve this pair."""
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    try:
        with contextlib.suppress(OSError):  # a user past its pipe quota keeps less
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, CHUNK)
        spliced = False
        while True:
            try:
                size = os.splice(src, write_end, CHUNK, flags=os.SPLICE_F_MOVE)
            except OSError as exc:
                if exc.errno in _NO_SPLICE and not spliced:
                    return False
                raise
            if size == 0:
                return True
            spliced = True
            if not _drain(read_end, size, dst, tally):
                return False
    finally:
        os.close(read_end)
        os.close(write_end)


def _drain(pipe: int, size: int, dst: socket.socket, tally: Tally) -> bool:
    """Move `size` bytes from the pipe to `dst`; False once splice is refused."""
    while size:
        try:
            moved = os.splice(pipe, dst.fileno(), size, flags=os.SPLICE_F_MOVE)
        except OSError as exc:
            if exc.errno not in _NO_SPLICE:
                raise
            # The bytes already in the pipe still belong to the stream.
            while size:
                data = os.read(pipe, size)
                dst.sendall(data)
                tally.count += len(data)
                size -= len(data)
            return False
        tally.count += moved
        size -= moved
    return True


def _copy(
    src: socket.socket,
    dst: socket.socket,
    tally: Tally,
    chunk: int,
    until: int | None = None,
) -> bool:
    """Copy until the end of input (True), or until `until` bytes in all (False)."""
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    while until is None or tally.count < until:
        size = src.recv_into(buffer)
        if size == 0:
            return True
        dst.sendall(view[:size])
        tally.count += size
    return False


def _shutdown(sock: socket.socket, how: int) -> None:
    with contextlib.suppress(OSError):  # already shut, or the peer is gone
        sock.shutdown(how)


def receive_client(
    conn: socket.socket, timeout: float, sockets: Sockets
) -> tuple[socket.socket, bytes] | str:
    """The client a new unix connection is or passes, and its first bytes.

    A first message carrying one descriptor (and one byte) passes that socket,
    and the unix connection is closed; one without is the client itself.
    Returns why the client is dropped instead, when it is.
    """
    conn.settimeout(timeout)
    try:
        data, fds, flags, _ = socket.recv_fds(
            conn, 64 * 1024, _MAX_FDS, socket.MSG_CMSG_CLOEXEC
        )
    except OSError as exc:
        return f"nothing arrived on the proxy socket ({exc})"
    if flags & socket.MSG_CTRUNC or len(fds) > 1 or (fds and len(data) != 1):
        for fd in fds:
            os.close(fd)
        return "the proxy socket was passed more than one socket"
    if not fds:
        return (conn, data) if data else "the client closed without a request"
    client = stream_socket(fds[0])
    if client is None:
        return "the descriptor passed is not a stream socket"
    sockets.add(client)
    sockets.discard(conn)
    return client, b""


def stream_socket(fd: int) -> socket.socket | None:
    """The passed descriptor as a socket, if it is a connected stream socket."""
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        sock = socket.socket(fileno=fd)
    except OSError:
        os.close(fd)
        return None
    if (
        sock.type != socket.SOCK_STREAM
        or sock.family not in _CLIENT_FAMILIES
        or sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    ):
        sock.close()
        return None
    return sock


def reply(client: socket.socket, data: bytes, *, linger: bool = True) -> None:
    """Send corral's own reply and end the client's input side.

    Closing a socket with input unread sends a reset, which can destroy the
    reply before the client reads it: what the client still sends is read
    and dropped, for a second at most, or only what is there without `linger`.
    """
    deadline = time.monotonic() + _LINGER
    try:
        client.settimeout(_LINGER)
        client.sendall(data)
        client.shutdown(socket.SHUT_WR)
        drained = 0
        while drained < _LINGER_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            client.settimeout(remaining if linger else 0)
            chunk = client.recv(64 * 1024)
            if not chunk:
                break
            drained += len(chunk)
    except OSError:
        pass  # the client is gone: nothing more to tell it
