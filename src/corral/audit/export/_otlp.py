"""Records in OpenTelemetry's shape: each event an OTLP log record, its figures metrics.

Only the exporting process imports this module: the SDK takes a while to
import, and no command waits for it.  `Collector` speaks OTLP/HTTP (protobuf)
to one endpoint through the SDK's exporters and says whether it accepted.

Each record becomes one log record: the body is the whole record (a map), the
attributes name the event and its place in the chain (``event.name``,
``corral.seq``, ``corral.digest``, ``corral.prev``, ``corral.session``,
``corral.run``), the timestamp is the record's ``time`` (none for a time OTLP
cannot carry, before 1970 or after 2554: the observed time stays), and the
resource says who sent it (``service.name`` corral, ``service.version``,
``host.name``, ``user.name``).  A batch sent again after a failure carries the same
``corral.digest`` values, so a collector can tell a resend from a new record.

The mapping is total, since one record the protocol cannot carry would stop
every record after it: undecodable bytes (lone surrogates) travel as visible
``\\udcff`` escapes, a subtree nested deeper than `MAX_DEPTH` as its JSON
text, and a record that still cannot be encoded as `fallback_record`.
"""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Mapping
from datetime import UTC, datetime

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.util.types import AnyValue

import corral
from corral._home import user_name

__all__ = [
    "MAX_DEPTH",
    "SERVICE_NAME",
    "escaped",
    "fallback_record",
    "log_record",
    "resource",
    "scope",
    "severity",
]

SERVICE_NAME = "corral"
# OTLP integers are signed 64-bit; a larger JSON number travels as its digits.
_INT64 = range(-(2**63), 2**63)
# OTLP times are unsigned 64-bit nanoseconds since 1970: up to 2554-07-21.
_UINT64 = range(2**64)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_DEPTH = 20
"""Levels of maps and lists a body keeps as such; deeper, a value goes as its JSON
text.  Protobuf refuses messages nested past 100 levels, a map level costs three
(value, list of pairs, pair) and the request wraps the body in five more."""

# Events that say something was refused or went wrong, by how bad it is.
_WARN_EVENTS = frozenset({"command.refused", "export.failed", "export.rejected"})
_ERROR_EVENTS = frozenset({"command.error", "corral.error"})


def log_record(raw: bytes, record: Mapping[str, object]) -> ReadableLogRecord:
    """Return the OTLP log record for one stored line `raw` and its parsed `record`."""
    event = escaped(str(record.get("event", "")))
    number, text = severity(record)
    attributes: dict[str, AnyValue] = {
        "event.name": event,
        "corral.seq": _integer(record.get("seq")),
        "corral.digest": hashlib.sha256(raw).hexdigest(),
    }
    for key in ("prev", "session", "run"):
        value = record.get(key)
        if isinstance(value, str):
            attributes[f"corral.{key}"] = escaped(value)
    return ReadableLogRecord(
        LogRecord(
            timestamp=_timestamp(record.get("time")),
            severity_number=number,
            severity_text=text,
            body=_any_value(record, 1),
            attributes=attributes,
            event_name=event,
        ),
        resource=resource(_text(record.get("host")), _text(record.get("user"))),
        instrumentation_scope=scope(),
    )


def fallback_record(raw: bytes, seq: object) -> ReadableLogRecord:
    """Return the last-resort record for line `raw`: its text as the body.

    For a record `log_record` could not make into something the protocol
    encodes; it keeps the record's place (``corral.seq``, ``corral.digest``).
    """
    return ReadableLogRecord(
        LogRecord(
            body=raw.decode("utf-8", "backslashreplace"),
            severity_number=SeverityNumber.INFO,
            severity_text="INFO",
            attributes={
                "corral.seq": _integer(seq),
                "corral.digest": hashlib.sha256(raw).hexdigest(),
            },
        ),
        resource=resource(),
        instrumentation_scope=scope(),
    )


def severity(record: Mapping[str, object]) -> tuple[SeverityNumber, str]:
    """Return how severe `record` is: ERROR, WARN for refusals, INFO otherwise."""
    event = record.get("event")
    if not isinstance(event, str):
        return SeverityNumber.INFO, "INFO"
    if event in _ERROR_EVENTS:
        return SeverityNumber.ERROR, "ERROR"
    refused = event == "network.connection" and record.get("decision") == "refuse"
    if event in _WARN_EVENTS or refused:
        return SeverityNumber.WARN, "WARN"
    return SeverityNumber.INFO, "INFO"


_resources: dict[tuple[str | None, str | None], Resource] = {}


def resource(host: str | None = None, user: str | None = None) -> Resource:
    """Return the resource for records written on `host` by `user` (default: here)."""
    key = (host, user)
    if key not in _resources:
        # Built directly, not with Resource.create: no detector and no
        # OTEL_RESOURCE_ATTRIBUTES from whatever environment runs the exporter.
        _resources[key] = Resource(
            {
                "service.name": SERVICE_NAME,
                "service.version": corral.__version__,
                "host.name": host or socket.gethostname(),
                "user.name": user or user_name(),
            }
        )
    return _resources[key]


def scope() -> InstrumentationScope:
    """Return the instrumentation scope every record and metric is sent under."""
    return InstrumentationScope("corral.audit", corral.__version__)


def _any_value(value: object, depth: int) -> AnyValue:
    """Return `value` (parsed JSON), at nesting level `depth`, as the SDK encodes it."""
    if isinstance(value, Mapping | list | tuple) and depth > MAX_DEPTH:
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    if isinstance(value, Mapping):
        return {
            escaped(str(key)): _any_value(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_any_value(item, depth + 1) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value in _INT64 else str(value)
    if value is None or isinstance(value, bool | float):
        return value
    return escaped(str(value))


def escaped(text: str) -> str:
    """Return `text` as UTF-8 can carry it: a lone surrogate becomes ``\\udcff``."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode()
    return text


def _integer(value: object) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value in _INT64:
        return value
    return str(value)


def _text(value: object) -> str | None:
    return escaped(value) if isinstance(value, str) and value else None


def _timestamp(value: object) -> int | None:
    """Return the record's time in nanoseconds since the epoch, None if unreadable.

    None too for a time OTLP cannot carry (before 1970, after 2554).
    """
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # a time without a zone names no instant
    since = moment - _EPOCH
    nanoseconds = (since.days * 86_400 + since.seconds) * 10**9
    nanoseconds += since.microseconds * 1000
    return nanoseconds if nanoseconds in _UINT64 else None
