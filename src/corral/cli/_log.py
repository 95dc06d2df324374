"""``corral log``: read the event log as a person or a machine would, and check it.

``corral log`` shows one aligned line per event (``--json``: each record as
stored, one per line); ``--session``, ``--since``, ``--event`` and ``--run``
choose which; ``--follow`` goes on as records arrive.  ``corral log verify``
checks the hash chain and says where it breaks (exit 1), ``corral log path``
prints where the log lives, ``corral log export`` sends what the collector
has not accepted yet.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from corral._state import state_dir
from corral.audit._log import EventLog
from corral.audit._read import Entry, entries, follow
from corral.audit._verify import verify_log
from corral.cli._log_view import event_line
from corral.cli._output import say, write_result
from corral.errors import CorralError, ExitCode

__all__ = ["add_parser", "log"]

# A broken chain is neither success nor a usage error.
_BROKEN = 1
_RELATIVE = re.compile(r"([0-9]{1,6})([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def add_parser(subparsers: Any) -> None:
    """Register ``corral log``."""
    parser = subparsers.add_parser(
        "log",
        help="show, follow, verify or export the event log",
        description="Show the event log.  'corral log verify' checks its hash "
        "chain; 'corral log path' prints where it lives; 'corral log export' "
        "sends pending records to the collector the policy names.",
        epilog="exit status: 0; 1 when verify finds the chain broken; 2 usage",
    )
    parser.add_argument(
        "action",
        nargs="?",
        choices=("show", "verify", "path", "export"),
        default="show",
        help="what to do (default: show)",
    )
    parser.add_argument("--json", action="store_true", help="records as JSON lines")
    parser.add_argument("--follow", "-f", action="store_true", help="keep reading")
    parser.add_argument("--session", metavar="ID", help="only this session's events")
    parser.add_argument("--run", metavar="ID", help="only this run's events")
    parser.add_argument(
        "--event", metavar="NAME", help="only events named NAME (or NAME.*)"
    )
    parser.add_argument(
        "--since",
        metavar="TIME",
        help="only events from TIME on: an ISO 8601 date or time (local unless "
        "it names a zone), or an age such as 30m, 2h, 7d",
    )
    parser.set_defaults(handler=log)


def log(args: argparse.Namespace) -> int:
    """Carry out ``corral log ACTION``; return the exit status."""
    state = state_dir()
    if args.action == "path":
        write_result(str(EventLog(state).current))
        return ExitCode.OK
    if args.action == "export":
        return _export(state)
    try:
        if args.action == "verify":
            return _verify(state, as_json=args.json)
        try:
            keep = _selection(args)
        except ValueError as exc:
            say(str(exc))
            return ExitCode.USAGE
        stream: Iterable[Entry] = follow(state) if args.follow else entries(state)
        _show(stream, keep, as_json=args.json)
    except KeyboardInterrupt:
        return ExitCode.OK
    except OSError as exc:
        # The one boundary where reading the log meets the system's errors.
        where = exc.filename or state
        raise CorralError(
            f"cannot read the event log at {where}: {exc.strerror or exc}; check "
            "that corral's state directory and its files are yours and readable"
        ) from exc
    return ExitCode.OK


def _show(
    stream: Iterable[Entry],
    keep: Callable[[Mapping[str, object]], bool],
    *,
    as_json: bool,
) -> None:
    for entry in stream:
        if entry.record is None:
            say(f"{entry.path}:{entry.line}: not a whole record (corral log verify)")
            continue
        if keep(entry.record):
            text = entry.raw.decode("utf-8", "replace")
            write_result(text if as_json else event_line(entry.record))


def _selection(args: argparse.Namespace) -> Callable[[Mapping[str, object]], bool]:
    """The filter the options ask for; raises ValueError for a malformed one."""
    since = None if args.since is None else _since(args.since)
    session = None if args.session is None else _session(args.session)
    event = args.event

    def keep(record: Mapping[str, object]) -> bool:
        if session is not None and record.get("session") not in session:
            return False
        if args.run is not None and record.get("run") != args.run:
            return False
        name = str(record.get("event", ""))
        if event is not None and name != event and not name.startswith(event + "."):
            return False
        return since is None or _time_of(record) >= since

    return keep


def _session(text: str) -> set[str]:
    """A session as given, and as a harness's name (``named:`` prefixed)."""
    return {text, f"named:{text}"}


def _since(text: str) -> datetime:
    """Read --since: an age (30m, 2h, 7d) or an ISO 8601 date or time."""
    relative = _RELATIVE.fullmatch(text.strip())
    if relative is not None:
        amount, unit = int(relative.group(1)), _UNITS[relative.group(2)]
        try:
            return datetime.now(UTC) - timedelta(**{unit: amount})
        except OverflowError:
            raise ValueError(
                f"--since {text!r}: reaches before the first year the calendar "
                "holds; give a smaller age or a date"
            ) from None
    try:
        moment = datetime.fromisoformat(text.strip())
        return moment.astimezone(UTC) if moment.tzinfo is None else moment
    except (ValueError, OverflowError):
        raise ValueError(
            f"--since {text!r}: give an ISO 8601 date or time (2026-12-04, "
            "2026-12-04T09:30, 2026-12-04T09:30:00Z) or an age such as 30m, 2h, 7d"
        ) from None


def _time_of(record: Mapping[str, object]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(record.get("time")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _verify(state: Path, *, as_json: bool) -> int:
    result = verify_log(state)
    if as_json:
        write_result(
            json.dumps(
                {
                    "ok": result.ok,
                    "records": result.records,
                    "files": result.files,
                    "first_seq": result.first_seq,
                    "last_seq": result.last_seq,
                    "last_digest": result.last_digest,
                    "breaks": [
                        {
                            "path": str(b.path),
                            "line": b.line,
                            "seq": b.seq,
                            "kind": b.kind,
                            "message": b.message,
                        }
                        for b in result.breaks
                    ],
                },
                sort_keys=True,
            )
        )
        return ExitCode.OK if result.ok else _BROKEN
    for found in result.breaks:
        where = f"{found.path}:{found.line}" if found.line else str(found.path)
        seq = "" if found.seq is None else f" (record {found.seq})"
        write_result(f"broken: {where}{seq}: {found.kind}: {found.message}")
    if not result.ok:
        say(f"the event log's chain is broken in {len(result.breaks)} place(s)")
        return _BROKEN
    span = "empty" if not result.records else f"{result.first_seq}..{result.last_seq}"
    write_result(
        f"ok: {result.records} records in {result.files} file(s), records {span}, "
        f"last digest {result.last_digest or '-'}"
    )
    return ExitCode.OK


def _export(state: Path) -> int:
    from corral.audit._settings import audit_settings  # noqa: PLC0415
    from corral.audit.export._start import export_pending, shown  # noqa: PLC0415 (cost)

    settings = audit_settings()
    endpoint = settings.endpoint
    if endpoint is None:
        say("no collector is named in policy ([audit.export] endpoint); nothing sent")
        return ExitCode.USAGE
    report = export_pending(state, settings, environ=os.environ)
    if report.error is not None:
        say(
            f"export to {shown(endpoint)} failed: {report.error}; {report.pending} "
            "records wait in the local log and go with the next export"
        )
        return int(ExitCode.CORRAL_FAILED)
    dropped = ""
    if report.rejected:
        dropped = f"; the collector dropped {report.rejected} (export.rejected says so)"
    if report.shipped:
        write_result(f"exported {report.shipped} records to {shown(endpoint)}{dropped}")
    elif report.elsewhere:
        write_result(
            f"nothing was pending: the background exporter had sent {report.elsewhere} "
            f"records to {shown(endpoint)}{dropped}"
        )
    else:
        write_result(f"nothing was pending for {shown(endpoint)}{dropped}")
    if report.metrics_error is not None:
        say(f"export to {shown(endpoint)}: {report.metrics_error}; the records went")
        return int(ExitCode.CORRAL_FAILED)
    return ExitCode.OK
