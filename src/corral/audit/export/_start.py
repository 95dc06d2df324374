"""Export of the local log to an OpenTelemetry collector, never in a command's way.

The local log is the evidence and the collector gets a copy: records go out in
order, in batches, and the cursor (`corral.audit.export._cursor`) moves past a batch
only once the collector accepted it, so a failure costs a resend, never a
record.  A failure is itself an event (``export.failed``, once per streak;
``export.resumed`` when export works again), exported like any other; so are
records the collector says it dropped (``export.rejected``).  Records and their
figures (metrics) advance apart: figures the collector refuses are a failure
like any other, but records keep going, with no back-off.

`start_export` is what a command calls: a cheap look at the log's head and the
cursor, then at most a detached process (``python -m corral.audit.export``)
that exports until caught up, waits a few seconds for more, and exits.
``--once`` exports what is pending in the foreground.  Nothing here imports
the OpenTelemetry SDK; the exporting process does, in `corral.audit.export._ship`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from corral._logger import get_logger
from corral.audit.export._process import exporter_lock, reap, serve, spawn, take_lock
from corral.errors import CorralError, ExitCode, PolicyError

# The log reader and the cursor are imported where they are used: every
# command calls start_export, and one with no collector named needs neither.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from corral.audit.export._cursor import Position

__all__ = [
    "METRICS_FAILED",
    "ExportReport",
    "ExportSettings",
    "check_endpoint",
    "export_pending",
    "main",
    "pending",
    "shown",
    "start_export",
]

logger = get_logger(__name__)

LOCK_WAIT_SECONDS = 30.0
"""How long a foreground export waits for a background one to finish its pass."""
# After a failure, the next command does not retry at once: the collector is
# given BACKOFF_FIRST seconds, doubling with every failure up to BACKOFF_MAX.
BACKOFF_FIRST = 10.0
BACKOFF_MAX = 300.0
METRICS_FAILED = "the metrics were not sent:"
"""How a failure of the figures alone begins: the collector takes records, so
commands start exporters without backing off."""
REJECTED_EVENT = "export.rejected"


class ExportSettings(Protocol):
    """What export needs of the policy's [audit] settings."""

    @property
    def endpoint(self) -> str | None: ...
    @property
    def export_timeout(self) -> float: ...


@dataclass(frozen=True)
class ExportReport:
    """What one export did: records the collector accepted, records still waiting."""

    shipped: int
    pending: int
    error: str | None = None
    """Why the collector did not take them all, or None when it did."""
    rejected: int = 0
    """Records the collector took but said it dropped (OTLP partial success),
    counting what another exporter recorded as dropped of the `elsewhere` ones."""
    metrics_error: str | None = None
    """Why the figures did not go, or None when they did (records go regardless)."""
    elsewhere: int = 0
    """Records another exporter sent while this one waited for export.lock."""


def export_pending(
    state: Path, settings: ExportSettings, *, environ: Mapping[str, str]
) -> ExportReport:
    """Send the collector every record it has not accepted yet, and their figures.

    A collector that is unreachable, slow or refusing is reported in the
    result's `error` (and recorded as ``export.failed``); raises `CorralError`
    when no endpoint is configured or the state directory cannot be used.
    """
    from corral.audit.export._cursor import read_position  # noqa: PLC0415

    endpoint = check_endpoint(settings.endpoint)
    before = read_position(state, endpoint)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    with exporter_lock(state, deadline=deadline) as held:
        if not held:
            return ExportReport(
                0,
                pending(state, endpoint),
                "another corral exporter kept export.lock for "
                f"{LOCK_WAIT_SECONDS:.0f} s; it is sending these records now",
            )
        elsewhere, dropped = _meanwhile(state, endpoint, before)
        from corral.audit.export._ship import ship  # noqa: PLC0415 (imports the SDK)

        report = ship(state, endpoint, settings.export_timeout, environ=environ)
    return replace(report, elsewhere=elsewhere, rejected=report.rejected + dropped)


def _meanwhile(state: Path, endpoint: str, before: Position) -> tuple[int, int]:
    """Return what another exporter sent since `before`, and how many it was told
    were dropped (as its ``export.rejected`` records say)."""
    from corral.audit._read import records_after  # noqa: PLC0415
    from corral.audit.export._cursor import read_position  # noqa: PLC0415

    sent = read_position(state, endpoint).seq - before.seq
    if sent <= 0:
        return 0, 0
    dropped = 0
    for entry in records_after(state, before.seq):
        record = entry.record or {}
        count = record.get("rejected")
        if (
            record.get("event") == REJECTED_EVENT
            and record.get("endpoint") == shown(endpoint)
            and isinstance(count, int)
            and not isinstance(count, bool)
        ):
            dropped += max(count, 0)
    return sent, dropped


def start_export(state: Path, environ: Mapping[str, str]) -> int | None:
    """Start a background exporter if a collector is named and records wait for it.

    Returns the new process's pid, or None when none was needed.  Never raises
    and never waits: export is not part of any command.
    """
    try:
        reap()
        from corral.audit._settings import audit_settings  # noqa: PLC0415

        endpoint = audit_settings(environ).endpoint
        if endpoint is None or not pending(state, endpoint):
            return None
        from corral.audit.export._cursor import read_position  # noqa: PLC0415

        if _backing_off(read_position(state, endpoint)):
            return None
        lock = take_lock(state)
        if lock is None:
            return None  # the exporter running now will see the new records
        try:
            return spawn(state, environ, lock)
        finally:
            os.close(lock)
    except PolicyError:
        return None  # said by whoever read the policy for the command
    except Exception as exc:  # noqa: BLE001 (export must never fail a command)
        logger.warning("cannot start the exporter: %s", exc)
        return None


def check_endpoint(endpoint: str | None) -> str:
    """Return `endpoint` if it is an http(s) URL; raise `CorralError` otherwise."""
    if endpoint is None:
        raise CorralError(
            "no collector is named in policy; set [audit.export] endpoint "
            '(e.g. "https://collector.example:4318") to export the log'
        )
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CorralError(
            f"the collector endpoint {shown(endpoint)!r} is not an http(s) URL; "
            "set [audit.export] endpoint to the collector's OTLP/HTTP base URL"
        )
    if parts.query or parts.fragment:
        raise CorralError(
            f"the collector endpoint {shown(endpoint)!r} has a query or fragment; "
            "give the base URL only (/v1/logs and /v1/metrics are added)"
        )
    return endpoint


def shown(endpoint: str) -> str:
    """Return `endpoint` as messages and events may show it: without credentials."""
    from corral.audit.export._cursor import without_credentials  # noqa: PLC0415

    return without_credentials(endpoint)


def pending(state: Path, endpoint: str) -> int:
    """Return how many records `endpoint` lacks (a log replaced since: all of them)."""
    from corral.audit._read import head  # noqa: PLC0415
    from corral.audit.export._cursor import read_position  # noqa: PLC0415

    last = head(state)
    if last is None:
        return 0
    position = read_position(state, endpoint)
    if last.seq < position.seq:
        return last.seq
    if last.seq == position.seq and last.digest != position.digest:
        return last.seq
    return last.seq - position.seq


def _backing_off(position: Position) -> bool:
    failing = position.failing
    if failing is None or failing.error.startswith(METRICS_FAILED):
        return False
    wait = min(BACKOFF_FIRST * 2.0 ** (failing.attempts - 1), BACKOFF_MAX)
    return time.time() < failing.last + wait


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m corral.audit.export [--once] [--state DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m corral.audit.export")
    parser.add_argument("--state", type=Path, help="corral's state directory")
    parser.add_argument(
        "--once", action="store_true", help="export what is pending now and exit"
    )
    parser.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    environ = os.environ
    if not options.once:
        import logging  # noqa: PLC0415 (the exporting process alone configures it)

        logging.basicConfig(
            stream=sys.stderr,
            level=logging.WARNING,
            format="%(asctime)s corral: %(name)s: %(message)s",
        )
    try:
        from corral._state import state_dir  # noqa: PLC0415
        from corral.audit._settings import audit_settings  # noqa: PLC0415

        state = options.state or state_dir(environ)
        if not options.once:
            return serve(state, environ, options.lock_fd)
        settings = audit_settings(environ)
        report = export_pending(state, settings, environ=environ)
    except CorralError as exc:
        print(f"corral: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"corral: the exporter stopped: {exc}", file=sys.stderr)
        return ExitCode.CORRAL_FAILED
    if report.error is not None:
        print(
            f"corral: export failed: {report.error}; {report.pending} records wait "
            "in the local log and go with the next export",
            file=sys.stderr,
        )
        return ExitCode.CORRAL_FAILED
    print(_summary(report))
    if report.metrics_error is not None:
        print(f"corral: {report.metrics_error}; the records went", file=sys.stderr)
        return ExitCode.CORRAL_FAILED
    return ExitCode.OK


def _summary(report: ExportReport) -> str:
    """Return what an export that reached the collector did, in one line."""
    dropped = (
        f" (the collector dropped {report.rejected}; recorded as export.rejected)"
        if report.rejected
        else ""
    )
    if report.shipped:
        return f"exported {report.shipped} records{dropped}; {report.pending} pending"
    if report.elsewhere:
        return (
            f"nothing was pending: another corral exporter sent {report.elsewhere} "
            f"records meanwhile{dropped}"
        )
    return f"nothing was pending{dropped}"
