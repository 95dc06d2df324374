"""The file descriptors of one run: which pass straight through, which corral carries.

A terminal passes straight through, so TTY programs keep working.  Otherwise
corral carries stderr through a pipe, forwarding every byte at once, so that
it can explain afterwards what the sandbox refused.  bubblewrap's own errors
always come to corral on a separate pipe; the enforcer puts the command's
stderr back on descriptor 2 just before exec.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import IO

from corral.sandbox._launch import Carried

__all__ = ["Stream", "Streams", "open_streams"]

Stream = int | IO[bytes] | IO[str] | None


@dataclass
class Streams:
    """The descriptors of one run, as the launcher needs them."""

    stdin: int
    stdout: int
    command_stderr_fd: int
    """Passed by number; the enforcer moves it onto descriptor 2."""
    launcher_stderr: int
    launcher_errors_r: int
    carried: dict[int, Carried] = field(default_factory=dict)
    out: Carried | None = None
    err: Carried | None = None
    close_after_spawn: list[int] = field(default_factory=list)
    """Descriptors the child inherits and the parent closes once it has."""


def _fileno(stream: Stream, default: int) -> int:
    if stream is None:
        return default
    if isinstance(stream, int):
        return stream
    stream.flush()
    return stream.fileno()


def open_streams(
    stdin: Stream, stdout: Stream, stderr: Stream, capture: bool
) -> Streams:
    """Create the pipes for one run around the caller's streams."""
    errors_r, errors_w = os.pipe()
    streams = Streams(
        stdin=_fileno(stdin, 0),
        stdout=_fileno(stdout, 1),
        command_stderr_fd=-1,
        launcher_stderr=errors_w,
        launcher_errors_r=errors_r,
        close_after_spawn=[errors_w],
    )
    if capture:
        out_r, out_w = os.pipe()
        streams.out = streams.carried[out_r] = Carried(forward_fd=None, keep_all=True)
        streams.stdout = out_w
        streams.close_after_spawn.append(out_w)

    target = _fileno(stderr, 2)
    if not capture and os.isatty(target):
        streams.command_stderr_fd = os.dup(target)
    else:
        err_r, err_w = os.pipe()
        forward = None if capture else target
        streams.err = streams.carried[err_r] = Carried(
            forward_fd=forward, keep_all=capture
        )
        streams.command_stderr_fd = err_w
    streams.close_after_spawn.append(streams.command_stderr_fd)
    return streams
