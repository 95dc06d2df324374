"""Terminating signals turned into an exception, so a run unwinds as for Ctrl-C.

SIGTERM and SIGHUP would otherwise end corral at once: the sandbox's record
left open, its placeholders left in the workspace.  Raised instead, they pass
through `Sandbox.run`, which records the error and ends the sandbox.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

__all__ = ["Terminated", "terminate_by_exception"]

_TERMINATING = (signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):
    """corral received a terminating signal; unwinds like KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"corral received {signal.Signals(signum).name}")
        self.signum = signum


def _raise(signum: int, _frame: FrameType | None) -> None:
    # Once is enough: a second signal must not cut the clean-up short.
    for other in _TERMINATING:
        signal.signal(other, signal.SIG_IGN)
    raise Terminated(signum)


@contextlib.contextmanager
def terminate_by_exception() -> Iterator[None]:
    """Raise `Terminated` on SIGTERM or SIGHUP for the duration.

    A signal the caller already ignores (nohup) stays ignored.
    """
    previous = {signum: signal.getsignal(signum) for signum in _TERMINATING}
    try:
        for signum, handler in previous.items():
            if handler is not signal.SIG_IGN:
                signal.signal(signum, _raise)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
