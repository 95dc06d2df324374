"""The exporter's cursor: how far each collector has accepted the local log.

One JSON file, ``export.cursor`` in the state directory, holds a position per
endpoint (its URL without credentials), so a new collector gets the whole log
and an old one resumes where it stopped.  It is replaced whole (temporary
file, then rename), never edited.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from corral._files import StateFileError, open_regular

__all__ = [
    "CURSOR_NAME",
    "Failing",
    "Position",
    "read_position",
    "without_credentials",
    "write_position",
]

CURSOR_NAME = "export.cursor"
_CURSOR_VERSION = 1
# The chain's start: what the digest of "no record yet" is.
_NOTHING = "0" * 64
# The cursor names the collector and the records it has; owner-only like the log.
_MODE = 0o600
# A cursor is a few hundred bytes per endpoint; anything far larger is not ours.
_MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class Failing:
    """A streak of failed exports to one endpoint, recorded once as export.failed."""

    since: str
    """When the first failure of the streak happened (RFC 3339, UTC)."""
    error: str
    """Why the last attempt failed."""
    attempts: int
    """How many exports have failed in a row."""
    last: float
    """When the last attempt ended (seconds since the epoch)."""


@dataclass(frozen=True)
class Position:
    """How far one endpoint has the log: records and metrics up to a seq."""

    seq: int = 0
    """The last record the collector accepted (0: none yet)."""
    digest: str = _NOTHING
    """That record's digest: a log replaced since then no longer matches it."""
    metrics_seq: int = 0
    """The last record whose figures the collector accepted (at most `seq`)."""
    failing: Failing | None = field(default=None)
    """The current streak of failures, or None while exports succeed."""

    def shipped(self, seq: int, digest: str) -> Position:
        """Return this position moved past a batch the collector accepted."""
        return replace(self, seq=seq, digest=digest)


def read_position(state: Path, endpoint: str) -> Position:
    """Return where `endpoint` stands; the start if the cursor is absent or unreadable.

    An unreadable cursor costs a resend (the collector sees duplicates, which
    carry the same ``corral.digest``), never a lost record.  So is anything
    but a regular file planted there (a link, a FIFO): it is neither followed
    nor waited on, and the next write replaces it.
    """
    entry = _read_all(state).get(without_credentials(endpoint))
    if not isinstance(entry, dict):
        return Position()
    try:
        failing = entry.get("failing")
        return Position(
            seq=_count(entry["seq"]),
            digest=str(entry["digest"]),
            metrics_seq=min(_count(entry["metrics_seq"]), _count(entry["seq"])),
            failing=None if failing is None else _failing(failing),
        )
    except (KeyError, TypeError, ValueError):
        return Position()


def write_position(state: Path, endpoint: str, position: Position) -> None:
    """Replace `endpoint`'s position in the cursor file, atomically.

    Raises `OSError` when the file cannot be written.
    """
    endpoints = _read_all(state)
    endpoints[without_credentials(endpoint)] = asdict(position)
    data = json.dumps(
        {"v": _CURSOR_VERSION, "endpoints": endpoints}, sort_keys=True, indent=1
    ).encode()
    path = state / CURSOR_NAME
    temporary = state / f".{CURSOR_NAME}.{os.getpid()}"
    # O_EXCL: the temporary file is new and ours, never something planted.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = open_regular(temporary, flags, _MODE)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def without_credentials(endpoint: str) -> str:
    """Return `endpoint` without the user and password it may carry."""
    parts = urlsplit(endpoint)
    if parts.username is None and parts.password is None:
        return endpoint
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _read_all(state: Path) -> dict[str, object]:
    try:
        fd = open_regular(state / CURSOR_NAME, os.O_RDONLY)
    except (OSError, StateFileError):
        return {}
    try:
        data = os.read(fd, _MAX_BYTES + 1)
    except OSError:
        return {}
    finally:
        os.close(fd)
    try:
        document = json.loads(data) if len(data) <= _MAX_BYTES else None
    except (ValueError, RecursionError):
        return {}
    if not isinstance(document, dict) or document.get("v") != _CURSOR_VERSION:
        return {}
    endpoints = document.get("endpoints")
    return dict(endpoints) if isinstance(endpoints, dict) else {}


def _failing(value: object) -> Failing:
    if not isinstance(value, Mapping):
        raise TypeError("failing is not an object")
    return Failing(
        since=str(value["since"]),
        error=str(value["error"]),
        attempts=_count(value["attempts"]),
        last=float(value["last"]),
    )


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"not a count: {value!r}")
    return value


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
