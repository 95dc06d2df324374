"""Deliver carried output to a caller's descriptor without ever blocking corral.

The launcher's one loop also watches the time limit, so a write that waits for
a slow reader would stall the deadline.  An `Outlet` writes only what its
destination takes now and keeps the rest; the loop waits for room with select.
The caller's own descriptor is never made non-blocking: others may share it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import stat

from corral._logger import get_logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket

__all__ = ["Outlet"]

logger = get_logger(__name__)

# At most this much goes out in one write.
_WRITE_CHUNK = 1 << 16
# Once poll says a pipe has room, a write of at most PIPE_BUF bytes completes
# at once; used when the pipe cannot be opened afresh as non-blocking.
_PIPE_BUF = select.PIPE_BUF


class Outlet:
    """Pending output for one destination descriptor, written as room appears."""

    def __init__(self, target: int) -> None:
        self.pending = bytearray()
        self.last_byte: int | None = None
        """The last byte delivered, if any was."""
        self.gone = False
        """Whether the destination's reader has gone (EPIPE): nothing more arrives."""
        self._socket: socket.socket | None = None
        self._send_flags = 0
        self._chunk = _WRITE_CHUNK
        self.fd = self._private_fd(target)

    def _private_fd(self, target: int) -> int:
        """Return a descriptor of our own on `target`'s file, non-blocking if we can.

        A pipe is opened afresh through /proc (a new open file description, so
        O_NONBLOCK stays ours); a socket is sent to with MSG_DONTWAIT; files and
        devices other than terminals do not wait for a reader.
        """
        mode = os.fstat(target).st_mode
        if stat.S_ISFIFO(mode):
            flags = os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC
            try:
                return os.open(f"/proc/self/fd/{target}", flags)
            except OSError as exc:
                logger.debug("cannot reopen pipe %d non-blocking: %s", target, exc)
                self._chunk = _PIPE_BUF
        fd = os.dup(target)
        if stat.S_ISSOCK(mode):
            import socket  # noqa: PLC0415 (only output to a socket needs it)

            self._socket = socket.socket(fileno=fd)
            self._send_flags = socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL
        return fd

    def add(self, chunk: bytes) -> None:
        self.pending += chunk

    def write_some(self) -> None:
        """Write what the destination takes now; keep the rest pending.

        A destination that is gone (EPIPE) or failing drops what is pending:
        the command's output has nowhere left to go.  A gone one is marked so.
        """
        while self.pending:
            chunk = bytes(self.pending[: self._chunk])
            try:
                if self._socket is not None:
                    written = self._socket.send(chunk, self._send_flags)
                else:
                    written = os.write(self.fd, chunk)
            except BlockingIOError:
                return
            except OSError as exc:
                self.gone = exc.errno == errno.EPIPE
                if not self.gone:
                    logger.warning("cannot forward the command's output: %s", exc)
                self.drop()
                return
            if written:
                self.last_byte = chunk[written - 1]
            del self.pending[:written]

    def drop(self) -> int:
        """Forget what is pending; return how many bytes that was."""
        dropped = len(self.pending)
        self.pending.clear()
        return dropped

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
        else:
            with contextlib.suppress(OSError):
                os.close(self.fd)
