"""Evidence: the event records corral writes for every command it decides on."""

from __future__ import annotations

from corral.audit._agent import record_agent_event
from corral.audit._record import (
    Recorded,
    new_id,
    record_event,
    record_policy_loaded,
)
from corral.audit._schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "Recorded",
    "new_id",
    "record_agent_event",
    "record_event",
    "record_policy_loaded",
]
