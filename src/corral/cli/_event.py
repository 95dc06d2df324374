"""``corral event``: a harness records its own event (a prompt, a tool call).

It prints the new event's id; a harness passes it as ``CORRAL_CAUSE`` to the
``corral run`` that follows, so the trail explains each command by the
request that led to it.  Every malformed input (kind, cause, data) is a usage
error: exit 2, a message, and nothing recorded.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from corral.audit._agent import (
    MAX_DATA_DEPTH,
    AgentEventError,
    check_data,
    record_agent_event,
)
from corral.audit._schema import agent_event_name
from corral.cli._output import say, write_result
from corral.errors import ExitCode

__all__ = ["add_parser", "event"]


def add_parser(subparsers: Any) -> None:
    """Register ``corral event``."""
    parser = subparsers.add_parser(
        "event",
        help="record the agent's own event (a prompt, a tool call)",
        description="Record agent.KIND in the event log and print its id.",
    )
    parser.add_argument("kind", help="lower-case dotted words: prompt, tool_call")
    parser.add_argument(
        "--field",
        "-f",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a string field (repeatable)",
    )
    parser.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="JSON",
        help="fields as a JSON object ('-': read stdin); once",
    )
    parser.add_argument("--cause", metavar="ID", help="the event that led to this one")
    parser.set_defaults(handler=event)


def event(args: argparse.Namespace) -> int:
    """Record the event named on the command line; print its id."""
    try:
        agent_event_name(args.kind)
        data = _data(args)
        check_data(data)
        recorded = record_agent_event(args.kind, data, cause=args.cause)
    except (ValueError, AgentEventError) as exc:
        say(str(exc))
        return ExitCode.USAGE
    write_result(recorded)
    return ExitCode.OK


def _data(args: argparse.Namespace) -> dict[str, object]:
    """Return the fields of --data and --field; raise ValueError for a malformed one."""
    data: dict[str, object] = {}
    if len(args.data) > 1:
        raise ValueError("give --data once (one JSON object); add --field for more")
    if args.data:
        data.update(_parsed(args.data[0]))
    for item in args.field:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--field {item!r}: give KEY=VALUE")
        data[key] = value
    return data


def _parsed(given: str) -> dict[str, object]:
    # Bytes that are not UTF-8 are kept as the command line keeps them.
    text = stdin_text() if given == "-" else given
    try:
        parsed = json.loads(text)
    except RecursionError:
        raise ValueError(
            "--data is nested too deep to read: event data is nested over "
            f"{MAX_DATA_DEPTH} levels"
        ) from None
    except ValueError as exc:
        raise ValueError(f"--data is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError("--data must be a JSON object")  # noqa: TRY004 (a usage error, as bad JSON is)
    return parsed


def stdin_text() -> str:
    """Return standard input as text, undecodable bytes kept (as in argv)."""
    return sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
