"""The HTTP the proxy speaks: request heads read strictly, replies of its own.

A request is either ``CONNECT host:port`` or an absolute ``http://`` URL; every
other form, and every head that two parsers could read differently, is a bad
request.  A plain request goes upstream in origin form, one per connection.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from dataclasses import dataclass

from corral._logger import get_logger
from corral.errors import CorralError
from corral.network._names import Destination
from corral.network._relay import CHUNK, Reader, Sockets, Tally, pump, reply

__all__ = [
    "CONNECTED",
    "BadRequestError",
    "BusyError",
    "ProxyReplyError",
    "RefusedError",
    "Request",
    "UpstreamError",
    "forward",
    "read_request",
]

logger = get_logger(__name__)

MAX_REQUEST_LINE = 8 * 1024
"""Longer than any URL a tool sends; the bound on what a client makes corral hold."""
MAX_HEAD = 64 * 1024
"""The whole head, request line and headers: the bound on memory per client."""
MAX_HEADERS = 200
_MAX_CHUNK_LINE = 4096
_MAX_LENGTH_DIGITS = 18  # below 2**63: no body length that overflows a peer's int64

CONNECTED = b"HTTP/1.1 200 Connection established\r\n\r\n"

_TCHAR = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
_REQUEST_LINE = re.compile(rb"(" + _TCHAR + rb"+) ([\x21-\x7e]+) (HTTP/1\.[01])\r\n")
_FIELD_NAME = re.compile(_TCHAR + rb"+")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?: [^\r\n]*)?\r?\n")
_LENGTH = re.compile(f"[0-9]{{1,{_MAX_LENGTH_DIGITS}}}")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,15})[ \t]*(?:;[^\r\n]*)?\r\n")
# Never forwarded: they describe this hop, or ask for a proxy's own credentials.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "te", "trailer", "upgrade", "host",
     "content-length", "transfer-encoding"}
)  # fmt: skip
_RESPONSE_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection"})


class ProxyReplyError(CorralError):
    """A connection ends with corral's own reply, not the destination's.

    `code` goes in the reply's header and the event; `reason` says why, for a
    person reading the body or the event log.
    """

    status = "500 Internal Server Error"
    header = "X-Corral-Error"

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.shown = reason
        """What the reply tells the client; the event keeps `reason` in full."""

    def reply(self, subject: str) -> bytes:
        """The whole reply, for `subject` (a destination, or "the request")."""
        body = f"corral {self._verb} {subject}: {_printable(self.shown)}\n".encode()
        return (
            f"HTTP/1.1 {self.status}\r\n{self.header}: {self.code}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body

    _verb = "could not reach"


class RefusedError(ProxyReplyError):
    """The policy refused the destination (403)."""

    status = "403 Forbidden"
    header = "X-Corral-Refusal"
    _verb = "refused"

    def __init__(self, code: str, reason: str, rule: object = None) -> None:
        super().__init__(code, reason)
        self.rule = rule


class BadRequestError(RefusedError):
    """The request is not one corral forwards (400)."""

    status = "400 Bad Request"

    def __init__(self, reason: str) -> None:
        super().__init__("bad-request", reason)


class BusyError(RefusedError):
    """The route serves as many connections as it may (503)."""

    status = "503 Service Unavailable"

    def __init__(self, limit: int) -> None:
        super().__init__(
            "too-many-connections",
            f"the proxy serves as many connections as it may (at most {limit} "
            "for one command, fewer when others hold the rest); retry once some "
            "end",
        )


class UnrecordedError(RefusedError):
    """The connection could not be recorded, so it is not made (503)."""

    status = "503 Service Unavailable"

    def __init__(self, reason: str) -> None:
        super().__init__("unrecorded", reason)


class UpstreamError(ProxyReplyError):
    """The destination was allowed but could not be reached or spoke badly (502)."""

    status = "502 Bad Gateway"


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True)
class Request:
    """A request head as corral understood it.

    `authority` is the destination as written; `default_port` is None when it
    must carry a port (CONNECT).  `length` is the body's Content-Length, or -1
    for a chunked body.
    """

    method: str
    authority: str
    default_port: int | None
    path: str
    version: str
    headers: tuple[tuple[str, str], ...]
    host_header: str | None
    length: int


def read_request(reader: Reader) -> Request:
    """Read and check one request head.

    Raises `BadRequestError` for anything but a well-formed CONNECT or
    absolute ``http://`` request.
    """
    first = reader.peek()
    if not first:
        raise BadRequestError("the client sent nothing")
    if not b"A" <= first[:1] <= b"Z":
        raise BadRequestError(
            "this is not an HTTP request (corral speaks HTTP CONNECT, not SOCKS)"
        )
    match = _REQUEST_LINE.fullmatch(reader.line(MAX_REQUEST_LINE))
    if match is None:
        raise BadRequestError("the request line is not 'METHOD TARGET HTTP/1.1'")
    method, target, version = (part.decode("ascii") for part in match.groups())
    headers = _read_headers(reader, MAX_HEAD - len(match[0]))
    hosts = [value for name, value in headers if name.lower() == "host"]
    if len(hosts) > 1:
        raise BadRequestError("the request has more than one Host header")
    authority, default_port, path = _target(method, target)
    return Request(
        method=method,
        authority=authority,
        default_port=default_port,
        path=path,
        version=version,
        headers=headers,
        host_header=hosts[0] if hosts else None,
        length=_length(headers, version) if method != "CONNECT" else 0,
    )


def _read_headers(reader: Reader, budget: int) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    while (line := reader.line(budget)) != b"\r\n":
        budget -= len(line)
        if len(headers) == MAX_HEADERS:
            raise BadRequestError(f"the request has more than {MAX_HEADERS} headers")
        if not line.endswith(b"\r\n"):
            raise BadRequestError("a header line does not end with CRLF")
        name, colon, value = line[:-2].partition(b":")
        if not colon or not _FIELD_NAME.fullmatch(name):
            # Not the line itself: it may hold a credential, and replies and
            # events are read by more people than the request was.
            raise BadRequestError(f"header line {len(headers) + 1} is malformed")
        value = value.strip(b" \t")
        if _BAD_VALUE.search(value):
            raise BadRequestError(f"the {name.decode()} header holds control bytes")
        headers.append((name.decode("ascii"), value.decode("latin-1")))
    return tuple(headers)


def _target(method: str, target: str) -> tuple[str, int | None, str]:
    """Split a target into (authority, default port, origin-form path)."""
    lowered = target.lower()
    if method == "CONNECT":
        if "/" in target:
            raise BadRequestError("CONNECT takes host:port, not a URL")
        return target, None, ""
    if target.startswith("/"):
        raise BadRequestError(
            "corral is a proxy: ask for http://host/path, or CONNECT host:port"
        )
    if lowered.startswith("https://"):
        raise BadRequestError("use CONNECT host:443 for https, not an https:// URL")
    if not lowered.startswith("http://"):
        raise BadRequestError("only http:// URLs and CONNECT are forwarded")
    if "#" in target:
        raise BadRequestError("a URL sent to a proxy carries no #fragment")
    rest = target[len("http://") :]
    authority = re.split(r"[/?]", rest, maxsplit=1)[0]
    if not authority:
        raise BadRequestError("the URL names no host")
    if "@" in authority:
        raise BadRequestError("a URL sent through corral carries no user:password@")
    path = rest[len(authority) :] or "/"
    return authority, 80, path if path.startswith("/") else "/" + path


def _length(headers: tuple[tuple[str, str], ...], version: str) -> int:
    """The body's length, -1 for chunked; one framing only, spelled one way."""
    codings = [value for name, value in headers if name.lower() == "transfer-encoding"]
    lengths = [value for name, value in headers if name.lower() == "content-length"]
    if codings and lengths:
        raise BadRequestError("the request has both Transfer-Encoding and a length")
    if codings:
        if [coding.strip().lower() for coding in codings] != ["chunked"]:
            raise BadRequestError("the only transfer coding forwarded is 'chunked'")
        if version == "HTTP/1.0":
            raise BadRequestError("HTTP/1.0 has no chunked transfer coding")
        return -1
    if not lengths:
        return 0
    if len(lengths) > 1 or not _LENGTH.fullmatch(lengths[0]):
        raise BadRequestError("the request's Content-Length is not one decimal number")
    return int(lengths[0])


def upstream_head(request: Request, host: str) -> bytes:
    """The head sent upstream: origin form, this hop's headers replaced."""
    named = {
        token.strip().lower()
        for name, value in request.headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    lines = [f"{request.method} {request.path} {request.version}", f"Host: {host}"]
    for name, value in request.headers:
        lowered = name.lower()
        if lowered in _HOP_BY_HOP or lowered in named or lowered.startswith("proxy-"):
            continue
        lines.append(f"{name}: {value}")
    if request.length == -1:
        lines.append("Transfer-Encoding: chunked")
    elif request.length or request.method in {"POST", "PUT", "PATCH"}:
        lines.append(f"Content-Length: {request.length}")
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")


def forward_body(
    reader: Reader, request: Request, dst: socket.socket, up: Tally
) -> None:
    """Send the request's body to `dst`, framed as it was framed.

    Raises `BadRequestError` when the chunked framing is malformed or the
    client stops short, `OSError` when either side fails.
    """
    if request.length >= 0:
        _forward_exact(reader, request.length, dst, up)
        return
    while True:
        match = _CHUNK_SIZE.fullmatch(reader.line(_MAX_CHUNK_LINE))
        if match is None:
            raise BadRequestError("the chunked body has a malformed chunk size line")
        size = int(match[1], 16)
        _send(dst, b"%x\r\n" % size, up)
        if size == 0:
            break
        _forward_exact(reader, size, dst, up)
        if reader.line(2) != b"\r\n":
            raise BadRequestError("a chunk of the body does not end with CRLF")
        _send(dst, b"\r\n", up)
    # Trailer fields, then the empty line that ends the body.
    for name, value in _read_headers(reader, MAX_HEAD):
        _send(dst, f"{name}: {value}\r\n".encode("latin-1"), up)
    _send(dst, b"\r\n", up)


def _forward_exact(reader: Reader, size: int, dst: socket.socket, up: Tally) -> None:
    while size:
        data = reader.read(min(size, CHUNK))
        if not data:
            raise BadRequestError("the client closed before the end of its body")
        _send(dst, data, up)
        size -= len(data)


def _send(dst: socket.socket, data: bytes, tally: Tally) -> None:
    dst.sendall(data)
    tally.count += len(data)


def read_response_head(reader: Reader) -> tuple[int, list[bytes]]:
    """Read one response head: its status and its lines, line ends included.

    Raises `UpstreamError` when the destination does not answer in HTTP/1.x.
    """
    status_line = reader.line(MAX_REQUEST_LINE)
    match = _STATUS_LINE.fullmatch(status_line)
    if match is None:
        raise UpstreamError("bad-response", "the destination did not answer in HTTP")
    lines = [status_line]
    budget = MAX_HEAD - len(status_line)
    while (line := reader.line(budget)) not in {b"\r\n", b"\n"}:
        lines.append(line)
        budget -= len(line)
    return int(match[1]), lines


def final_response_head(lines: list[bytes]) -> bytes:
    """The final response's head with its connection headers replaced by close."""
    fields = [line.rstrip(b"\r\n").partition(b":") for line in lines[1:]]
    named = {
        token.strip().lower()
        for name, _, value in fields
        if name.strip().lower() == b"connection"
        for token in value.split(b",")
    }
    kept = [
        line.rstrip(b"\r\n") + b"\r\n"
        for line, (name, _, _) in zip(lines[1:], fields, strict=True)
        if name.strip().lower() not in _RESPONSE_HOP | named
    ]
    status = lines[0].rstrip(b"\r\n") + b"\r\n"
    return b"".join([status, *kept, b"Connection: close\r\n\r\n"])


def forward(
    client: socket.socket,
    reader: Reader,
    request: Request,
    upstream: socket.socket,
    destination: Destination,
    *,
    sockets: Sockets,
    up: Tally,
    down: Tally,
) -> ProxyReplyError | None:
    """One plain exchange: the body goes up while the response comes down.

    Returns the failure the client was told of, or the bad body that cut the
    request short; else None.
    """
    subject = destination.authority()
    try:
        _send(upstream, upstream_head(request, _host_header(destination)), up)
    except OSError as exc:
        closed = UpstreamError("connect-failed", f"the destination closed: {exc}")
        reply(client, closed.reply(subject))
        return closed
    body_errors: list[BadRequestError] = []
    sender = threading.Thread(
        target=_send_body,
        args=(reader, request, upstream, up, body_errors),
        name="corral-proxy-body",
    )
    sender.start()
    try:
        failure = _respond(
            client,
            upstream,
            subject,
            sockets=sockets,
            down=down,
            body_errors=body_errors,
        )
    finally:
        # The client may still owe body bytes that the destination no longer wants.
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_RD)
        sender.join()
    return failure or (body_errors[0] if body_errors else None)


def _send_body(
    reader: Reader,
    request: Request,
    upstream: socket.socket,
    up: Tally,
    errors: list[BadRequestError],
) -> None:
    try:
        forward_body(reader, request, upstream, up)
    except BadRequestError as exc:
        errors.append(exc)
        # The destination must not act on half a request; the response side
        # sees the end and tells the client why.
        with contextlib.suppress(OSError):
            upstream.shutdown(socket.SHUT_RDWR)
    except OSError as exc:
        logger.debug("request body not forwarded: %s", exc)


def _respond(
    client: socket.socket,
    upstream: socket.socket,
    subject: str,
    *,
    sockets: Sockets,
    down: Tally,
    body_errors: list[BadRequestError],
) -> ProxyReplyError | None:
    """Relay interim responses, then the final one, then its body to the end."""
    reader = Reader(upstream, b"", _bad_response)
    try:
        while True:
            status, lines = read_response_head(reader)
            if status == 101:
                raise _bad_response("the destination switched protocols unasked")
            if status >= 200:
                break
            _send(client, b"".join([*lines, b"\r\n"]), down)
        _send(client, final_response_head(lines) + reader.take(), down)
    except ProxyReplyError as exc:
        failure: ProxyReplyError = body_errors[0] if body_errors else exc
        reply(client, failure.reply(subject))
        return failure
    except OSError:
        sockets.cut()
        return None
    upstream.setblocking(True)
    client.setblocking(True)
    try:
        pump(upstream, client, down)
    except OSError:
        sockets.cut()
        return None
    with contextlib.suppress(OSError):
        client.shutdown(socket.SHUT_WR)
    return None


def _bad_response(reason: str) -> UpstreamError:
    return UpstreamError("bad-response", reason)


def _host_header(destination: Destination) -> str:
    """The Host header for `destination`: its authority, without port 80."""
    authority = destination.authority()
    return authority.rsplit(":", 1)[0] if destination.port == 80 else authority
