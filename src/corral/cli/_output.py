"""corral's own output: standard descriptors made safe, messages and results written.

A closed descriptor 0, 1 or 2 is opened on /dev/null before anything else, so
no file corral opens later takes its number (and reaches a command as one of
its streams).  A stream that fails while corral writes to it loses that text,
never the run's status or its record.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import TextIO

__all__ = ["claim_standard_fds", "say", "write_result"]

_STANDARD = (
    (0, "stdin", os.O_RDONLY),
    (1, "stdout", os.O_WRONLY),
    (2, "stderr", os.O_WRONLY),
)


def claim_standard_fds() -> None:
    """Open /dev/null on each closed standard descriptor, and a Python stream on it."""
    for fd, name, flags in _STANDARD:
        try:
            os.fstat(fd)
        except OSError as exc:
            if exc.errno != errno.EBADF:
                raise
            null = os.open(os.devnull, flags)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if getattr(sys, name) is None:
            mode = "r" if fd == 0 else "w"
            setattr(sys, name, open(fd, mode, closefd=False))  # noqa: SIM115


def say(message: str) -> None:
    """Write one of corral's own messages (``corral: ...``) to stderr, as one line."""
    _write(sys.stderr, f"corral: {_escaped(message)}\n")


def _escaped(text: str) -> str:
    """Return `text` with control characters spelled out (a newline as ``\\n``).

    Messages carry paths and argv chosen by the command; a newline or terminal
    escape there must not start a line that looks like corral's own.
    """
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def write_result(text: str, *, fresh_line: bool = False) -> None:
    """Write `text` as one line to stdout, first ending an unfinished line."""
    if not _write(sys.stdout, ("\n" if fresh_line else "") + text + "\n"):
        say("could not write the result to stdout")


def _write(stream: TextIO | None, text: str) -> bool:
    """Write and flush `text`; a stream that fails is pointed at /dev/null."""
    if stream is None:
        return False
    try:
        stream.write(text)
        stream.flush()
    except OSError:
        # Python flushes its streams again at exit; let that flush land nowhere.
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, stream.fileno())
            os.close(null)
        return False
    return True
