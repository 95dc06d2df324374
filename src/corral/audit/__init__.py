"""Evidence: the event records corral writes for every command it decides on."""

from __future__ import annotations

from corral.audit._record import (
    EVENT_SCHEMA_VERSION,
    append_event,
    events_path,
    record_event,
)

__all__ = ["EVENT_SCHEMA_VERSION", "append_event", "events_path", "record_event"]
