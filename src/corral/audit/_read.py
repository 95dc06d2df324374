"""Reading the event log: every line of every file in order, as it stands or grows.

A reader takes the log's lock shared only while it opens the files and notes
where the current one ends, so it never sees a record half written and never
holds a writer up for longer than a few opens.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from corral._files import StateFileError, open_regular
from corral.audit._log import (
    CURRENT,
    GENESIS,
    HEAD,
    LOCK,
    Head,
    Witness,
    chain_of,
    digest_of,
    first_seq,
    last_record,
    log_files,
    parse_line,
    read_witness,
    rotated_seq,
    tail,
)

__all__ = [
    "GENESIS",
    "Entry",
    "Head",
    "digest_of",
    "entries",
    "follow",
    "head",
    "records_after",
]

DEFAULT_POLL = 0.25
"""Seconds `follow` sleeps whenever nothing new has arrived."""

# Bytes read at a time: large enough that a big log is read at disk speed.
_CHUNK = 1 << 20
# A line longer than this is not looked at when records_after halves a file.
_PEEK = 16 << 10
# Below this many bytes, records_after reads on rather than halving again.
_SEEK_SPAN = 64 << 10
# Opened with open_regular: a link is not read through, a FIFO not waited on.
_READ = os.O_RDONLY


@dataclass(frozen=True)
class Entry:
    """One line of the log: where it is, its bytes, and the record it holds.

    `raw` is the line without its newline.  `record` is None when the line
    is not a JSON object corral can read: a torn record, or not one at all.
    """

    path: Path
    line: int
    raw: bytes
    record: dict[str, object] | None


def head(state: Path) -> Head | None:
    """The (seq, digest) of the last record appended; None for an empty log.

    Cheap: the witness alone, unless it is stale.  Raises `OSError` when a
    log file cannot be read, `StateFileError` when a link, FIFO or anything
    but a regular file stands in place of one.
    """
    witness = _read_witness(state)
    current = _open(state / CURRENT)
    try:
        return tail(state, witness, current)
    finally:
        if current is not None:
            os.close(current)


def entries(state: Path) -> Iterator[Entry]:
    """Every line of every log file, oldest first, as the log stood when called.

    Raises `OSError` when a file cannot be read, `StateFileError` when
    anything but a regular file stands in place of one.
    """
    readers, _ = _open_files(state)
    yield from _read_all(readers)


@dataclass(frozen=True)
class Snapshot:
    """The log as it stood at one moment, for checking rather than reading.

    `witness_state` says what stood at ``events.head``: ``ok``, ``missing``,
    ``empty``, ``unreadable`` (not a witness) or ``refused`` (not a regular
    file).  `refused` holds each log file name where something other than a
    regular file stands, and `files` every file read, oldest first.
    """

    entries: Iterator[Entry]
    witness: Witness | None
    witness_state: str
    files: tuple[Path, ...]
    refused: tuple[StateFileError, ...]


def snapshot(state: Path) -> Snapshot:
    """Every entry as the log stood at one moment, its witness, and its files.

    Raises `OSError` when a file cannot be read, `StateFileError` when
    something other than a regular file stands at ``events.lock``.
    """
    refused: list[StateFileError] = []
    readers, witness = _open_files(state, refused)
    try:
        witness_state = _witness_state(state, witness)
    except StateFileError as exc:
        witness_state = "refused"
        refused.append(exc)
    return Snapshot(
        _read_all(readers),
        witness,
        witness_state,
        tuple(reader.path for reader in readers),
        tuple(refused),
    )


def _read_all(readers: list[_Reader]) -> Iterator[Entry]:
    try:
        for reader in readers:
            yield from reader.all()
    finally:
        _close(readers)


def follow(
    state: Path,
    *,
    poll: float = DEFAULT_POLL,
    stop: Callable[[], bool] | None = None,
) -> Iterator[Entry]:
    """Every entry, then each new one as it is appended, across rotation.

    Sleeps `poll` seconds whenever nothing new has arrived; returns when
    `stop` says so, after the entries so far.  Raises `OSError` as `entries`.
    """
    place = _Place()
    queue, reader = place.later(state)
    try:
        while True:
            while queue:
                rotated = queue.pop(0)
                yield from place.through(rotated.all())
                place.done(rotated)
            if reader is not None:
                yield from place.through(reader.lines())
                if not reader.is_current(state):
                    # Renamed away under the lock: nothing is written to it now.
                    yield from place.through(reader.all())
                    place.done(reader)
                    queue, reader = place.later(state)
                    continue
                reader.take_back()
            if stop is not None and stop():
                return
            time.sleep(poll)
            if reader is None:
                queue, reader = place.later(state)
    finally:
        _close([*queue, *([] if reader is None else [reader])])


def records_after(state: Path, seq: int) -> Iterator[Entry]:
    """The chained records with a seq above `seq`, in log order.

    Starts in the rotated file whose name says it holds ``seq + 1``, once
    its first record shows that it does (a file renamed or planted under such
    a name makes it start earlier), and skips within a file by halving, so a
    reader that is caught up reads little.  Records put out of order by
    tampering may be passed over (`verify_log` reports them).  Raises as
    `entries`.
    """
    readers, _ = _open_files(state)
    try:
        start = _start_index(readers, seq)
        passed = False
        for index, reader in enumerate(readers[start:], start):
            if not passed:
                if index < len(readers) - 1 and reader.ends_by(seq):
                    continue
                reader.skip_to(seq)
            for entry in reader.all():
                found = chain_of(entry.record)
                if found is not None and found[0] > seq:
                    passed = True
                    yield entry
    finally:
        _close(readers)


def _start_index(readers: list[_Reader], seq: int) -> int:
    """The last file that begins with a record at or before ``seq + 1``."""
    start = 0
    for index, reader in enumerate(readers):
        named = rotated_seq(reader.path)
        if named is not None and named <= seq + 1:
            start = index
    while start > 0:
        first = first_seq(readers[start].fd)
        if first is not None and first <= seq + 1:
            break
        start -= 1
    return start


class _Reader:
    """One log file read forwards in chunks, whole lines at a time."""

    def __init__(self, fd: int, path: Path, *, limit: int | None) -> None:
        self.fd = fd
        self.path = path
        self.limit = limit
        self.offset = 0
        self.line = 0
        self.pending = b""
        # After a write taken back from within a line already read, the next
        # record's separating newline ends no line of ours.
        self.skip_newline = False
        info = os.fstat(fd)
        self.ident = (info.st_dev, info.st_ino)

    def lines(self) -> Iterator[Entry]:
        """Every whole line from where the last call stopped to the end."""
        while True:
            size = (
                _CHUNK if self.limit is None else min(_CHUNK, self.limit - self.offset)
            )
            chunk = os.pread(self.fd, size, self.offset) if size > 0 else b""
            if not chunk:
                return
            self.offset += len(chunk)
            if self.skip_newline:
                self.skip_newline = False
                if not self.pending and chunk.startswith(b"\n"):
                    chunk = chunk[1:]
            pieces = (self.pending + chunk).split(b"\n")
            self.pending = pieces.pop()
            for raw in pieces:
                self.line += 1
                yield Entry(self.path, self.line, raw, parse_line(raw))

    def all(self) -> Iterator[Entry]:
        """Every line left, the last one even without its newline (a torn record)."""
        yield from self.lines()
        if self.pending:
            raw, self.pending = self.pending, b""
            self.line += 1
            yield Entry(self.path, self.line, raw, parse_line(raw))

    def is_current(self, state: Path) -> bool:
        try:
            info = os.lstat(state / CURRENT)
        except FileNotFoundError:
            return False
        return (info.st_dev, info.st_ino) == self.ident

    def take_back(self) -> None:
        """Go back with a file cut shorter than what was read: a write taken back."""
        size = os.fstat(self.fd).st_size
        if size >= self.offset:
            return
        kept = size - (self.offset - len(self.pending))
        self.pending = self.pending[: max(0, kept)]
        self.skip_newline = kept < 0
        self.offset = size

    def ends_by(self, seq: int) -> bool:
        """True when the file's last record is at or before `seq`."""
        end = self.limit if self.limit is not None else os.fstat(self.fd).st_size
        last = last_record(self.fd, end)
        return last is not None and last.seq <= seq

    def skip_to(self, seq: int) -> None:
        """Move to a line at or before the first record above `seq`, by halving."""
        end = self.limit if self.limit is not None else os.fstat(self.fd).st_size
        low, high = 0, end
        while high - low > _SEEK_SPAN:
            middle = (low + high) // 2
            start, found = self._line_after(middle, end)
            if start is not None and found is not None and found <= seq:
                low = start
            else:
                high = middle
        self.offset, self.line = low, self._count_lines(low)

    def _line_after(self, offset: int, end: int) -> tuple[int | None, int | None]:
        """The start of the first line after `offset`, and its record's seq."""
        data = os.pread(self.fd, min(2 * _PEEK, end - offset), offset)
        newline = data.find(b"\n")
        if newline < 0:
            return None, None
        raw = data[newline + 1 :].split(b"\n", 1)[0]
        found = chain_of(parse_line(raw))
        return offset + newline + 1, None if found is None else found[0]

    def _count_lines(self, end: int) -> int:
        count, offset = 0, 0
        while offset < end:
            chunk = os.pread(self.fd, min(_CHUNK, end - offset), offset)
            if not chunk:
                break
            count += chunk.count(b"\n")
            offset += len(chunk)
        return count

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class _Place:
    """Where `follow` has got to: the last file read to its end, the last seq."""

    def __init__(self) -> None:
        self.after: tuple[int, int] | None = None
        self.seq = 0

    def through(self, found: Iterable[Entry]) -> Iterator[Entry]:
        """Pass `found` on, noting the seq of each record."""
        for entry in found:
            chained = chain_of(entry.record)
            if chained is not None:
                self.seq = chained[0]
            yield entry

    def done(self, reader: _Reader) -> None:
        """`reader`'s file is read to its end and will not grow again."""
        self.after = reader.ident
        reader.close()

    def later(self, state: Path) -> tuple[list[_Reader], _Reader | None]:
        """The rotated files after the last one read, and the current file."""
        readers, _ = _open_files(state)
        idents = [reader.ident for reader in readers]
        if self.after is None:
            cut = 0
        elif self.after in idents:
            cut = idents.index(self.after) + 1
        else:
            # That file is gone: go on with the files whose records come later.
            newer = [(rotated_seq(r.path) or 0) > self.seq for r in readers]
            cut = newer.index(True) if True in newer else len(readers)
            if readers and readers[-1].path.name == CURRENT:
                cut = min(cut, len(readers) - 1)
        _close(readers[:cut])
        later = readers[cut:]
        for reader in later:
            reader.limit = None
        if later and later[-1].path.name == CURRENT:
            return later[:-1], later[-1]
        return later, None


def _open_files(
    state: Path, refused: list[StateFileError] | None = None
) -> tuple[list[_Reader], Witness | None]:
    """Open every log file and read the witness, all at one moment.

    A file name where something other than a regular file stands raises
    `StateFileError`, or with `refused` given is noted there and passed over.
    """
    readers: list[_Reader] = []
    with _shared_lock(state):
        try:
            for path in log_files(state):
                try:
                    fd = _open(path)
                except StateFileError as exc:
                    if refused is None:
                        raise
                    refused.append(exc)
                    continue
                if fd is None:
                    continue
                limit = os.fstat(fd).st_size if path.name == CURRENT else None
                readers.append(_Reader(fd, path, limit=limit))
            try:
                witness = _read_witness(state)
            except StateFileError:
                if refused is None:
                    raise
                witness = None  # snapshot says what stands there instead
        except BaseException:
            _close(readers)
            raise
    return readers, witness


def _close(readers: Iterable[_Reader]) -> None:
    for reader in readers:
        reader.close()


def _open(path: Path) -> int | None:
    try:
        return open_regular(path, _READ)
    except FileNotFoundError:
        return None


def _witness_state(state: Path, witness: Witness | None) -> str:
    """What stands at ``events.head`` when `witness` is what it said."""
    if witness is not None:
        return "ok"
    fd = _open(state / HEAD)
    if fd is None:
        return "missing"
    try:
        return "empty" if os.fstat(fd).st_size == 0 else "unreadable"
    finally:
        os.close(fd)


def _read_witness(state: Path) -> Witness | None:
    fd = _open(state / HEAD)
    if fd is None:
        return None
    try:
        return read_witness(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _shared_lock(state: Path) -> Iterator[None]:
    """Hold ``events.lock`` shared: no record is half written, no file rotating."""
    fd = _open(state / LOCK)
    if fd is None:
        # No writer has ever run here: there is nothing to wait for.
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)
