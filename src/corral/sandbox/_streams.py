"""The file descriptors of one run: which pass straight through, which corral carries.

A terminal passes straight through, so TTY programs keep working.  Otherwise
corral carries stderr through a pipe, forwarding every byte at once, so that
it can explain afterwards what the sandbox refused (and stdout, when asked, to
know how it ended).  bubblewrap's own errors always come to corral on a
separate pipe; the enforcer puts the command's stderr back on descriptor 2
just before exec.  A default stream whose descriptor is closed is /dev/null:
the number may otherwise belong to one of corral's own files by then.

stdout and stderr going to the same pipe, socket or file (``2>&1``) share one
path, so they keep the order the command wrote them in: to a pipe or socket
(or when stdout is carried anyway) both are carried through one pipe; to a
file, where the command may expect a file, stderr passes straight through with
stdout, which leaves no refusal hints for that run.

What the command writes is counted on every stream corral carries or captures;
on a stream passed straight through corral sees nothing (a file's growth is not
what was written to it: written over, or after a seek), so it counts nothing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from corral.sandbox._launch import Carried

__all__ = ["Stream", "Streams", "hold_standard_fds", "open_streams"]

_STANDARD_FDS = (0, 1, 2)

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
    """Captured stdout."""
    err: Carried | None = None
    passed_out: Carried | None = None
    """Stdout carried to the caller's, to know how it ended."""
    close_after_spawn: list[int] = field(default_factory=list)
    """Descriptors the child inherits and the parent closes once it has."""
    merged: bool = False
    """Whether stderr goes out the same way as stdout (``2>&1``)."""

    def stdout_bytes(self) -> int | None:
        """Return how many bytes the command wrote to stdout; None if unseen."""
        carried = self.out if self.out is not None else self.passed_out
        return None if carried is None else carried.size

    def stderr_bytes(self) -> int | None:
        """Return how many bytes the command wrote to stderr; None if unseen.

        Merged with stdout, they are counted there.  Only a terminal or stdout's
        own way out receives stderr straight, so it is otherwise carried.
        """
        if self.merged or self.err is None:
            return None
        return self.err.size


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError as exc:
        if exc.errno == errno.EBADF:
            return False
        raise
    return True


@contextlib.contextmanager
def hold_standard_fds() -> Iterator[None]:
    """Keep /dev/null on each of descriptors 0-2 that is closed, for the duration.

    Whatever corral opens meanwhile (locks, pipes, the event log) then takes
    another number, and never reaches the command as one of its streams.
    """
    held: list[int] = []
    try:
        for fd in _STANDARD_FDS:
            if not _is_open(fd):
                null = os.open(os.devnull, os.O_RDWR)
                if null != fd:
                    os.dup2(null, fd, inheritable=False)
                    os.close(null)
                held.append(fd)
        yield
    finally:
        for fd in held:
            os.close(fd)


def _same_place(first: int, second: int) -> bool:
    """Whether `first` and `second` lead to one pipe, socket or file.

    Only there does the order of writes through two paths show; /dev/null and
    other devices do not keep it.
    """
    one, other = os.fstat(first), os.fstat(second)
    ordered = stat.S_ISFIFO(one.st_mode) or stat.S_ISSOCK(one.st_mode)
    ordered = ordered or stat.S_ISREG(one.st_mode)
    return ordered and (one.st_dev, one.st_ino) == (other.st_dev, other.st_ino)


def _fileno(stream: Stream, default: int, opened: list[int]) -> int:
    if stream is None:
        if _is_open(default):
            return default
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        opened.append(null)
        return null
    if isinstance(stream, int):
        return stream
    stream.flush()
    return stream.fileno()


def open_streams(
    stdin: Stream,
    stdout: Stream,
    stderr: Stream,
    capture: bool,
    carry_stdout: bool = False,
) -> Streams:
    """Create the pipes for one run around the caller's streams."""
    opened: list[int] = []
    stdin_fd = _fileno(stdin, 0, opened)
    stdout_fd = _fileno(stdout, 1, opened)
    target = _fileno(stderr, 2, opened)
    errors_r, errors_w = os.pipe()
    streams = Streams(
        stdin=stdin_fd,
        stdout=stdout_fd,
        command_stderr_fd=-1,
        launcher_stderr=errors_w,
        launcher_errors_r=errors_r,
        close_after_spawn=[errors_w, *opened],
    )
    together = not capture and _same_place(stdout_fd, target)
    if together and not stat.S_ISREG(os.fstat(stdout_fd).st_mode):
        carry_stdout = True
    if capture or (carry_stdout and not os.isatty(stdout_fd)):
        out_r, out_w = os.pipe()
        carried = Carried(forward_fd=None if capture else stdout_fd, keep_all=capture)
        streams.carried[out_r] = carried
        if capture:
            streams.out = carried
        else:
            streams.passed_out = carried
        streams.stdout = out_w
        streams.close_after_spawn.append(out_w)
    streams.merged = together

    if together and streams.passed_out is not None:
        # One pipe for both: the refusal scan reads stderr within stdout.
        streams.err = streams.passed_out
        streams.command_stderr_fd = os.dup(streams.stdout)
    elif together or (not capture and os.isatty(target)):
        # Straight through: nothing of stderr reaches the refusal scan.
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
