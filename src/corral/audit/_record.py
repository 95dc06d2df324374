"""The one writer of events: who, where and when, masked secrets, then the chained log.

Every event corral writes goes through `record_event`: the standard fields
(see `corral.audit._schema`) are corral's own and come last, so no field a
caller passes can replace them; secrets are masked by the policy's redaction
rules; `EventLog` appends the record to the hash chain.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from corral._home import user_name
from corral._session import agent_name, session_id
from corral.audit._log import EventLog
from corral.audit._settings import audit_settings
from corral.audit.redact import Redactor
from corral.errors import CorralError
from corral.policy import Policy, policy_digest

__all__ = ["Recorded", "new_id", "record_event", "record_policy_loaded"]

# Event and run ids: 64 random bits, enough that a log never holds two alike.
_ID_BYTES = 8


@dataclass(frozen=True)
class Recorded:
    """Where an event went: its id, its place in the chain and its digest."""

    id: str
    seq: int
    digest: str


class _FromEnviron:
    """The default of `record_event`'s agent: what the environment names."""


FROM_ENVIRON = _FromEnviron()


def new_id() -> str:
    """Return a fresh event or run id (16 hex digits)."""
    # What secrets.token_hex returns, without the modules secrets imports.
    return os.urandom(_ID_BYTES).hex()


def _utc_now() -> str:
    """Return the time now in UTC to the millisecond: ``2025-01-31T12:34:56.789Z``.

    The text ``datetime.now(UTC).isoformat(timespec="milliseconds")`` gives,
    without importing datetime for it.
    """
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    t = time.gmtime(seconds)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}."
        f"{nanoseconds // 1_000_000:03d}Z"
    )


def record_event(
    state: Path,
    event: str,
    fields: Mapping[str, object],
    *,
    environ: Mapping[str, str] | None = None,
    session: str | None = None,
    agent: str | _FromEnviron | None = FROM_ENVIRON,
) -> Recorded:
    """Append the event `event` with `fields` and who, where and when it happened.

    `session` and `agent` default to what `environ` (the process's
    environment) names; the proxy passes those of the run it serves.
    Raises `CorralError` when the record cannot be written: corral does not
    act on a decision it cannot record.
    """
    env = os.environ if environ is None else environ
    settings = audit_settings(env)
    event_id = new_id()
    record = {
        **_redactor(settings.redact, _secret_items(env)).redact(dict(fields)),
        "id": event_id,
        "event": event,
        "time": _utc_now(),
        "session": session if session is not None else session_id(env),
        "agent": agent_name(env) if isinstance(agent, _FromEnviron) else agent,
        "user": user_name(),
        "uid": os.geteuid(),
        # What socket.gethostname() returns on Linux, without importing socket.
        "host": os.uname().nodename,
        "pid": os.getpid(),
    }
    log = EventLog(state, rotate_bytes=settings.rotate_bytes)
    try:
        appended = log.append(record)
    except OSError as exc:
        raise CorralError(
            f"the event record cannot be written to {log.current}: {exc}; corral "
            "acts on nothing it cannot record"
        ) from exc
    return Recorded(id=event_id, seq=appended.seq, digest=appended.digest)


# Policies recorded by this process, by (state directory, digest): a process
# says once which policy it put in force, not before every command.
_loaded: set[tuple[Path, str]] = set()


def record_policy_loaded(
    state: Path,
    policy: Policy,
    workspace: Path,
    *,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Record ``policy.loaded`` for `policy` unless this process already did."""
    digest = policy_digest(policy)
    if (state, digest) in _loaded:
        return
    record_event(
        state,
        "policy.loaded",
        {
            "policy_digest": digest,
            "sources": list(policy.sources),
            "sandbox_mode": str(policy.sandbox_mode),
            "network_mode": str(policy.network_mode),
            "workspace": str(workspace),
        },
        environ=environ,
    )
    _loaded.add((state, digest))


def _secret_items(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The environment, as a key for the redactor cache (it masks secrets' values)."""
    return tuple(sorted(environ.items()))


@functools.lru_cache(maxsize=8)
def _redactor(
    patterns: tuple[str, ...], environ: tuple[tuple[str, str], ...]
) -> Redactor:
    return Redactor(patterns, dict(environ))
