"""One event as a person reads it: a line of aligned columns, then what happened.

Every value shown comes from the log, written partly by commands, so control
characters are spelled out: a record cannot steer the terminal that shows it.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from datetime import datetime

from corral.cli._prompt import printable

__all__ = ["event_line"]

_EVENT_WIDTH = 18
_SESSION_WIDTH = 14
# An argv longer than this is cut in the view; --json has it whole.
_ARGV_WIDTH = 100


def event_line(record: Mapping[str, object]) -> str:
    """Return the aligned one-line view of `record`."""
    event = str(record.get("event", "?"))
    describe = _SUMMARIES.get(event)
    if describe is None and event.startswith("agent."):
        describe = _agent
    text = describe(record) if describe is not None else ""
    columns = (
        _local_time(record.get("time")),
        _short(str(record.get("session", "-")), _SESSION_WIDTH).ljust(_SESSION_WIDTH),
        event.ljust(_EVENT_WIDTH),
        text,
    )
    return printable("  ".join(columns).rstrip())


def _local_time(value: object) -> str:
    """The record's UTC time in the reader's local time, to the second."""
    if not isinstance(value, str):
        return "-".ljust(19)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)[:19].ljust(19)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _argv(record: Mapping[str, object]) -> str:
    argv = record.get("argv")
    if not isinstance(argv, list):
        return ""
    return _short(shlex.join(str(word) for word in argv), _ARGV_WIDTH)


def _requested(record: Mapping[str, object]) -> str:
    head = record.get("git_head")
    at = ""
    if isinstance(head, Mapping) and head.get("commit"):
        at = f"  @{str(head['commit'])[:12]}"
    return f"{_argv(record)}{at}"


def _decided(record: Mapping[str, object]) -> str:
    why = f"{record.get('category', '')}: {record.get('reason', '')}"
    rule = record.get("rule", "")
    return f"{record.get('decision', '?')}  {_argv(record)}  ({why}; {rule})"


def _approval(record: Mapping[str, object]) -> str:
    who = record.get("approver") or record.get("via") or ""
    scope = record.get("scope") or "/".join(str(x) for x in _list(record.get("scopes")))
    return f"{record.get('request', '')}  {scope}  {who}  {_argv(record)}".strip()


def _refused(record: Mapping[str, object]) -> str:
    return f"{record.get('refused', '')}  {_argv(record)}"


def _started(record: Mapping[str, object]) -> str:
    profile = record.get("profile")
    boundary = ""
    if isinstance(profile, Mapping):
        layers = ",".join(str(x) for x in _list(profile.get("layers")))
        boundary = f"{profile.get('mode', '')} {profile.get('network', '')} [{layers}]"
    approval = record.get("approval")
    by = approval.get("by", "") if isinstance(approval, Mapping) else ""
    return f"{_argv(record)}  {boundary}  by {by}"


def _finished(record: Mapping[str, object]) -> str:
    status = f"exit {record.get('exit_status', '?')}"
    if record.get("signal_name"):
        status += f" ({record['signal_name']})"
    if record.get("timed_out"):
        status += " timed out"
    seconds = float(str(record.get("duration_ms") or 0)) / 1000
    left = record.get("left_running")
    killed = f"  {left} left running, killed" if isinstance(left, int) and left else ""
    kinds = ",".join(str(kind) for kind in _list(record.get("refusals")))
    refused = f"  kernel refused: {kinds}" if kinds else ""
    return f"{status}  {seconds:.2f} s{killed}{refused}  {_argv(record)}"


def _error(record: Mapping[str, object]) -> str:
    return f"{record.get('error', '')}  {_argv(record)}"


def _network(record: Mapping[str, object]) -> str:
    where = f"{record.get('name', '?')}:{record.get('port', '?')}"
    text = f"{record.get('decision', '?')} {record.get('method', '')} {where}"
    if record.get("event") == "network.connection":
        text += f"  ({record.get('reason', '')})"
        if record.get("decision") == "allow":
            up, down = record.get("bytes_up", 0), record.get("bytes_down", 0)
            text += f"  {up} B up, {down} B down"
    return text


def _policy(record: Mapping[str, object]) -> str:
    digest = str(record.get("policy_digest", ""))[:19]
    mode = f"{record.get('sandbox_mode', '')} {record.get('network_mode', '')}"
    return f"{mode}  {digest}  {record.get('workspace', '')}"


def _export(record: Mapping[str, object]) -> str:
    endpoint = record.get("endpoint", "")
    if record.get("event") == "export.failed":
        return f"{endpoint}: {record.get('error', '')}"
    if record.get("event") == "export.rejected":
        span = f"records {record.get('first_seq')}..{record.get('last_seq')}"
        dropped = f"dropped {record.get('rejected', '?')} of {span}"
        return f"{endpoint}: {dropped}: {record.get('message', '')}"
    return f"{endpoint}: {record.get('shipped', 0)} records shipped"


def _agent(record: Mapping[str, object]) -> str:
    data = record.get("data")
    if not isinstance(data, Mapping):
        return ""
    shown = "  ".join(f"{key}={value}" for key, value in data.items())
    return _short(shown, _ARGV_WIDTH)


_SUMMARIES: dict[str, Callable[[Mapping[str, object]], str]] = {
    "policy.loaded": _policy,
    "command.requested": _requested,
    "command.decided": _decided,
    "approval.asked": _approval,
    "approval.granted": _approval,
    "approval.declined": _approval,
    "command.refused": _refused,
    "command.started": _started,
    "command.finished": _finished,
    "command.error": _error,
    "corral.error": _error,
    "network.opened": _network,
    "network.connection": _network,
    "export.failed": _export,
    "export.resumed": _export,
    "export.rejected": _export,
}
