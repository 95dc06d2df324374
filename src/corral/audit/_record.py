"""The one writer of event records: one JSON object per line, appended atomically.

Concurrent corral processes append to the same file; an exclusive lock around
a single ``write`` keeps every record whole and in one piece.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path

from corral._home import user_name
from corral.errors import CorralError

__all__ = ["EVENT_SCHEMA_VERSION", "append_event", "events_path", "record_event"]

EVENT_SCHEMA_VERSION = 1


def events_path(state: Path) -> Path:
    """Return the event log's path inside corral's state directory."""
    return state / "events.jsonl"


def append_event(path: Path, record: Mapping[str, object]) -> None:
    """Append one event record to the log at `path`.

    Raises `OSError` when the log cannot be written; callers decide whether a
    lost record is fatal (it is, for a command that is about to run).
    """
    line = json.dumps(
        {"v": EVENT_SCHEMA_VERSION, **record}, sort_keys=True, separators=(",", ":")
    )
    data = (line + "\n").encode()
    # O_NOFOLLOW: a link planted in place of the log must not redirect records
    # into a file someone else reads (or runs).
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    fd = os.open(path, flags, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        end = os.fstat(fd).st_size
        if end and os.pread(fd, 1, end - 1) != b"\n":
            # A record cut short (a crash, a full disk) stays a line of its
            # own rather than swallowing the start of this one.
            data = b"\n" + data
        try:
            _write_all(fd, data, path)
        except OSError:
            # Under the lock nobody else appended: take back the part written.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, end)
            raise
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes, path: Path) -> None:
    written = os.write(fd, data)
    if written != len(data):
        raise OSError(f"short write to {path}: {written} of {len(data)} bytes")


def record_event(state: Path, event: str, fields: Mapping[str, object]) -> None:
    """Append the event `event` with `fields` and who, where and when it happened.

    Raises `CorralError` when the record cannot be written: corral does not
    act on a decision it cannot record.
    """
    # Who, where and when come last: no field of the caller's can replace them.
    record = {
        **fields,
        "event": event,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "user": user_name(),
        "uid": os.geteuid(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
    path = events_path(state)
    try:
        append_event(path, record)
    except OSError as exc:
        raise CorralError(
            f"cannot write the event record to {path}: {exc}; corral does not "
            "run commands it cannot record"
        ) from exc
