"""The event schema: every event corral writes, by its stable name, with its fields.

This table is the contract that ``docs/events.md`` explains; a test holds the
two together and checks every record corral writes against it.  Names and
fields are only ever added within a schema version; a change in meaning or a
removal is a new `SCHEMA_VERSION`.
"""

from __future__ import annotations

import re

from corral._record import Record

__all__ = [
    "AGENT_EVENT_PREFIX",
    "EVENTS",
    "OCCASIONAL_FIELDS",
    "SCHEMA_VERSION",
    "STANDARD_FIELDS",
    "EventSpec",
    "agent_event_name",
    "spec_of",
]

SCHEMA_VERSION = 2
"""Version 2: hash-chained records (``seq``, ``prev``), ids, sessions, agents."""

STANDARD_FIELDS: dict[str, str] = {
    "v": "schema version of the record",
    "seq": "position in the log: 1 for the first record ever, then consecutive",
    "prev": "sha256 (hex) of the previous record's line; 64 zeros for the first",
    "id": "the event's own id (16 hex digits); other events name it as a cause",
    "event": "the event's name, one of this table",
    "time": "when it was recorded, UTC, RFC 3339 with milliseconds",
    "session": "the agent session: named:NAME (CORRAL_SESSION) or sid:SID:START",
    "agent": "the agent's name (CORRAL_AGENT), or null when not given",
    "user": "login name of the effective uid that recorded it",
    "uid": "that effective uid",
    "host": "host name of the machine",
    "pid": "process id of the corral process that recorded it",
}

OCCASIONAL_FIELDS: dict[str, str] = {
    "witness_rebuilt": "on the first record after the log's witness was found "
    "missing, unreadable or empty, and rebuilt from the log: why; records cut "
    "from the end before this one would not show (corral log verify reports it)",
}
"""Fields any record may carry, beside the standard ones and its event's."""

AGENT_EVENT_PREFIX = "agent."
# A harness's own event kinds: short, lower-case, dotted words.
# As text: `re` compiles it on first use, and keeps it.
_AGENT_KIND = r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,3}"
_AGENT_KIND_LIMIT = 64


class EventSpec(Record):
    """One event: when it is written, and the fields it carries beside the standard."""

    __slots__ = ("when", "fields")  # noqa: RUF023 (as their repr shows them)
    when: str
    fields: dict[str, str]

    def __init__(self, when: str, fields: dict[str, str]) -> None:
        self._init(when=when, fields=fields)


_RUN = {"run": "the run id (16 hex digits) every event of one command shares"}
_ARGV = {"argv": "the command as given, one string per word (redacted)"}
_OUTCOME = {
    "decision": "allow, prompt or forbid: the classification",
    "approval": "who let it run: {by: policy} | {by: person, scope, approver, "
    "via, ...} | {by: caller, classified: false} (library runs)",
}
_REQUEST = {
    "request": "the approval request's id (what corral approve takes)",
    "fingerprint": "sha256 of exactly what would run (argv, cwd, boundary, "
    "scripts); an approval applies to it alone",
}
_ANSWER = {
    "run": "the run that waited for the answer (answers at the terminal)",
    **_REQUEST,
    **_ARGV,
    "cwd": "the working directory the command asked for",
    "workspace": "the workspace's top directory",
    "boundary": "the policy values the command would run under",
    "requested_by": "who ran the command that asked",
    "parts": "the deciding parts (see command.decided)",
    "scope": "once, session or always",
    "approver": "the login name of the person who answered",
    "via": "terminal (asked while the command waited) or corral approve",
    "rule_file": "the policy file an always answer added its rules to",
}
_NETWORK = {
    **_RUN,
    **_ARGV,
    "workspace": "the run's workspace",
    "connection": "the connection's id (16 hex digits)",
    "method": "CONNECT, or the HTTP method of a plain request",
    "name": "the destination host as the command named it",
    "port": "the destination port",
    "addresses": "the addresses the name resolved to",
    "address": "the address connected to",
    "decision": "allow or refuse",
    "rule": "the allow or deny entry that decided, with its file",
    "origin": "where that entry came from (a preset, a policy file)",
    "reason": "why, in words",
    "address_rule": "the address class or entry that refused an address",
}

EVENTS: dict[str, EventSpec] = {
    "policy.loaded": EventSpec(
        "a corral process takes a policy into force (once per process and policy)",
        {
            "policy_digest": "sha256:HEX over the effective values and rules",
            "sources": "the policy files merged, strictest layer first",
            "sandbox_mode": "read-only, workspace-write or full-access",
            "network_mode": "offline, allow-list or online",
            "workspace": "the workspace the policy was read for",
        },
    ),
    "command.requested": EventSpec(
        "corral run is given a command, before anything is decided",
        {
            **_RUN,
            **_ARGV,
            "cwd": "the working directory",
            "workspace": "the workspace's top directory",
            "git_head": "{ref, commit} of the workspace's repository, or null",
            "parts": "the commands the shell would run, as parsed: [{argv, literal}]",
            "cause": "id of the event that led to it (CORRAL_CAUSE), or null",
        },
    ),
    "command.decided": EventSpec(
        "the classifier decided; before any question or refusal",
        {
            **_RUN,
            **_ARGV,
            "decision": "allow, prompt or forbid: the strictest part's",
            "category": "the deciding part's category (e.g. git-write, network)",
            "rule": "the rule that decided: built-in: NAME or FILE: rules[N]",
            "reason": "the reason shown to the person and the agent",
            "parts": "every part: {argv, literal, category, decision, rule, "
            "reason, scripts}",
            "fingerprint": _REQUEST["fingerprint"],
        },
    ),
    "approval.asked": EventSpec(
        "a person is asked at the terminal, or a request is left for corral approve",
        {
            **_RUN,
            **_REQUEST,
            **_ARGV,
            "via": "terminal or corral approve",
            "scopes": "the answers offered (once, session, always)",
        },
    ),
    "approval.granted": EventSpec("a person approved a command", _ANSWER),
    "approval.declined": EventSpec("a person declined a command", _ANSWER),
    "command.refused": EventSpec(
        "the command does not run: forbidden, declined, or waiting for approval",
        {
            **_RUN,
            **_ARGV,
            "cwd": "the working directory",
            "workspace": "the workspace's top directory",
            "boundary": "the policy values it would have run under",
            "refused": "why, in words",
            "decision": "prompt or forbid",
            "parts": "every part, as in command.decided",
            "fingerprint": _REQUEST["fingerprint"],
            "request": "the request to approve, when one was left",
        },
    ),
    "command.started": EventSpec(
        "the sandbox is set up and the command is about to start",
        {
            **_RUN,
            **_ARGV,
            **_OUTCOME,
            "cwd": "the working directory",
            "workspace": "the workspace's top directory",
            "profile": "the boundary in force: {mode, network, layers, "
            "missing_accepted, writable_roots, unix_sockets, git_write}",
            "network": "allow-list runs: what the run may reach, presets as read",
            "parts": "as in command.decided (corral run)",
            "fingerprint": _REQUEST["fingerprint"],
        },
    ),
    "command.finished": EventSpec(
        "the command and everything it started have ended",
        {
            **_RUN,
            **_ARGV,
            **_OUTCOME,
            "workspace": "the workspace's top directory",
            "profile": "as in command.started",
            "exit_status": "the status corral run exits with",
            "signal": "the signal that ended the command, or null",
            "signal_name": "its name (SIGKILL), or null",
            "timed_out": "whether the time limit ended it",
            "duration_ms": "from start to the end of its whole process tree",
            "left_running": "processes still running when the command ended, "
            "killed with the sandbox; null where corral cannot count them",
            "left_names": "their names, the first few",
            "mounts_lost": "mount points of the sandbox removed from the host "
            "while the command ran (a path renamed over or deleted there), "
            "whereupon corral killed it",
            "stdout_bytes": "bytes written to stdout, or null when corral did "
            "not see the stream",
            "stderr_bytes": "bytes written to stderr, or null likewise",
            "refusals": "kinds of what the sandbox refused, read from stderr",
            "new_git_dirs": "git directories the command created",
            "read_only_git_dirs": "git directories kept read-only, and why",
            "exec_todos": "stopped rebases with exec lines left behind",
            "scan_error": "why the scan for new git directories failed, or null",
            "proxy_lost": "whether the network proxy ended during the run",
        },
    ),
    "command.error": EventSpec(
        "a started command's run failed in corral (no command.finished follows)",
        {
            **_RUN,
            **_ARGV,
            **_OUTCOME,
            "workspace": "the workspace's top directory",
            "profile": "as in command.started",
            "error": "corral's message",
        },
    ),
    "network.opened": EventSpec(
        "an allowed connection is about to pass its first byte",
        _NETWORK,
    ),
    "network.connection": EventSpec(
        "a connection attempt through the proxy ended, allowed or refused",
        {
            **_NETWORK,
            "code": "the proxy's answer to a refused attempt (403, 502, ...)",
            "asked": "whether a person was asked",
            "bytes_up": "bytes from the command to the destination",
            "bytes_down": "bytes from the destination to the command",
            "duration_ms": "how long the connection lasted",
        },
    ),
    "export.failed": EventSpec(
        "export to the collector failed; once per streak of failures",
        {
            "endpoint": "the collector's base URL",
            "error": "why",
            "pending": "records waiting to be exported",
            "after_seq": "the last record the collector accepted",
        },
    ),
    "export.rejected": EventSpec(
        "the collector accepted a batch but said it dropped some of its records "
        "(not sent again: it would drop them again)",
        {
            "endpoint": "the collector's base URL",
            "rejected": "how many records of the batch it dropped",
            "message": "what the collector said about them",
            "first_seq": "the first record of the batch",
            "last_seq": "the last record of the batch",
        },
    ),
    "export.resumed": EventSpec(
        "export works again after export.failed",
        {
            "endpoint": "the collector's base URL",
            "shipped": "records exported now",
            "failed_since": "when the failures began",
        },
    ),
    "corral.error": EventSpec(
        "corral could not do what it was asked before any command started",
        {
            "subcommand": "run, approve or event",
            "arguments": "corral's own arguments (redacted)",
            "error": "corral's message",
            "exit_status": "the status corral exits with",
        },
    ),
}
AGENT_EVENT = EventSpec(
    "a harness records its own event (a prompt, a tool call): agent.KIND",
    {
        "data": "the harness's fields, as given (redacted)",
        "cause": "id of the event that led to it, or null",
    },
)


def agent_event_name(kind: str) -> str:
    """Return the event name for a harness's `kind`; raise ValueError if malformed."""
    if len(kind) > _AGENT_KIND_LIMIT or not re.fullmatch(_AGENT_KIND, kind):
        raise ValueError(
            f"event kind {kind[:80]!r} is not lower-case dotted words "
            "(e.g. prompt, tool_call, tool.result)"
        )
    return AGENT_EVENT_PREFIX + kind


def spec_of(event: str) -> EventSpec | None:
    """Return the specification of `event`, or None for a name not in the schema."""
    if event.startswith(AGENT_EVENT_PREFIX):
        return AGENT_EVENT
    return EVENTS.get(event)
