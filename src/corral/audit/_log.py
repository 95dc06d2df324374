"""The event log on disk: hash-chained records, appended under a lock, rotated by size.

`EventLog.append` gives each record its place in the chain (``seq``, ``prev``)
under an exclusive lock on ``events.lock`` and then updates ``events.head``,
the witness of the last record: a log cut short afterwards shows the gap
instead of starting the chain again.  corral never deletes a rotated file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TypeGuard

from corral._digest import sha256_hex
from corral._files import PRIVATE_FILE_MODE, open_regular
from corral._logger import get_logger
from corral._record import Record
from corral.audit._schema import SCHEMA_VERSION
from corral.policy._defaults import DEFAULT_AUDIT_ROTATE_BYTES

__all__ = [
    "DEFAULT_ROTATE_BYTES",
    "GENESIS",
    "RECORD_VERSION",
    "WITNESS_REBUILT",
    "Appended",
    "EventLog",
    "Head",
    "Witness",
    "chain_of",
    "digest_of",
    "events_path",
    "log_files",
]

logger = get_logger(__name__)

GENESIS = "0" * 64
"""The ``prev`` of the first record ever: no record comes before it."""

RECORD_VERSION = SCHEMA_VERSION
"""The schema version every record carries as ``v``."""

DEFAULT_ROTATE_BYTES = DEFAULT_AUDIT_ROTATE_BYTES
"""Size past which the current file is rotated: a file any tool opens at once."""

WITNESS_REBUILT = "witness_rebuilt"
"""The field of the first record after the witness was rebuilt: why it was."""

CURRENT = "events.jsonl"
HEAD = "events.head"
LOCK = "events.lock"
# As text: `re` compiles it on first use, and keeps it.
_ROTATED = r"events\.([0-9]{12,})\.jsonl"
_HEX64 = re.compile(r"[0-9a-f]{64}")
# The witness is rewritten in place at a fixed width: one pwrite, never a
# moment when the file is empty or half old, half new.
_WITNESS_BYTES = 256
# Bytes read at a time from a file's end looking for its last record: a few records.
_TAIL_CHUNK = 16 << 10
_PRIVATE = PRIVATE_FILE_MODE
# Each opened with open_regular: a link, FIFO or directory there is refused.
_READ = os.O_RDONLY
_APPEND = os.O_RDWR | os.O_APPEND | os.O_CREAT
_WRITE = os.O_RDWR | os.O_CREAT


class Appended(Record):
    """Where a record went: its place in the chain, its digest, the file."""

    __slots__ = ("seq", "digest", "path")  # noqa: RUF023 (as their repr shows them)
    seq: int
    digest: str
    path: Path

    def __init__(self, seq: int, digest: str, path: Path) -> None:
        self._init(seq=seq, digest=digest, path=path)


class Head(Record):
    """The place in the chain of the last record appended."""

    __slots__ = ("seq", "digest")  # noqa: RUF023 (as their repr shows them)
    seq: int
    digest: str

    def __init__(self, seq: int, digest: str) -> None:
        self._init(seq=seq, digest=digest)


class Witness(Record):
    """What ``events.head`` says: the last record, and the current file after it."""

    __slots__ = ("seq", "digest", "size", "inode")  # noqa: RUF023 (as their repr shows them)
    seq: int
    digest: str
    size: int
    inode: int

    def __init__(self, seq: int, digest: str, size: int, inode: int) -> None:
        self._init(seq=seq, digest=digest, size=size, inode=inode)


def events_path(state: Path) -> Path:
    """Return the path of the log's current file inside the state directory."""
    return state / CURRENT


def digest_of(raw: bytes) -> str:
    """The digest of a record: sha256 (hex) of its line, without the newline."""
    return sha256_hex(raw)


def chain_of(record: Mapping[str, object] | None) -> tuple[int, str] | None:
    """A chained record's ``(seq, prev)``; None for anything else."""
    if record is None:
        return None
    seq, prev = record.get("seq"), record.get("prev")
    if not _is_count(seq) or seq < 1 or not isinstance(prev, str):
        return None
    return (seq, prev) if _HEX64.fullmatch(prev) else None


def parse_line(raw: bytes) -> dict[str, object] | None:
    """The JSON object a line holds; None for anything else, however malformed."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def rotated_seq(path: Path) -> int | None:
    """The first seq a rotated file's name gives; None for any other name."""
    match = re.fullmatch(_ROTATED, path.name)
    return None if match is None else int(match.group(1))


def log_files(state: Path) -> list[Path]:
    """The log's files, oldest first: rotated files by first seq, then the current."""
    try:
        names = [path.name for path in state.iterdir()]
    except FileNotFoundError:
        return []
    rotated = sorted(
        (seq, name) for name in names if (seq := rotated_seq(Path(name))) is not None
    )
    files = [state / name for _, name in rotated]
    if CURRENT in names:
        files.append(state / CURRENT)
    return files


def read_witness(fd: int) -> Witness | None:
    """Parse the witness open at `fd`; None when it is empty or not one."""
    try:
        value = json.loads(os.pread(fd, _WITNESS_BYTES, 0))
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    seq, digest = value.get("seq"), value.get("digest")
    size, inode = value.get("size"), value.get("inode")
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        return None
    if not (_is_count(seq) and _is_count(size) and _is_count(inode)):
        return None
    return Witness(seq, digest, size, inode)


def _is_count(value: object) -> TypeGuard[int]:
    return type(value) is int and value >= 0


def last_record(fd: int, end: int) -> Head | None:
    """The last chained record in the first `end` bytes at `fd`, read backwards."""
    carry = b""
    while end > 0:
        start = max(0, end - _TAIL_CHUNK)
        lines = (os.pread(fd, end - start, start) + carry).split(b"\n")
        # The first piece may be the end of a longer line: it waits for the rest.
        carry = lines.pop(0) if start else b""
        for raw in reversed(lines):
            if (found := chain_of(parse_line(raw))) is not None:
                return Head(found[0], digest_of(raw))
        end = start
    return None


def first_seq(fd: int) -> int | None:
    """The seq of the first chained record in the file at `fd`."""
    offset, pending = 0, b""
    while chunk := os.pread(fd, _TAIL_CHUNK, offset):
        offset += len(chunk)
        *lines, pending = (pending + chunk).split(b"\n")
        for raw in lines:
            if (found := chain_of(parse_line(raw))) is not None:
                return found[0]
    found = chain_of(parse_line(pending))
    return None if found is None else found[0]


def tail(
    state: Path,
    witness: Witness | None,
    fd: int | None,
    info: os.stat_result | None = None,
) -> Head | None:
    """The last record appended, from the witness or, when stale, from the log.

    A crash between writing a record and its witness leaves the log ahead of
    the witness: the log's own last record wins.  A log cut short or replaced
    leaves it behind: the witness wins, so the gap shows instead of a new chain.
    """
    if info is None and fd is not None:
        info = os.fstat(fd)
    if (
        witness is not None
        and info is not None
        and (witness.inode, witness.size) == (info.st_ino, info.st_size)
    ):
        return Head(witness.seq, witness.digest)
    found = None
    if fd is not None and info is not None:
        found = last_record(fd, info.st_size)
    if found is None:
        found = _last_rotated_record(state)
    if witness is None:
        return found
    if found is None or found.seq <= witness.seq:
        return Head(witness.seq, witness.digest)
    return found


def _last_rotated_record(state: Path) -> Head | None:
    for path in reversed(log_files(state)):
        if path.name == CURRENT:
            continue
        fd = open_regular(path, _READ)
        try:
            found = last_record(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)
        if found is not None:
            return found
    return None


class EventLog:
    """The hash-chained event log in a state directory."""

    def __init__(
        self, state: Path, *, rotate_bytes: int = DEFAULT_ROTATE_BYTES
    ) -> None:
        self.state = state
        self.rotate_bytes = rotate_bytes
        self.current = state / CURRENT
        # Plain strings for the calls made on every append: pathlib costs more
        # than the system calls themselves.
        directory = os.fspath(state)
        self._current = f"{directory}/{CURRENT}"
        self._lock = f"{directory}/{LOCK}"
        self._head = f"{directory}/{HEAD}"

    def files(self) -> list[Path]:
        """The log's files, oldest first, the current one last (if it exists)."""
        return log_files(self.state)

    def append(self, record: Mapping[str, object]) -> Appended:
        """Append `record` as the next link of the chain; return its place.

        ``v``, ``seq`` and ``prev`` are the log's: any the record has are
        replaced.  Raises `OSError` when the record cannot be written whole;
        nothing of it is left behind then.  Raises `StateFileError` when
        something other than a regular file stands at a log file's name.
        """
        lock = open_regular(self._lock, _WRITE, _PRIVATE)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            # Created here only when missing: under the lock nobody else does.
            missing = not os.path.lexists(self._head)
            witness = open_regular(self._head, _WRITE, _PRIVATE)
            try:
                return self._append_locked(record, witness, missing=missing)
            finally:
                os.close(witness)
        finally:
            os.close(lock)

    def _append_locked(
        self, record: Mapping[str, object], witness: int, *, missing: bool
    ) -> Appended:
        fd = open_regular(self._current, _APPEND, _PRIVATE)
        try:
            info = os.fstat(fd)
            seen = read_witness(witness)
            last = tail(self.state, seen, fd, info)
            seq, prev = (1, GENESIS) if last is None else (last.seq + 1, last.digest)
            fields = {**record, "v": RECORD_VERSION, "seq": seq, "prev": prev}
            rebuilt = None if seen is not None else _why_rebuilt(witness, last, missing)
            if rebuilt is not None:
                logger.warning(
                    "%s was %s though the log holds records up to %d: rebuilt from "
                    "the log; records cut from its end would not show (corral log "
                    "verify reports it)",
                    self._head,
                    rebuilt,
                    seq - 1,
                )
                fields[WITNESS_REBUILT] = rebuilt
            line = json.dumps(
                fields,
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=True,
            ).encode()
            end, inode = info.st_size, info.st_ino
            data = line + b"\n"
            if end and end + len(data) + 1 > self.rotate_bytes:
                fd = self._rotate(fd)
                end, inode = 0, os.fstat(fd).st_ino
            if end and os.pread(fd, 1, end - 1) != b"\n":
                # A record cut short (a crash, a full disk) stays a line of its
                # own rather than swallowing the start of this one.
                data = b"\n" + data
            digest = digest_of(line)
            after = Witness(seq, digest, end + len(data), inode)
            self._write_all(fd, data, end, witness, after)
            return Appended(seq, digest, self.current)
        finally:
            os.close(fd)

    def _rotate(self, fd: int) -> int:
        """Rename the current file after its first record; return the new one's fd."""
        target = self.state / f"events.{first_seq(fd) or 0:012d}.jsonl"
        if os.path.lexists(target):
            raise FileExistsError(
                f"cannot rotate {self.current}: {target} already exists and corral "
                "never replaces a rotated file; move it out of the state directory"
            )
        self.current.rename(target)
        # O_EXCL: under the lock nobody else creates it; anything there was planted.
        fresh = open_regular(self._current, _APPEND | os.O_EXCL, _PRIVATE)
        os.close(fd)
        return fresh

    def _write_all(
        self, fd: int, data: bytes, end: int, witness: int, after: Witness
    ) -> None:
        """Write `data` at the end and witness it; on failure take it all back."""
        try:
            _write_whole(fd, data, self.current)
            _write_witness(witness, after)
        except OSError:
            # Under the lock nobody else appended: take back the part written.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, end)
            raise


def _why_rebuilt(fd: int, last: Head | None, missing: bool) -> str | None:
    """Why a witness that says nothing is rebuilt for a log with records; None if not.

    corral creates the witness empty just before the first record: a crash
    then leaves it empty beside record 1, and that is no rebuild.
    """
    if last is None:
        return None
    if missing:
        return "missing"
    if os.fstat(fd).st_size == 0:
        return None if last.seq == 1 else "empty"
    return "unreadable"


def _write_witness(fd: int, witness: Witness) -> None:
    text = json.dumps(
        {
            "seq": witness.seq,
            "digest": witness.digest,
            "size": witness.size,
            "inode": witness.inode,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    _write_whole(fd, text.ljust(_WITNESS_BYTES - 1).encode() + b"\n", Path(HEAD), at=0)
    if os.fstat(fd).st_size > _WITNESS_BYTES:
        # Whatever was there beyond the width; a witness it spoils is only stale.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, _WITNESS_BYTES)


def _write_whole(fd: int, data: bytes, path: Path, *, at: int | None = None) -> None:
    """Write `data` in one call (at the end, or at offset `at`) or raise `OSError`."""
    written = os.write(fd, data) if at is None else os.pwrite(fd, data, at)
    if written != len(data):
        raise OSError(f"short write to {path}: {written} of {len(data)} bytes")
