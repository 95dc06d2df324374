"""One export pass: the records after the cursor, in batches, then their figures.

Called with ``export.lock`` held.  The cursor moves past a batch as soon as the
collector accepted it; metrics follow the records they count and have a
position of their own (``metrics_seq``), so figures a failed run could not
send go with the next one, counted once.  Nothing about the figures holds the
records back: a record the tally cannot read is left out of the figures, and
figures that cannot be encoded are given up (``metrics_seq`` moves on).  A log
replaced since the last pass (its record at the cursor has another digest, or
it is shorter) is sent again from its start.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from corral._logger import get_logger
from corral.audit._log import chain_of, digest_of
from corral.audit._read import Entry, head, records_after
from corral.audit.export._collector import Collector, Sent
from corral.audit.export._cursor import Failing, Position, read_position, write_position
from corral.audit.export._metrics import Tally
from corral.audit.export._start import (
    METRICS_FAILED,
    REJECTED_EVENT,
    ExportReport,
    shown,
)
from corral.errors import CorralError

__all__ = ["ship"]

logger = get_logger(__name__)

# A batch is at most this many records (the SDK's own default batch size) ...
BATCH_RECORDS = 512
# ... and at most about this many bytes, well below what collectors accept
# in one request by default; a larger single record goes alone.
BATCH_BYTES = 2 << 20


class _ReplacedError(Exception):
    """The log no longer holds the record the cursor names."""


@dataclass(frozen=True)
class _Dropped:
    """A batch the collector accepted but partly dropped."""

    rejected: int
    message: str
    first_seq: int
    last_seq: int


@dataclass
class _Pass:
    state: Path
    endpoint: str
    collector: Collector
    position: Position
    shipped: int = 0
    rejected: int = 0
    error: str | None = None
    metrics_error: str | None = None
    dropped: list[_Dropped] = field(default_factory=list)

    def run(self) -> None:
        """Send everything after the cursor, batch by batch, then the figures."""
        position = self.position
        tally = Tally()
        batch: list[tuple[int, Entry]] = []
        size = 0
        start = min(position.metrics_seq, max(position.seq - 1, 0))
        for entry in records_after(self.state, start):
            record, chained = entry.record, chain_of(entry.record)
            if record is None or chained is None:
                continue  # records_after yields chained records only
            seq = chained[0]
            if seq <= position.seq:
                if seq == position.seq and digest_of(entry.raw) != position.digest:
                    raise _ReplacedError
                if seq > position.metrics_seq:
                    _count(tally, record)
                continue
            full = len(batch) >= BATCH_RECORDS or size + len(entry.raw) > BATCH_BYTES
            if batch and full:
                if not self._send(batch, tally):
                    return
                batch, size = [], 0
            batch.append((seq, entry))
            size += len(entry.raw)
        if batch and not self._send(batch, tally):
            return
        if tally:
            self._send_figures(tally)

    def _send(self, batch: list[tuple[int, Entry]], tally: Tally) -> bool:
        lines = [(entry.raw, entry.record or {}) for _, entry in batch]
        sent = self.collector.send_records(lines)
        if not sent.accepted:
            self.error = sent.error
            return False
        seq, last = batch[-1]
        self.position = self.position.shipped(seq, digest_of(last.raw))
        self._save()
        self.shipped += len(batch)
        self.rejected += sent.rejected
        if sent.rejected:
            logger.warning(
                "%s accepted %d records but dropped %d of them%s",
                shown(self.endpoint), len(batch), sent.rejected,
                f": {sent.message}" if sent.message else "",
            )  # fmt: skip
            if not all(_is_rejected(record) for _, record in lines):
                dropped = _Dropped(sent.rejected, sent.message, batch[0][0], seq)
                self.dropped.append(dropped)
        for _, record in lines:
            _count(tally, record)
        return True

    def _send_figures(self, tally: Tally) -> None:
        """Send the figures; a failure is reported, never raised past the records."""
        try:
            sent: Sent = self.collector.send_metrics(tally)
        except Exception as exc:  # noqa: BLE001 (figures never stop the records)
            sent = Sent(False, f"the figures cannot be sent: {exc}", unsendable=True)
        if not sent.accepted:
            self.metrics_error = f"{METRICS_FAILED} {sent.error}"
            if not sent.unsendable:
                return  # they go with the next pass, counted once
            logger.warning(
                "the figures of records %d..%d are left out: %s",
                self.position.metrics_seq + 1, self.position.seq, sent.error,
            )  # fmt: skip
        self.position = replace(self.position, metrics_seq=self.position.seq)
        self._save()

    def _save(self) -> None:
        _save(self.state, self.endpoint, self.position)


def ship(
    state: Path, endpoint: str, timeout: float, *, environ: Mapping[str, str]
) -> ExportReport:
    """Export what `endpoint` lacks; record a failure streak's start and end.

    A second pass sends the ``export.resumed`` record the first one wrote.
    Raises `CorralError` when the log cannot be read or the cursor written.
    """
    report = _ship_once(state, endpoint, timeout, environ)
    if report.error is None and report.pending:
        again = _ship_once(state, endpoint, timeout, environ)
        report = ExportReport(
            report.shipped + again.shipped,
            again.pending,
            again.error,
            report.rejected + again.rejected,
            again.metrics_error or report.metrics_error,
        )
    return report


def _ship_once(
    state: Path, endpoint: str, timeout: float, environ: Mapping[str, str]
) -> ExportReport:
    position = read_position(state, endpoint)
    collector = Collector(endpoint, timeout=timeout)
    try:
        try:
            done = _Pass(state, endpoint, collector, position)
            _check_head(state, position)
            done.run()
        except _ReplacedError:
            logger.warning(
                "the log no longer holds record %d as %s last received it; "
                "sending the whole log again",
                position.seq, shown(endpoint),
            )  # fmt: skip
            afresh = replace(Position(), failing=position.failing)
            done = _Pass(state, endpoint, collector, afresh)
            done.run()
    except OSError as exc:
        raise CorralError(
            f"cannot read the event log in {state}: {exc}; run 'corral log verify'"
        ) from exc
    finally:
        collector.close()
    _note_dropped(state, endpoint, done, environ)
    _note_streak(state, endpoint, done, environ)
    waiting = _waiting(state, done.position)
    return ExportReport(
        done.shipped, waiting, done.error, done.rejected, done.metrics_error
    )


def _check_head(state: Path, position: Position) -> None:
    """Raise `_ReplacedError` when the log is shorter than what was sent from it."""
    last = head(state)
    if last is not None and last.seq < position.seq:
        raise _ReplacedError


def _count(tally: Tally, record: Mapping[str, object]) -> None:
    """Add `record` to `tally`; one the tally cannot read is left out of the figures."""
    try:
        tally.add(record)
    except Exception as exc:  # noqa: BLE001 (figures never stop the records)
        logger.warning("a record is left out of the figures: %s", exc)


def _is_rejected(record: Mapping[str, object]) -> bool:
    return record.get("event") == REJECTED_EVENT


def _note_dropped(
    state: Path, endpoint: str, done: _Pass, environ: Mapping[str, str]
) -> None:
    """Record each batch the collector said it dropped part of (``export.rejected``)."""
    from corral.audit import record_event  # noqa: PLC0415 (the package imports much)

    for dropped in done.dropped:
        fields: dict[str, object] = {
            "endpoint": shown(endpoint),
            "rejected": dropped.rejected,
            "message": dropped.message,
            "first_seq": dropped.first_seq,
            "last_seq": dropped.last_seq,
        }
        record_event(state, REJECTED_EVENT, fields, environ=environ)


def _note_streak(
    state: Path, endpoint: str, done: _Pass, environ: Mapping[str, str]
) -> None:
    """Record the start (export.failed) or end (export.resumed) of a failure streak."""
    from corral.audit import record_event  # noqa: PLC0415 (the package imports much)

    position, failing = done.position, done.position.failing
    error = done.error if done.error is not None else done.metrics_error
    if error is None and failing is not None:
        fields: dict[str, object] = {
            "endpoint": shown(endpoint),
            "shipped": done.shipped,
            "failed_since": failing.since,
        }
        record_event(state, "export.resumed", fields, environ=environ)
        _save(state, endpoint, replace(position, failing=None))
    elif error is not None and failing is None:
        fields = {
            "endpoint": shown(endpoint),
            "error": error,
            "pending": _waiting(state, position),
            "after_seq": position.seq,
        }
        record_event(state, "export.failed", fields, environ=environ)
        streak = Failing(_now(), error, 1, time.time())
        _save(state, endpoint, replace(position, failing=streak))
    elif error is not None and failing is not None:
        streak = replace(
            failing, error=error, attempts=failing.attempts + 1, last=time.time()
        )
        _save(state, endpoint, replace(position, failing=streak))


def _waiting(state: Path, position: Position) -> int:
    last = head(state)
    return 0 if last is None else max(last.seq - position.seq, 0)


def _save(state: Path, endpoint: str, position: Position) -> None:
    try:
        write_position(state, endpoint, position)
    except OSError as exc:
        raise CorralError(
            f"cannot write the export cursor in {state}: {exc.strerror}; the "
            "records sent are sent again next time; free space in the state directory"
        ) from exc


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
