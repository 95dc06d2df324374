"""Events a harness records itself: the prompt, the tool call, what led to a command.

They go into the same chained log as corral's own, named ``agent.<kind>``,
with the harness's fields under ``data`` (so none can pose as a standard
field) and the id of the event that caused them, if any.  Data that is not
plain JSON, too big or nested too deep is refused before anything is written:
the exporter and every reader of the log can then take each record as it is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from corral._session import EVENT_ID_PATTERN
from corral._state import state_dir
from corral.audit._record import record_event
from corral.audit._schema import agent_event_name
from corral.errors import CorralError, ExitCode

__all__ = ["MAX_DATA_BYTES", "MAX_DATA_DEPTH", "AgentEventError", "record_agent_event"]

MAX_DATA_BYTES = 64 * 1024
"""A harness's fields per event, as JSON: a prompt fits, a transcript does not."""
MAX_DATA_DEPTH = 16
"""Levels of nesting in a harness's fields (the object itself is level 1): ample
for a tool call's arguments, and well within what JSON readers, the redactor
and the OTLP protocol (which refuses messages nested past 100) all take."""


class AgentEventError(CorralError):
    """The harness's event is malformed (kind, cause or data); nothing is recorded."""

    exit_code = ExitCode.USAGE


def record_agent_event(
    kind: str,
    data: Mapping[str, object] | None = None,
    *,
    cause: str | None = None,
    environ: Mapping[str, str] | None = None,
    state: Path | None = None,
) -> str:
    """Record the harness's event ``agent.<kind>`` with `data`; return its id.

    Name the id as ``CORRAL_CAUSE`` (or `cause` of a later event) for what
    follows from it.  Raises `CorralError` for a malformed kind, cause or
    data, and when the record cannot be written.
    """
    env = os.environ if environ is None else environ
    try:
        name = agent_event_name(kind)
    except ValueError as exc:
        raise AgentEventError(str(exc)) from None
    if cause is not None and not EVENT_ID_PATTERN.fullmatch(cause):
        raise AgentEventError(
            f"cause {cause[:80]!r} is not an event id (16 hex digits, as corral "
            "event prints it)"
        )
    fields = dict(data or {})
    check_data(fields)
    where = state if state is not None else state_dir(env)
    recorded = record_event(where, name, {"data": fields, "cause": cause}, environ=env)
    return recorded.id


def check_data(fields: Mapping[str, object]) -> None:
    """Raise `AgentEventError` unless `fields` is plain JSON, small and shallow."""
    if _deeper_than(fields, MAX_DATA_DEPTH):
        raise AgentEventError(
            f"event data is nested over {MAX_DATA_DEPTH} levels; flatten it, or "
            "record the structure as a JSON string"
        )
    try:
        size = len(json.dumps(fields, ensure_ascii=True, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise AgentEventError(f"event data is not plain JSON: {exc}") from None
    if size > MAX_DATA_BYTES:
        raise AgentEventError(
            f"event data is {size} bytes as JSON, over {MAX_DATA_BYTES}; record "
            "a digest or a reference to the text instead of the text"
        )


def _deeper_than(value: object, limit: int) -> bool:
    """Whether `value` nests maps and lists more than `limit` levels (no recursion)."""
    todo: list[tuple[object, int]] = [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, Mapping):
            children: list[object] = list(item.values())
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            continue
        if level > limit:
            return True
        todo += [(child, level + 1) for child in children]
    return False
