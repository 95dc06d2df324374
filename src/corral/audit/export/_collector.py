"""One OTLP/HTTP collector, spoken to through the SDK's exporters: did it accept?

The exporters reach exactly the endpoint the policy names.  Their HTTP session
ignores the environment (``http_proxy``, ``https_proxy``, ``no_proxy``,
``.netrc``, ``REQUESTS_CA_BUNDLE``), and they are built with no ``OTEL_*``
variable in sight, so neither a proxy variable set for sandboxed tools nor an
``OTEL_EXPORTER_OTLP_*`` one can send the evidence elsewhere or add headers.
A batch counts as accepted only on an HTTP 2xx answer: the SDK also takes a
3xx (it follows no redirect), which would drop the batch on the floor.  A
record that cannot be encoded goes in its last-resort shape, never held back:
it would hold back every record after it; figures that cannot be made into a
request are said to be unsendable, so they are not tried again for ever.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceResponse,
)
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExportResult

from corral.audit._log import chain_of, parse_line
from corral.audit.export._metrics import Tally
from corral.audit.export._otlp import fallback_record, log_record
from corral.audit.export._start import shown

__all__ = ["Collector", "Sent"]

logger = logging.getLogger(__name__)

# The SDK's own loggers say what it retried and why it gave up; corral reports
# the outcome itself (prefixed, once), so theirs are kept for -vv.
_SDK_LOGGER = "opentelemetry"
# How much of an error answer's body (or of an odd exception) a message quotes.
_BODY_EXCERPT = 200
# requests' and urllib3's own errors derive from OSError; the reason is inside.
_WRAPPERS = (requests.RequestException,)


@dataclass(frozen=True)
class Sent:
    """What became of one request: accepted or not, and why not."""

    accepted: bool
    error: str | None = None
    rejected: int = 0
    """Records the collector accepted the request for but dropped (partial success)."""
    message: str = ""
    """What the collector said about the records it dropped."""
    unsendable: bool = False
    """Nothing was sent and sending again cannot help (figures that do not encode)."""


class Collector:
    """The collector at `endpoint` (an OTLP/HTTP base URL), for one export run."""

    def __init__(self, endpoint: str, *, timeout: float) -> None:
        base = endpoint.rstrip("/")
        self.logs_url = f"{base}/v1/logs"
        self.metrics_url = f"{base}/v1/metrics"
        self._logs_session = _Session()
        self._metrics_session = _Session()
        with _without_otel_environment():
            self._logs = OTLPLogExporter(
                endpoint=self.logs_url,
                headers={},
                timeout=timeout,
                compression=Compression.Gzip,
                session=self._logs_session,
            )
            self._metrics = OTLPMetricExporter(
                endpoint=self.metrics_url,
                headers={},
                timeout=timeout,
                compression=Compression.Gzip,
                session=self._metrics_session,
            )
        self._timeout_ms = timeout * 1000

    def send_records(self, lines: Sequence[tuple[bytes, Mapping[str, object]]]) -> Sent:
        """Send the records `lines` (stored bytes, parsed) as one OTLP logs request."""
        batch = _encodable(lines)
        with _sdk_messages() as messages:
            result = self._logs.export(batch)
        sent = self._outcome(
            self._logs_session,
            result is LogRecordExportResult.SUCCESS,
            self.logs_url,
            messages,
        )
        if sent.accepted and self._logs_session.body:
            rejected, message = _rejected_logs(self._logs_session.body)
            return Sent(True, rejected=rejected, message=message)
        return sent

    def send_metrics(self, tally: Tally) -> Sent:
        """Send the figures in `tally` as one OTLP metrics request."""
        try:
            with _without_otel_environment():  # OTEL_SDK_DISABLED would blank them
                data = tally.metrics_data()
            with _sdk_messages():
                encode_metrics(data).SerializeToString()
        except Exception as exc:  # noqa: BLE001 (a fault in the figures, not the collector)
            return Sent(False, f"the figures cannot be sent: {exc}", unsendable=True)
        with _sdk_messages() as messages:
            result = self._metrics.export(data, timeout_millis=self._timeout_ms)
        return self._outcome(
            self._metrics_session,
            result is MetricExportResult.SUCCESS,
            self.metrics_url,
            messages,
        )

    def close(self) -> None:
        """Close the exporters' connections."""
        for exporter in (self._logs, self._metrics):
            with contextlib.suppress(Exception):
                exporter.shutdown()

    @staticmethod
    def _outcome(
        session: _Session, succeeded: bool, url: str, messages: list[str]
    ) -> Sent:
        status, url = session.status, shown(url)
        if succeeded and status is not None and 200 <= status < 300:
            return Sent(True)
        if session.error is not None:
            return Sent(False, f"cannot reach {url}: {session.error}")
        if status is not None:
            excerpt = session.body[:_BODY_EXCERPT].decode(errors="replace")
            shown_body = excerpt.strip()
            said = f" ({shown_body})" if shown_body.isprintable() and shown_body else ""
            return Sent(False, f"{url} answered HTTP {status} {session.reason}{said}")
        why = messages[-1] if messages else "the SDK gave no reason"
        return Sent(False, f"nothing was sent to {url}: {why}")


class _Session(requests.Session):
    """An HTTP session that keeps the last answer and ignores the environment."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self.status: int | None = None
        self.reason = ""
        self.body = b""
        self.error: str | None = None

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        self.status, self.reason, self.body, self.error = None, "", b"", None
        try:
            response = super().request(*args, **kwargs)
        except Exception as exc:
            self.error = _describe(exc)
            raise
        self.status, self.reason = response.status_code, response.reason or ""
        self.body = response.content or b""
        return response


def _describe(exc: BaseException) -> str:
    """Return the innermost reason of a connection failure, not urllib3's chain."""
    if isinstance(exc, requests.Timeout):
        return "no answer in time (timed out)"
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        reason = todo.pop(0)
        if any(reason is known for known in seen):
            continue
        seen.append(reason)
        if isinstance(reason, OSError) and not isinstance(reason, _WRAPPERS):
            return str(reason.strerror or reason)
        nested = [getattr(reason, "reason", None), *reason.args]
        nested += [reason.__cause__, reason.__context__]
        todo += [item for item in nested if isinstance(item, BaseException)]
    return str(exc)[:_BODY_EXCERPT]


def _encodable(
    lines: Sequence[tuple[bytes, Mapping[str, object]]],
) -> list[ReadableLogRecord]:
    """Return the log records for `lines`, each one the protocol can encode."""
    batch = [_log_record(raw, record) for raw, record in lines]
    if _encodes(batch):
        return batch
    # Rare (the mapping is meant to be total): find the records that do not
    # encode and send each as its stored line, keeping its place.
    return [
        one if _encodes([one]) else fallback_record(raw, _seq_of(raw))
        for one, (raw, _) in zip(batch, lines, strict=True)
    ]


def _log_record(raw: bytes, record: Mapping[str, object]) -> ReadableLogRecord:
    try:
        return log_record(raw, record)
    except Exception as exc:  # noqa: BLE001 (the record goes in its fallback shape)
        logger.warning("a record goes as its stored line: %s", exc)
        return fallback_record(raw, _seq_of(raw))


def _encodes(batch: Sequence[ReadableLogRecord]) -> bool:
    try:
        encode_logs(batch).SerializeToString()
    except Exception as exc:  # noqa: BLE001 (what the SDK would fail on)
        logger.debug("a batch does not encode: %s", exc)
        return False
    return True


def _seq_of(raw: bytes) -> object:
    """Return the ``seq`` of the stored line `raw`, found without parsing it whole."""
    with contextlib.suppress(Exception):
        record = parse_line(raw)
        chained = None if record is None else chain_of(record)
        if chained is not None:
            return chained[0]
    return None


def _rejected_logs(body: bytes) -> tuple[int, str]:
    """Return how many records a partial success dropped, and what it said."""
    try:
        answer = ExportLogsServiceResponse.FromString(body)
    except Exception:  # noqa: BLE001 (any body that is not one rejects nothing)
        return 0, ""
    partial = answer.partial_success
    message = partial.error_message[:_BODY_EXCERPT]
    return int(partial.rejected_log_records), message


@contextlib.contextmanager
def _without_otel_environment() -> Iterator[None]:
    """Hide ``OTEL_*`` variables while the SDK reads its configuration from them."""
    names = [name for name in os.environ if name.startswith("OTEL_")]
    hidden = {name: os.environ.pop(name) for name in names}
    try:
        yield
    finally:
        os.environ.update(hidden)


class _Collect(logging.Handler):
    def __init__(self, messages: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        logger.debug("sdk: %s", record.getMessage())


@contextlib.contextmanager
def _sdk_messages() -> Iterator[list[str]]:
    """Collect what the SDK logs meanwhile, instead of letting it print unprefixed."""
    messages: list[str] = []
    sdk = logging.getLogger(_SDK_LOGGER)
    handler, propagate = _Collect(messages), sdk.propagate
    sdk.addHandler(handler)
    sdk.propagate = False
    try:
        yield messages
    finally:
        sdk.removeHandler(handler)
        sdk.propagate = propagate
