"""The caller's terminal as it was before a run, put back after it.

A command given the terminal may leave it raw, without echo, resized, or with
its own process group in the foreground (so the caller's shell gets no input).
Each of descriptors 0-2 that is a terminal is saved before and restored after.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import termios
from collections.abc import Iterator
from typing import Any

from corral._record import Record

__all__ = ["terminal_kept"]

_STANDARD_FDS = (0, 1, 2)
# struct winsize: rows, columns, and two pixel sizes, unsigned short each.
_WINSIZE_BYTES = 8


class _Saved(Record):
    __slots__ = ("attributes", "fd", "foreground", "window_size")
    fd: int
    attributes: list[Any]  # as termios.tcgetattr gives it
    window_size: bytes
    foreground: int | None

    def __init__(
        self, fd: int, attributes: list[Any], window_size: bytes, foreground: int | None
    ) -> None:
        self._init(
            fd=fd, attributes=attributes, window_size=window_size, foreground=foreground
        )


def _save(fd: int) -> _Saved | None:
    try:
        attributes = termios.tcgetattr(fd)
        window_size = fcntl.ioctl(fd, termios.TIOCGWINSZ, bytes(_WINSIZE_BYTES))
    except OSError:  # termios.error is an OSError
        return None
    try:
        foreground: int | None = os.tcgetpgrp(fd)
    except OSError:
        foreground = None  # not corral's controlling terminal
    return _Saved(fd, attributes, window_size, foreground)


def _restore(saved: _Saved) -> None:
    # Each step alone: a terminal gone (hung up) fails them all, harmlessly.
    if saved.foreground is not None:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(saved.fd, saved.foreground)
    with contextlib.suppress(OSError):
        termios.tcsetattr(saved.fd, termios.TCSANOW, saved.attributes)
    with contextlib.suppress(OSError):
        fcntl.ioctl(saved.fd, termios.TIOCSWINSZ, saved.window_size)


@contextlib.contextmanager
def terminal_kept() -> Iterator[None]:
    """Save each terminal among descriptors 0-2, and restore it when done.

    While restoring, SIGTTOU is blocked: corral may by then be in the
    background of its own terminal, where changing it would stop corral.
    """
    saved: list[_Saved] = []
    seen: set[int] = set()
    for fd in _STANDARD_FDS:
        with contextlib.suppress(OSError):
            if not os.isatty(fd) or os.fstat(fd).st_rdev in seen:
                continue
            seen.add(os.fstat(fd).st_rdev)
            state = _save(fd)
            if state is not None:
                saved.append(state)
    try:
        yield
    finally:
        if saved:
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
            try:
                for state in saved:
                    _restore(state)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
