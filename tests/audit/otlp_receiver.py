"""A real OTLP/HTTP receiver on loopback for the export tests.

It listens on 127.0.0.1 in a thread, takes ``POST /v1/logs`` and
``POST /v1/metrics`` as a collector does (protobuf, gzip or not), decodes them
with the protocol's own message classes and keeps what arrived.  A test sets
`status` to make it refuse (`metrics_status` for the metrics alone), and may stop
it and start it again on its port.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

__all__ = ["Arrived", "Receiver", "any_value", "attributes"]

# How long `wait_for` waits unless told: a detached exporter starts a Python.
WAIT_SECONDS = 30.0
# How often the server looks whether it is asked to stop.
_POLL = 0.05


@dataclass(frozen=True)
class Arrived:
    """One log record as the receiver decoded it, with its resource's attributes."""

    resource: dict[str, object]
    scope: str
    record: LogRecord

    @property
    def attributes(self) -> dict[str, object]:
        return attributes(self.record.attributes)

    @property
    def body(self) -> object:
        return any_value(self.record.body)


class Receiver:
    """An OTLP/HTTP receiver at `url` (the base URL an exporter is given)."""

    def __init__(self, port: int = 0) -> None:
        self.status = 200
        """The HTTP status answered to every request (200 accepts)."""
        self.metrics_status = 200
        """The HTTP status answered to metrics requests while `status` accepts."""
        self.rejected = 0
        """Records a 200 answer says were dropped (OTLP partial success)."""
        self.rejected_message = ""
        """What a partial success says about the records it dropped."""
        self.logs: list[ExportLogsServiceRequest] = []
        self.metrics: list[ExportMetricsServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(_POLL,), daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop listening; the port is free for `Receiver(port)` again."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def records(self) -> list[Arrived]:
        """Every log record received so far, in arrival order."""
        with self._lock:
            requests = list(self.logs)
        return list(_records(requests))

    def seqs(self) -> list[int]:
        """The ``corral.seq`` of every log record received, in arrival order."""
        return [
            int(str(arrived.attributes["corral.seq"])) for arrived in self.records()
        ]

    def wait_for(
        self, predicate: Callable[[Receiver], bool], timeout: float = WAIT_SECONDS
    ) -> bool:
        """Wait until `predicate` holds for what arrived; False after `timeout`."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _take(self, path: str, body: bytes, headers: dict[str, str]) -> bytes | None:
        """Keep one request; return the answer's body, or None for an unknown path."""
        with self._lock:
            self.paths.append(path)
            self.headers.append(headers)
            if self._status(path) != 200:
                return b""
            if path == "/v1/logs":
                self.logs.append(ExportLogsServiceRequest.FromString(body))
                answer = ExportLogsServiceResponse()
                if self.rejected:
                    answer.partial_success.rejected_log_records = self.rejected
                    answer.partial_success.error_message = self.rejected_message
                return answer.SerializeToString()
            if path == "/v1/metrics":
                self.metrics.append(ExportMetricsServiceRequest.FromString(body))
                return ExportMetricsServiceResponse().SerializeToString()
        return None

    def _status(self, path: str) -> int:
        """The HTTP status this receiver answers a request for `path` with."""
        if self.status == 200 and path == "/v1/metrics":
            return self.metrics_status
        return self.status


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = _decoded(
                self.rfile.read(length), self.headers.get("Content-Encoding")
            )
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = receiver._take(self.path, body, headers)
            status = 404 if answer is None else receiver._status(self.path)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", f"{receiver.url}/elsewhere")
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer or b"")))
            self.end_headers()
            self.wfile.write(answer or b"")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: the tests say what they expected."""

    return Handler


def _decoded(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


def _records(requests: list[ExportLogsServiceRequest]) -> Iterator[Arrived]:
    for request in requests:
        for resource_logs in request.resource_logs:
            resource = attributes(resource_logs.resource.attributes)
            for scope_logs in resource_logs.scope_logs:
                for record in scope_logs.log_records:
                    yield Arrived(resource, scope_logs.scope.name, record)


def attributes(pairs: Iterable[KeyValue]) -> dict[str, object]:
    """Return OTLP key-value pairs as a dict of plain values."""
    return {pair.key: any_value(pair.value) for pair in pairs}


def any_value(value: AnyValue) -> object:
    """Return an OTLP AnyValue as the plain value (dict, list, str, ...) it holds."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "kvlist_value":
        return {pair.key: any_value(pair.value) for pair in value.kvlist_value.values}
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    return getattr(value, kind)
