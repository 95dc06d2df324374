"""Checking the event log's hash chain: every record in place, none changed or lost.

`verify_log` walks every file in order and lists each break with the file,
line and record it is at and what a person can do about it.  After a break it
picks the chain up again, so one change does not hide the next.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from corral.audit._log import (
    CURRENT,
    GENESIS,
    HEAD,
    WITNESS_REBUILT,
    Witness,
    chain_of,
    digest_of,
    rotated_seq,
)
from corral.audit._read import Entry, Snapshot, snapshot

__all__ = ["BREAK_KINDS", "Break", "Verification", "verify_log"]

BREAK_KINDS = (
    "torn",
    "altered",
    "missing",
    "out-of-order",
    "start-missing",
    "truncated",
    "head-mismatch",
    "not-a-record",
    "not-a-file",
    "empty-file",
    "misnamed",
    "witness-missing",
    "witness-unreadable",
    "witness-rebuilt",
)
# Records remembered by seq, to check a link or place a record found out of
# order: enough for any reordering a person would do by hand, bounded memory.
_WINDOW = 4096
_FIRST_SCHEMA = 1


@dataclass(frozen=True)
class Break:
    """One place where the chain does not hold.

    `path` and `line` say where it shows (line 0: the file as a whole);
    `seq` is the record it is about (the first of those missing, for a gap),
    None when no record can be named.
    """

    path: Path
    line: int
    seq: int | None
    kind: str
    message: str


@dataclass(frozen=True)
class Verification:
    """What `verify_log` found: how much of the log it read, and every break."""

    records: int
    files: int
    first_seq: int | None
    last_seq: int | None
    last_digest: str | None
    breaks: tuple[Break, ...]
    unchained: int = 0
    """Schema 1 records before the chain began: no digest covers them."""

    @property
    def ok(self) -> bool:
        """True when the chain holds from record 1 to the last one witnessed."""
        return not self.breaks


@dataclass
class _Seen:
    """A record the walk has passed: where it is and what its digest is."""

    path: Path
    line: int
    digest: str


@dataclass
class _Gap:
    """Records not found where they belong: ``low..high`` before `where`."""

    low: int
    high: int
    where: Entry
    kind: str


@dataclass
class _Walk:
    """The state of one walk along the chain."""

    records: int = 0
    unchained: int = 0
    first: int | None = None
    last: tuple[int, str] | None = None
    highest: int = 0
    last_entry: Entry | None = None
    unparsed: list[Entry] = field(default_factory=list)
    """Lines that are not records since the last record: settled by the next."""
    first_in: dict[Path, Entry] = field(default_factory=dict)
    """The first record of each file."""
    unchained_in: set[Path] = field(default_factory=set)
    seen: OrderedDict[int, _Seen] = field(default_factory=OrderedDict)
    gaps: list[_Gap] = field(default_factory=list)
    breaks: list[tuple[Entry, Break]] = field(default_factory=list)


def verify_log(state: Path) -> Verification:
    """Check the whole chain, oldest file first, against the witness.

    Raises `OSError` when a log file cannot be read, `StateFileError` when
    something other than a regular file stands at ``events.lock``.
    """
    found = snapshot(state)
    walk = _Walk()
    for entry in found.entries:
        walk.last_entry = entry
        _step(walk, entry)
    _settle(walk, found.witness.seq + 1 if found.witness is not None else None)
    for gap in walk.gaps:
        walk.breaks.append((gap.where, _gap_break(gap)))
    breaks = walk.breaks + _file_breaks(walk, found)
    order = {path: index for index, path in enumerate(_all_files(found))}
    breaks.sort(key=lambda item: (order.get(item[0].path, len(order)), item[0].line))
    listed = [found_break for _, found_break in breaks]
    listed += _against_witness(walk, found.witness, state)
    listed += _witness_breaks(walk, found, state)
    return Verification(
        records=walk.records,
        files=len(found.files),
        first_seq=walk.first,
        last_seq=None if walk.last is None else walk.last[0],
        last_digest=None if walk.last is None else walk.last[1],
        breaks=tuple(listed),
        unchained=walk.unchained,
    )


def _all_files(found: Snapshot) -> list[Path]:
    """Every file in log order, read or refused."""
    return sorted(
        [*found.files, *(refused.path for refused in found.refused)],
        key=lambda path: (
            path.name == CURRENT,
            path.name == HEAD,
            rotated_seq(path) or 0,
        ),
    )


def _step(walk: _Walk, entry: Entry) -> None:
    chained = chain_of(entry.record)
    if chained is None:
        if walk.records == 0 and _is_unchained(entry):
            walk.unchained += 1
            walk.unchained_in.add(entry.path)
        else:
            walk.unparsed.append(entry)
        return
    seq, prev = chained
    _settle(walk, seq)
    digest = digest_of(entry.raw)
    walk.records += 1
    walk.first_in.setdefault(entry.path, entry)
    if walk.first is None:
        walk.first = seq
    if seq in walk.seen:
        earlier = walk.seen[seq]
        _add(
            walk,
            entry,
            seq,
            "out-of-order",
            f"record {seq} at line {entry.line} repeats record {seq} at "
            f"{_place(earlier.path, earlier.line, entry.path)}: one is a copy; "
            "compare the two and keep the one the next record's prev names",
        )
    elif seq <= walk.highest:
        _out_of_order(walk, entry, seq)
    elif seq > walk.highest + 1:
        kind = "start-missing" if walk.highest == 0 else "missing"
        walk.gaps.append(_Gap(walk.highest + 1, seq - 1, entry, kind))
    _check_link(walk, entry, seq, prev)
    _check_rebuilt(walk, entry, seq)
    walk.seen[seq] = _Seen(entry.path, entry.line, digest)
    if len(walk.seen) > _WINDOW:
        walk.seen.popitem(last=False)
    walk.highest = max(walk.highest, seq)
    walk.last = (seq, digest)


def _settle(walk: _Walk, seq: int | None) -> None:
    """Name the lines that are not records, now that record `seq` comes next.

    Lines standing exactly where the records missing before `seq` belong,
    and not cut short, are those records changed; any others are lines
    corral never wrote (or a record torn by a crash).
    """
    lines, walk.unparsed = walk.unparsed, []
    missing = 0 if seq is None else seq - walk.highest - 1
    if lines and len(lines) == missing and all(_reason(e)[0] != "torn" for e in lines):
        for offset, entry in enumerate(lines):
            record = walk.highest + 1 + offset
            _add(
                walk,
                entry,
                record,
                "altered",
                f"line {entry.line} stands where record {record} belongs but "
                f"holds {_reason(entry)[1]}, not a record as corral writes it: "
                "the record was changed after it was written; compare it with "
                "the exported copy",
            )
        walk.highest += missing
        return
    for entry in lines:
        _add(walk, entry, None, *_not_a_record(entry))


def _check_rebuilt(walk: _Walk, entry: Entry, seq: int) -> None:
    """A record written just after the writer found the witness gone or spoilt."""
    why = (entry.record or {}).get(WITNESS_REBUILT)
    if why is None:
        return
    _add(
        walk,
        entry,
        seq,
        "witness-rebuilt",
        f"record {seq} at line {entry.line} was appended when {HEAD} was "
        f"{why if isinstance(why, str) else 'not a witness'}: corral rebuilt it "
        f"from the log, so records cut from the end before record {seq} would "
        "not show; compare the records before it with the exported copy",
    )


def _check_link(walk: _Walk, entry: Entry, seq: int, prev: str) -> None:
    """A record's prev must be its predecessor's digest (GENESIS for record 1)."""
    if seq == 1:
        if prev != GENESIS:
            _add(
                walk,
                entry,
                seq,
                "altered",
                f"record 1 at line {entry.line} has a prev that is not the "
                "genesis value: it was changed, or records before it were "
                "removed and the rest renumbered",
            )
        return
    before = walk.seen.get(seq - 1)
    if before is None or before.digest == prev:
        return
    _add(
        walk,
        _at(before),
        seq - 1,
        "altered",
        f"record {seq - 1} at {_place(before.path, before.line, entry.path)} "
        f"was changed after it was written (or record {seq}'s prev at line "
        f"{entry.line} was): record {seq}'s prev does not match record "
        f"{seq - 1}'s digest; compare both with the exported copy",
    )


def _out_of_order(walk: _Walk, entry: Entry, seq: int) -> None:
    """A record below the highest seen: one taken for missing, or moved back."""
    for gap in walk.gaps:
        if gap.low <= seq <= gap.high:
            _split(walk, gap, seq)
            after = gap.where.record or {}
            _add(
                walk,
                entry,
                seq,
                "out-of-order",
                f"record {seq} at line {entry.line} is out of order: it belongs "
                f"before record {after.get('seq')} at "
                f"{_place(gap.where.path, gap.where.line, entry.path)}; records "
                "were moved, so compare this stretch with the exported copy",
            )
            return
    _add(
        walk,
        entry,
        seq,
        "out-of-order",
        f"record {seq} at line {entry.line} comes after record {walk.highest}: "
        "records were moved or copied; compare with the exported copy",
    )


def _split(walk: _Walk, gap: _Gap, seq: int) -> None:
    walk.gaps.remove(gap)
    for low, high in ((gap.low, seq - 1), (seq + 1, gap.high)):
        if low <= high:
            walk.gaps.append(_Gap(low, high, gap.where, gap.kind))


def _span(low: int, high: int) -> str:
    return f"record {low} is" if low == high else f"records {low}..{high} are"


def _gap_break(gap: _Gap) -> Break:
    found, span, after = gap.where, _span(gap.low, gap.high), gap.high + 1
    if gap.kind == "start-missing":
        how = (
            f"the log starts at record {after} in {found.path.name}: older files "
            "were removed or the start of the log cut off"
        )
    elif found.line > 1:
        how = f"record {after} at line {found.line} follows record {gap.low - 1}"
        how += ": they were deleted from the file"
    elif rotated_seq(found.path) == after:
        how = (
            f"{found.path.name} begins where its name says, so a rotated file "
            "before it was removed or the end of the one before cut off"
        )
    else:
        how = (
            f"they were cut from the start of {found.path.name} or the end of "
            "the file before it"
        )
    message = f"{span} missing: {how}; restore them from a backup or the exported copy"
    return Break(found.path, found.line, gap.low, gap.kind, message)


def _against_witness(walk: _Walk, witness: Witness | None, state: Path) -> list[Break]:
    """The last record against what ``events.head`` saw appended."""
    if witness is None:
        return []
    last = walk.last_entry
    if witness.seq > walk.highest:
        path = state / CURRENT if last is None else last.path
        line = 1 if last is None else last.line + (last.record is not None)
        message = (
            f"{_span(walk.highest + 1, witness.seq)} missing at the end: {HEAD} "
            f"saw records up to {witness.seq} appended but the log ends at "
            f"record {walk.highest or 'none'}; it was cut short; restore the "
            "end from a backup or the exported copy"
        )
        return [Break(path, line, walk.highest + 1, "truncated", message)]
    seen = walk.seen.get(witness.seq)
    if seen is None or seen.digest == witness.digest:
        return []
    which = f"record {witness.seq}"
    if witness.seq == walk.highest:
        which += " (the last)"
    message = (
        f"{which} was changed after it was written: its digest is not the one "
        f"{HEAD} saw appended; compare it with the exported copy"
    )
    return [Break(seen.path, seen.line, witness.seq, "head-mismatch", message)]


def _file_breaks(walk: _Walk, found: Snapshot) -> list[tuple[Entry, Break]]:
    """Files at log names that are not files, or not named by their first record."""
    breaks = []
    for refused in found.refused:
        if refused.path.name == HEAD:
            continue  # the witness's own break says so
        message = (
            f"{refused.path.name} is {refused.what}, not a log file corral wrote: "
            "its records, if it held any, cannot be checked or exported; move it "
            "out of the state directory (or put back the file it replaced)"
        )
        where = Entry(refused.path, 0, b"", None)
        seq = rotated_seq(refused.path)
        breaks.append((where, Break(refused.path, 0, seq, "not-a-file", message)))
    for path in found.files:
        named = rotated_seq(path)
        if named is None:
            continue
        first = walk.first_in.get(path)
        where = Entry(path, 0, b"", None)
        if first is None:
            if path in walk.unchained_in:
                continue  # schema 1 records, before the chain began
            message = (
                f"{path.name} has the name of a rotated file but holds no record: "
                "corral never rotates an empty file, so it was put there; readers "
                "take it for where record "
                f"{named} begins; move it out of the state directory"
            )
            breaks.append((where, Break(path, 0, named, "empty-file", message)))
            continue
        chained = chain_of(first.record)
        if chained is None or chained[0] == named or _starts_gap(walk, first):
            continue
        message = (
            f"{path.name} is named for record {named} but its first record is "
            f"{chained[0]}: corral names a rotated file by its first record, so "
            f"it was renamed; rename it events.{chained[0]:012d}.jsonl"
        )
        breaks.append((where, Break(path, 0, named, "misnamed", message)))
    return breaks


def _starts_gap(walk: _Walk, entry: Entry) -> bool:
    """True when records missing before `entry` are already reported there."""
    return any(gap.where is entry for gap in walk.gaps)


def _witness_breaks(walk: _Walk, found: Snapshot, state: Path) -> list[Break]:
    """A log with records must have its witness: without it the end is unchecked."""
    if walk.records == 0 or found.witness_state == "ok":
        return []
    if found.witness_state == "empty" and (walk.records, walk.highest) == (1, 1):
        return []  # a crash between creating the witness and writing record 1
    kind = "witness-unreadable"
    if found.witness_state == "missing":
        kind, what = "witness-missing", "is missing"
    elif found.witness_state == "empty":
        what = "is empty"
    elif found.witness_state == "refused":
        refused = next(r for r in found.refused if r.path.name == HEAD)
        what = f"is {refused.what}"
    else:
        what = "holds no witness as corral writes it"
    message = (
        f"{HEAD} {what} though the log holds records up to {walk.highest}: "
        "corral writes it with the first record and keeps it, so it was "
        "removed or changed; the end of the log cannot be checked (records cut "
        "from the end would not show); compare the last records with the "
        "exported copy"
    )
    if found.witness_state == "refused":
        message += "; move what stands there out of the state directory"
    return [Break(state / HEAD, 0, None, kind, message)]


def _reason(entry: Entry) -> tuple[str, str]:
    """Why a line is not a record: ``torn`` (cut short) or ``other``, in words."""
    raw = entry.raw
    if not raw or not raw.isascii():
        what = "bytes that are not ASCII (corral escapes every other byte)"
        return "other", what if raw else "an empty line"
    try:
        value = json.loads(raw)
    except RecursionError:
        return "other", "JSON nested deeper than any record"
    except ValueError:
        if raw.startswith(b"{"):
            return "torn", "the start of a record"
        return "other", "text that is not JSON"
    if isinstance(value, dict):
        return "other", "a JSON object without a valid seq and prev"
    return "other", "JSON that is not an object"


def _not_a_record(entry: Entry) -> tuple[str, str]:
    kind, what = _reason(entry)
    if kind == "torn":
        return "torn", (
            f"line {entry.line} is a record cut short: a crash or a full disk "
            "while it was written, or the file was cut in the middle of it"
        )
    return "not-a-record", (
        f"line {entry.line} is {what}: corral never writes such a line; "
        "something else wrote to the log"
    )


def _is_unchained(entry: Entry) -> bool:
    record = entry.record
    return record is not None and record.get("v") == _FIRST_SCHEMA


def _add(
    walk: _Walk,
    where: Entry,
    seq: int | None,
    kind: str,
    message: str,
) -> None:
    walk.breaks.append((where, Break(where.path, where.line, seq, kind, message)))


def _at(seen: _Seen) -> Entry:
    return Entry(seen.path, seen.line, b"", None)


def _place(path: Path, line: int, here: Path) -> str:
    return f"line {line}" if path == here else f"{path.name}:{line}"
