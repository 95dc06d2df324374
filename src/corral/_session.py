"""Who a run belongs to: the agent's session, the agent's name, the event behind it.

A harness names these in the environment it starts corral with
(``CORRAL_SESSION``, ``CORRAL_AGENT``, ``CORRAL_CAUSE``); without them the
session is the process's own, and the agent and cause are unknown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["EVENT_ID_PATTERN", "agent_name", "cause_of", "session_id"]

# What an event id looks like (`corral.audit` makes them): a cause named in
# the environment that is not one is ignored rather than recorded.
EVENT_ID_PATTERN = re.compile(r"[0-9a-f]{16}")
# An agent's name is a label, not a message: long or odd names are cut.
_AGENT_NAME_LIMIT = 64
_AGENT_NAME = re.compile(r"[^\w.@+:/-]")


def session_id(environ: Mapping[str, str]) -> str:
    """Return the id of the session a run belongs to.

    A harness names its session in ``CORRAL_SESSION``; otherwise it is the
    process's session, told apart from a later one with the same number by
    its leader's start time.
    """
    named = environ.get("CORRAL_SESSION", "").strip()
    if named:
        return f"named:{named}"
    sid = os.getsid(0)
    try:
        stat = Path(f"/proc/{sid}/stat").read_text()
        started = stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        started = "unknown"
    return f"sid:{sid}:{started}"


def agent_name(environ: Mapping[str, str]) -> str | None:
    """Return the agent's name from ``CORRAL_AGENT``, or None when not given."""
    name = _AGENT_NAME.sub("_", environ.get("CORRAL_AGENT", "").strip())
    return name[:_AGENT_NAME_LIMIT] or None


def cause_of(environ: Mapping[str, str]) -> str | None:
    """Return the id of the event that led to this run (``CORRAL_CAUSE``), if any.

    A harness records the agent's own event (a prompt, a tool call) with
    ``corral event``, which prints its id, and names it here for the commands
    that follow from it.
    """
    cause = environ.get("CORRAL_CAUSE", "").strip()
    return cause if EVENT_ID_PATTERN.fullmatch(cause) else None
