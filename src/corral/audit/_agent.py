"""Events a harness records itself: the prompt, the tool call, what led to a command.

They go into the same chained log as corral's own, named ``agent.<kind>``,
with the harness's fields under ``data`` (so none can pose as a standard
field) and the id of the event that caused them, if any.
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
from corral.errors import CorralError

__all__ = ["MAX_DATA_BYTES", "record_agent_event"]

MAX_DATA_BYTES = 64 * 1024
"""A harness's fields per event, as JSON: a prompt fits, a transcript does not."""


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
        raise CorralError(str(exc)) from None
    if cause is not None and not EVENT_ID_PATTERN.fullmatch(cause):
        raise CorralError(
            f"cause {cause[:80]!r} is not an event id (16 hex digits, as corral "
            "event prints it)"
        )
    fields = dict(data or {})
    try:
        size = len(json.dumps(fields, ensure_ascii=True, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise CorralError(f"event data is not plain JSON: {exc}") from None
    if size > MAX_DATA_BYTES:
        raise CorralError(
            f"event data is {size} bytes as JSON, over {MAX_DATA_BYTES}; record "
            "a digest or a reference to the text instead of the text"
        )
    where = state if state is not None else state_dir(env)
    recorded = record_event(where, name, {"data": fields, "cause": cause}, environ=env)
    return recorded.id
