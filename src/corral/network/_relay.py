"""Bulk copying between a client and its destination, one thread per direction.

Bytes move socket to pipe to socket with splice(2), so they never enter Python;
where the kernel refuses splice the copy falls back to recv and send.  Each
direction counts what it delivered and half-closes its destination at the end.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import socket
import threading

__all__ = ["CHUNK", "Sockets", "Tally", "pump", "relay"]

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
"""Bytes asked of one splice or recv: large enough that a bulk transfer makes few
system calls, small enough that a thousand connections hold little memory."""
_PIPE_SIZE = 1 << 20
# Errors that mean "this pair of files cannot be spliced", not "the copy failed".
_NO_SPLICE = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP})


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
    if not _splice(src.fileno(), dst, tally):
        _copy(src, dst, tally)


def _splice(src: int, dst: socket.socket, tally: Tally) -> bool:
    """Splice until end of input; False when splice cannot serve this pair."""
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    try:
        with contextlib.suppress(OSError):  # a user past its pipe quota keeps 64 KiB
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        while True:
            try:
                size = os.splice(src, write_end, CHUNK, flags=os.SPLICE_F_MOVE)
            except OSError as exc:
                if exc.errno in _NO_SPLICE and tally.count == 0:
                    return False
                raise
            if size == 0:
                return True
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


def _copy(src: socket.socket, dst: socket.socket, tally: Tally) -> None:
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    while True:
        size = src.recv_into(buffer)
        if size == 0:
            return
        dst.sendall(view[:size])
        tally.count += size


def _shutdown(sock: socket.socket, how: int) -> None:
    with contextlib.suppress(OSError):  # already shut, or the peer is gone
        sock.shutdown(how)
