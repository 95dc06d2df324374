"""Handing a command to a sandbox that was started before the command was known.

A prestarted sandbox's enforcer waits on one end of a unix socket pair for one
message: the command line, NUL-separated, with the command's stdin, stdout and
stderr attached as descriptors.  corral holds the other end; closing it
without sending tells the sandbox it is not wanted, and nothing runs.  Both
sides are here so that they cannot disagree on the format.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

from corral.errors import SandboxSetupError

__all__ = ["MAX_MESSAGE", "channel", "fits", "hand_over", "receive"]

MAX_MESSAGE = 1 << 16
"""Bytes of command line one message carries; a longer command is launched the
ordinary way, on bubblewrap's command line, which holds up to the kernel's limit."""

_STREAMS = 3


def _message(argv: Sequence[str]) -> bytes:
    return b"\0".join(os.fsencode(arg) for arg in argv)


def fits(argv: Sequence[str]) -> bool:
    """Whether `argv` can be handed over in one message."""
    return bool(argv) and len(_message(argv)) <= MAX_MESSAGE


def channel() -> tuple[socket.socket, socket.socket]:
    """Return (corral's end, the sandbox's end): both close on exec."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


def hand_over(ours: socket.socket, argv: Sequence[str], streams: Sequence[int]) -> None:
    """Send `argv` with `streams` (stdin, stdout, stderr) to the waiting sandbox.

    Raises OSError when the sandbox's end is gone (it failed, or ended).
    """
    if len(streams) != _STREAMS or not fits(argv):
        raise ValueError("a command line that fits and three streams are needed")
    sent = socket.send_fds(ours, [_message(argv)], list(streams))
    if sent != len(_message(argv)):
        raise OSError("the command line was not sent whole")


def receive(fd: int) -> tuple[list[str], tuple[int, int, int]]:
    """Wait on the socket `fd` for the command; close it; return argv and streams.

    Raises SandboxSetupError when the other end closed without a command, or
    sent anything but one command line and three descriptors.
    """
    with socket.socket(fileno=fd) as theirs:
        try:
            data, fds, flags, _ = socket.recv_fds(
                theirs, MAX_MESSAGE + 1, _STREAMS, socket.MSG_CMSG_CLOEXEC
            )
        except OSError as exc:
            raise SandboxSetupError(f"no command came: {exc.strerror}") from exc
    truncated = flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC)
    argv = [os.fsdecode(arg) for arg in data.split(b"\0")] if data else []
    if truncated or len(fds) != _STREAMS or not argv or not argv[0]:
        for received in fds:
            os.close(received)
        if not data and not fds:
            raise SandboxSetupError("no command came: the sandbox is not wanted")
        raise SandboxSetupError(
            "the command handed over is malformed; this is a bug in corral"
        )
    return argv, (fds[0], fds[1], fds[2])
