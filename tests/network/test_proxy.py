"""The filtering proxy, end to end: real clients, real servers on loopback.

Names map to loopback through the route's fixed hosts, and the rules name
``127.0.0.1:<port>`` of each test server explicitly, since loopback is
otherwise refused.  No test connects anywhere but its own servers.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path

import pytest

from corral.network import _connection, _proxy, _resolve
from corral.network._names import Destination
from corral.network._patterns import Rules
from corral.network._proxy import Answer, ProxyServer, Route, ServedRoute

IPAddress = IPv4Address | IPv6Address
LOOPBACK = IPv4Address("127.0.0.1")
EVENT_FIELDS = {
    "event", "method", "name", "port", "addresses", "address", "decision",
    "rule", "origin", "reason", "code", "asked", "bytes_up", "bytes_down",
    "duration_ms", "connection", "address_rule",
}  # fmt: skip


# Loopback servers -----------------------------------------------------------


class RawServer:
    """A TCP server on 127.0.0.1 that runs `handle` on each connection."""

    def __init__(self, handle: Callable[[socket.socket], None]) -> None:
        self._handle = handle
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.accepted = 0
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._acceptor = threading.Thread(target=self._accept, name="test-server")
        self._acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,))
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self._handle(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._acceptor.join()
        for conn in self._conns:  # a handler still waiting on its peer ends now
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join()


def echo_until_end(conn: socket.socket) -> None:
    """Read everything the client sends, then send it all back, prefixed."""
    received = bytearray()
    while data := conn.recv(65536):
        received += data
    conn.sendall(b"echo:" + received)


def echo_each(conn: socket.socket) -> None:
    """Send back each piece as it comes."""
    while data := conn.recv(65536):
        conn.sendall(data)


def read_chunked(stream: object) -> bytes:
    """Decode a chunked body from a file object (the test server's side)."""
    body = bytearray()
    read_line = stream.readline  # type: ignore[attr-defined]
    read = stream.read  # type: ignore[attr-defined]
    while True:
        size = int(read_line().split(b";")[0], 16)
        if size == 0:
            while read_line() not in {b"\r\n", b"\n", b""}:
                pass
            return bytes(body)
        body += read(size)
        read(2)


class EchoHandler(BaseHTTPRequestHandler):
    """Answers every request with what it received, as JSON."""

    protocol_version = "HTTP/1.1"

    def _echo(self) -> None:
        if self.headers.get("Transfer-Encoding") == "chunked":
            body = read_chunked(self.rfile)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        payload = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "version": self.request_version,
                "headers": self.headers.items(),
                "body": body.decode(),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        # What a keep-alive server says; the proxy must say close instead.
        self.send_header("Connection", "keep-alive, X-Hop")
        self.send_header("Keep-Alive", "timeout=5")
        self.send_header("X-Hop", "this hop only")
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _echo  # noqa: N815 - the names http.server calls

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: the tests read what the server received, not its log."""


class HTTPServer:
    """A threaded http.server on 127.0.0.1 echoing each request."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


# The proxy, and clients of it --------------------------------------------------


@dataclass
class Recorder:
    """A resolver that records every name it is asked for."""

    answers: dict[str, tuple[IPAddress, ...]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        self.asked.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


class Proxy:
    """A proxy server serving routes on unix sockets in a private directory."""

    def __init__(self) -> None:
        self.server = ProxyServer()
        # A short path: unix socket paths are limited to 108 bytes.
        self._directory = Path(tempfile.mkdtemp(prefix="corral-proxy-"))
        self._count = 0
        self.events: queue.Queue[dict[str, object]] = queue.Queue()

    def serve(
        self,
        allow: Sequence[str] = (),
        deny: Sequence[str] = (),
        *,
        grants: set[tuple[str, int]] | None = None,
        max_connections: int = _proxy.MAX_CONNECTIONS,
        **options: object,
    ) -> tuple[str, ServedRoute]:
        """Serve a route; return its socket path and the served route."""
        self._count += 1
        path = str(self._directory / f"{self._count}.sock")
        rules = Rules.from_entries(
            allow=[(text, "test policy") for text in allow],
            deny=[(text, "test policy") for text in deny],
        )
        options.setdefault("hosts", {"pkg.test": (LOOPBACK,)})
        options.setdefault("resolve", Recorder())
        route = Route(rules=rules, on_event=self.events.put, **options)  # type: ignore[arg-type]
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(path)
            listener.listen()
            served = self.server.serve(
                listener, route, grants=grants, max_connections=max_connections
            )
        except BaseException:
            listener.close()
            raise
        return path, served

    def event(self) -> dict[str, object]:
        """The next connection's event (sent once the connection has ended)."""
        return self.events.get(timeout=10)

    def close(self) -> None:
        self.server.close()
        shutil.rmtree(self._directory)


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    """A proxy server; every thread it started has ended once the test ends."""
    served = Proxy()
    try:
        yield served
    finally:
        served.close()
    left = [t.name for t in threading.enumerate() if t.name.startswith("corral-proxy")]
    assert left == []


@pytest.fixture
def echo() -> Iterator[RawServer]:
    server = RawServer(echo_until_end)
    yield server
    server.close()


@pytest.fixture
def web() -> Iterator[HTTPServer]:
    server = HTTPServer()
    yield server
    server.close()


def unix_client(path: str) -> socket.socket:
    """A client speaking over the unix connection itself."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(path)
    except OSError:
        client.close()
        raise
    return client


def passed_client(path: str) -> socket.socket:
    """A TCP client whose accepted end is passed to the proxy, as the bridge does."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
    with accepted, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        unix.connect(path)
        socket.send_fds(unix, [b"\0"], [accepted.fileno()])
    return client


CLIENTS = {"unix": unix_client, "passed": passed_client}


class Bridge:
    """What the sandbox's bridge does: pass each accepted connection to the proxy."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name="test-bridge")
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with client, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
                unix.connect(self._path)
                socket.send_fds(unix, [b"\0"], [client.fileno()])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join()


@pytest.fixture(params=sorted(CLIENTS))
def connect(request: pytest.FixtureRequest) -> Callable[[str], socket.socket]:
    """Each way a client reaches the proxy: over the unix socket, or passed."""
    return CLIENTS[request.param]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    head: bytes


def read_all(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = bytearray()
    while chunk := sock.recv(65536):
        data += chunk
    return bytes(data)


def parse_reply(data: bytes) -> Reply:
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(int(status_line.split()[1]), headers, body, head)


def exchange(
    path: str, request: bytes, connect: Callable[[str], socket.socket] = unix_client
) -> Reply:
    """Send one request, end the client's side, and read the reply to its end.

    A tunnel opened to an echoing server thus ends at once, with ``echo:``.
    """
    with connect(path) as client:
        client.sendall(request)
        client.shutdown(socket.SHUT_WR)
        return parse_reply(read_all(client))


def read_head(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    while not data.endswith(b"\r\n\r\n"):
        chunk = sock.recv(1)
        assert chunk, f"closed after {data!r}"
        data += chunk
    return data


def tunnel(
    path: str, target: str, connect: Callable[[str], socket.socket]
) -> socket.socket:
    """A client with a CONNECT tunnel to `target` established."""
    client = connect(path)
    client.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    head = read_head(client)
    assert head == b"HTTP/1.1 200 Connection established\r\n\r\n"
    return client


def loopback(port: int) -> str:
    return f"127.0.0.1:{port}"


# CONNECT ---------------------------------------------------------------------


def test_an_allowed_name_reaches_its_server_through_a_connect_tunnel(
    proxy: Proxy, echo: RawServer, connect: Callable[[str], socket.socket]
) -> None:
    path, _ = proxy.serve(["pkg.test", loopback(echo.port)])

    with tunnel(path, f"pkg.test:{echo.port}", connect) as client:
        client.sendall(b"hello through corral")
        client.shutdown(socket.SHUT_WR)
        assert read_all(client) == b"echo:hello through corral"

    event = proxy.event()
    assert event["decision"] == "allow"
    assert event["name"] == "pkg.test"
    assert event["port"] == echo.port
    assert event["address"] == "127.0.0.1"
    assert event["rule"] == "pkg.test"
    assert event["bytes_up"] == len(b"hello through corral")
    assert event["bytes_down"] == len(b"echo:hello through corral")


def test_an_allowed_connection_is_recorded_before_any_byte_passes(
    proxy: Proxy, echo: RawServer
) -> None:
    opened: list[dict[str, object]] = []
    path, _ = proxy.serve(["pkg.test", loopback(echo.port)], on_open=opened.append)

    reply = exchange(
        path, f"CONNECT pkg.test:{echo.port} HTTP/1.1\r\n\r\nearly".encode()
    )

    assert reply.status == 200
    (record,) = opened
    assert record["decision"] == "allow"
    assert record["address"] == "127.0.0.1"
    assert record["connection"] == proxy.event()["connection"]


def test_a_connection_that_cannot_be_recorded_is_not_made(
    proxy: Proxy, echo: RawServer
) -> None:
    def cannot_record(_: dict[str, object]) -> None:
        raise OSError("the log is full")

    path, _ = proxy.serve(["pkg.test", loopback(echo.port)], on_open=cannot_record)

    reply = exchange(
        path, f"CONNECT pkg.test:{echo.port} HTTP/1.1\r\n\r\nearly".encode()
    )

    assert reply.status == 503
    assert reply.headers["x-corral-refusal"] == "unrecorded"
    assert b"the log is full" in reply.body
    event = proxy.event()
    assert (event["decision"], event["code"]) == ("refuse", "unrecorded")
    assert event["bytes_up"] == 0


def test_bytes_sent_with_the_connect_head_reach_the_server(
    proxy: Proxy, echo: RawServer
) -> None:
    path, _ = proxy.serve(["pkg.test", loopback(echo.port)])

    with unix_client(path) as client:
        client.sendall(f"CONNECT pkg.test:{echo.port} HTTP/1.1\r\n\r\nearly".encode())
        client.shutdown(socket.SHUT_WR)
        data = read_all(client)

    assert data == b"HTTP/1.1 200 Connection established\r\n\r\necho:early"


def test_a_tunnel_carries_traffic_both_ways_while_it_is_open(
    proxy: Proxy, connect: Callable[[str], socket.socket]
) -> None:
    server = RawServer(echo_each)
    path, _ = proxy.serve(["pkg.test", loopback(server.port)])
    try:
        with tunnel(path, f"pkg.test:{server.port}", connect) as client:
            for n in range(3):
                client.sendall(b"ping %d" % n)
                assert client.recv(100) == b"ping %d" % n
    finally:
        server.close()
    assert proxy.event()["bytes_up"] == 18


def test_the_byte_counts_are_exact_for_a_50_mb_transfer(
    proxy: Proxy, connect: Callable[[str], socket.socket]
) -> None:
    size = 50_000_000
    upload = os.urandom(1_000_003)
    received = bytearray()

    def serve(conn: socket.socket) -> None:
        while len(received) < len(upload):
            received.extend(conn.recv(1 << 20))
        block = b"x" * (1 << 20)
        left = size
        while left:
            left -= conn.send(block[: min(left, len(block))])

    server = RawServer(serve)
    path, _ = proxy.serve(["pkg.test", loopback(server.port)])
    try:
        with tunnel(path, f"pkg.test:{server.port}", connect) as client:
            client.sendall(upload)
            downloaded = 0
            while chunk := client.recv(1 << 20):
                downloaded += len(chunk)
    finally:
        server.close()

    assert bytes(received) == upload
    assert downloaded == size
    event = proxy.event()
    assert event["bytes_down"] == size
    assert event["bytes_up"] == len(upload)


def test_many_tunnels_at_once_each_carry_their_own_bytes(
    proxy: Proxy, echo: RawServer, connect: Callable[[str], socket.socket]
) -> None:
    path, _ = proxy.serve(["pkg.test", loopback(echo.port)])
    answers: dict[int, bytes] = {}

    def one(n: int) -> None:
        with tunnel(path, f"pkg.test:{echo.port}", connect) as client:
            client.sendall(b"client %d" % n)
            client.shutdown(socket.SHUT_WR)
            answers[n] = read_all(client)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == {n: b"echo:client %d" % n for n in range(32)}
    events = [proxy.event() for _ in range(32)]
    assert sorted(int(str(e["bytes_up"])) for e in events) == sorted(
        len(b"client %d" % n) for n in range(32)
    )


# Plain HTTP ------------------------------------------------------------------


def test_a_plain_get_goes_upstream_in_origin_form_without_this_hops_headers(
    proxy: Proxy, web: HTTPServer, connect: Callable[[str], socket.socket]
) -> None:
    path, _ = proxy.serve(["pkg.test", loopback(web.port)])

    reply = exchange(
        path,
        f"GET http://PKG.test:{web.port}/simple/pkg/?q=1 HTTP/1.1\r\n"
        f"Host: pkg.test:{web.port}\r\nProxy-Authorization: Basic c2VjcmV0\r\n"
        "Proxy-Connection: keep-alive\r\nConnection: X-Private\r\n"
        "X-Private: hop\r\nAccept: */*\r\n\r\n".encode(),
        connect,
    )

    assert reply.status == 200
    seen = json.loads(reply.body)
    assert seen["method"] == "GET"
    assert seen["path"] == "/simple/pkg/?q=1"
    headers = {name.lower(): value for name, value in seen["headers"]}
    assert headers["host"] == f"pkg.test:{web.port}"
    assert headers["connection"] == "close"
    assert headers["accept"] == "*/*"
    for dropped in ("proxy-authorization", "proxy-connection", "x-private"):
        assert dropped not in headers
    assert reply.headers["connection"] == "close"
    assert "keep-alive" not in reply.headers
    assert "x-hop" not in reply.headers
    event = proxy.event()
    assert event["method"] == "GET"
    assert event["decision"] == "allow"
    assert event["bytes_down"] == len(reply.head) + 4 + len(reply.body)


def test_a_url_without_a_path_asks_for_the_root(proxy: Proxy, web: HTTPServer) -> None:
    path, _ = proxy.serve(["pkg.test", loopback(web.port)])

    reply = exchange(path, f"GET http://pkg.test:{web.port} HTTP/1.1\r\n\r\n".encode())

    assert json.loads(reply.body)["path"] == "/"


def test_a_post_body_is_forwarded_by_its_length(
    proxy: Proxy, web: HTTPServer, connect: Callable[[str], socket.socket]
) -> None:
    path, _ = proxy.serve(["pkg.test", loopback(web.port)])
    body = b"name=corral&" * 5000

    reply = exchange(
        path,
        f"POST http://pkg.test:{web.port}/upload HTTP/1.1\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body,
        connect,
    )

    seen = json.loads(reply.body)
    assert seen["method"] == "POST"
    assert seen["body"] == body.decode()


def test_a_chunked_body_is_forwarded_chunk_by_chunk(
    proxy: Proxy, web: HTTPServer, connect: Callable[[str], socket.socket]
) -> None:
    path, _ = proxy.serve(["pkg.test", loopback(web.port)])

    reply = exchange(
        path,
        f"PUT http://pkg.test:{web.port}/blob HTTP/1.1\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n".encode(),
        connect,
    )

    seen = json.loads(reply.body)
    headers = {name.lower(): value for name, value in seen["headers"]}
    assert headers["transfer-encoding"] == "chunked"
    assert seen["body"] == "hello, world"


def test_interim_responses_reach_the_client_before_the_final_one(
    proxy: Proxy,
) -> None:
    def serve(conn: socket.socket) -> None:
        head = read_head(conn)
        assert b"Expect: 100-continue" in head
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = conn.recv(100)
        conn.sendall(
            b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )

    server = RawServer(serve)
    path, _ = proxy.serve(["pkg.test", loopback(server.port)])
    try:
        with unix_client(path) as client:
            client.sendall(
                f"POST http://pkg.test:{server.port}/ HTTP/1.1\r\n"
                "Expect: 100-continue\r\nContent-Length: 4\r\n\r\n".encode()
            )
            assert read_head(client) == b"HTTP/1.1 100 Continue\r\n\r\n"
            client.sendall(b"data")
            reply = parse_reply(read_all(client))
    finally:
        server.close()

    assert reply.status == 201
    assert reply.body == b"data"
    assert reply.headers["connection"] == "close"


def test_a_malformed_chunk_is_a_bad_request(proxy: Proxy, web: HTTPServer) -> None:
    path, _ = proxy.serve(["pkg.test", loopback(web.port)])

    reply = exchange(
        path,
        f"POST http://pkg.test:{web.port}/ HTTP/1.1\r\n"
        "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n".encode(),
    )

    assert reply.status == 400
    assert reply.headers["x-corral-refusal"] == "bad-request"
    assert proxy.event()["code"] == "bad-request"


def test_a_destination_that_does_not_speak_http_is_a_bad_gateway(
    proxy: Proxy,
) -> None:
    server = RawServer(lambda conn: conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n"))
    path, _ = proxy.serve(["pkg.test", loopback(server.port)])
    try:
        with unix_client(path) as client:
            client.sendall(
                f"GET http://pkg.test:{server.port}/ HTTP/1.1\r\n\r\n".encode()
            )
            reply = parse_reply(read_all(client))
    finally:
        server.close()

    assert reply.status == 502
    assert reply.headers["x-corral-error"] == "bad-response"


def test_a_real_http_client_fetches_a_url_through_the_proxy(
    proxy: Proxy, web: HTTPServer
) -> None:
    path, _ = proxy.serve(["pkg.test", loopback(web.port)])
    bridge = Bridge(path)
    proxies = {"http": f"http://127.0.0.1:{bridge.port}"}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies))
    try:
        with opener.open(f"http://pkg.test:{web.port}/index?x=1", timeout=10) as answer:
            seen = json.loads(answer.read())
    finally:
        bridge.close()

    assert seen["path"] == "/index?x=1"
    assert proxy.event()["decision"] == "allow"


def test_a_real_http_client_tunnels_through_connect(
    proxy: Proxy, web: HTTPServer
) -> None:
    path, _ = proxy.serve(["pkg.test", loopback(web.port)])
    bridge = Bridge(path)
    conn = http.client.HTTPConnection("127.0.0.1", bridge.port, timeout=10)
    conn.set_tunnel("pkg.test", web.port)
    try:
        conn.request("POST", "/form", body=b"a=1", headers={"X-Test": "yes"})
        seen = json.loads(conn.getresponse().read())
    finally:
        conn.close()
        bridge.close()

    assert seen["path"] == "/form"
    assert seen["body"] == "a=1"
    event = proxy.event()
    assert event["method"] == "CONNECT"
    assert event["port"] == web.port


# The decision ----------------------------------------------------------------


def test_a_denied_name_is_refused_before_any_lookup(proxy: Proxy) -> None:
    resolver = Recorder({"pkg.test": (LOOPBACK,), "other.test": (LOOPBACK,)})
    path, _ = proxy.serve(["*.test"], ["pkg.test"], hosts={}, resolve=resolver)

    reply = exchange(path, b"CONNECT pkg.test:443 HTTP/1.1\r\n\r\n")

    assert reply.status == 403
    assert reply.headers["x-corral-refusal"] == "denied"
    assert reply.headers["connection"] == "close"
    assert reply.body.startswith(b"corral refused pkg.test:443: ")
    assert resolver.asked == []
    event = proxy.event()
    assert event["code"] == "denied"
    assert event["rule"] == "pkg.test"
    assert event["addresses"] == []


def test_a_name_no_rule_names_is_refused_before_any_lookup(proxy: Proxy) -> None:
    resolver = Recorder({"unknown.test": (LOOPBACK,)})
    path, _ = proxy.serve(["pkg.test"], hosts={}, resolve=resolver)

    reply = exchange(path, b"GET http://unknown.test/ HTTP/1.1\r\n\r\n")

    assert reply.status == 403
    assert reply.headers["x-corral-refusal"] == "not-allowed"
    assert b"network.allow" in reply.body
    assert resolver.asked == []


def test_the_resolver_is_asked_once_for_a_name_not_in_the_fixed_hosts(
    proxy: Proxy, echo: RawServer
) -> None:
    resolver = Recorder({"mirror.test": (LOOPBACK,)})
    path, _ = proxy.serve(["mirror.test", loopback(echo.port)], resolve=resolver)

    with tunnel(path, f"mirror.test:{echo.port}", unix_client) as client:
        client.shutdown(socket.SHUT_WR)
        assert read_all(client) == b"echo:"

    assert resolver.asked == ["mirror.test"]
    assert proxy.event()["addresses"] == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("host", "decision"),
    [("a.pkg.test", "allow"), ("deep.a.pkg.test", "allow"), ("pkg.test", "refuse")],
)
def test_a_wildcard_names_what_lies_below_its_domain_on_its_port(
    proxy: Proxy, echo: RawServer, host: str, decision: str
) -> None:
    hosts = dict.fromkeys(("pkg.test", "a.pkg.test", "deep.a.pkg.test"), (LOOPBACK,))
    path, _ = proxy.serve([f"*.pkg.test:{echo.port}", loopback(echo.port)], hosts=hosts)

    reply = exchange(path, f"CONNECT {host}:{echo.port} HTTP/1.1\r\n\r\n".encode())

    assert (reply.status == 200) == (decision == "allow")
    assert proxy.event()["decision"] == decision


def test_a_pattern_with_a_port_allows_no_other_port(
    proxy: Proxy, echo: RawServer
) -> None:
    path, _ = proxy.serve([f"pkg.test:{echo.port}", loopback(echo.port)])

    allowed = exchange(path, f"CONNECT pkg.test:{echo.port} HTTP/1.1\r\n\r\n".encode())
    refused = exchange(
        path, f"CONNECT pkg.test:{echo.port + 1} HTTP/1.1\r\n\r\n".encode()
    )

    assert allowed.status == 200
    assert refused.status == 403
    assert refused.headers["x-corral-refusal"] == "not-allowed"


def test_an_allowed_name_resolving_to_loopback_is_refused_without_its_address_entry(
    proxy: Proxy, echo: RawServer
) -> None:
    path, _ = proxy.serve(["pkg.test"])

    reply = exchange(path, f"CONNECT pkg.test:{echo.port} HTTP/1.1\r\n\r\n".encode())

    assert reply.status == 403
    assert reply.headers["x-corral-refusal"] == "address-refused"
    assert b"loopback" in reply.body
    assert echo.accepted == 0
    event = proxy.event()
    assert event["code"] == "address-refused"
    assert event["addresses"] == ["127.0.0.1"]
    assert event["address"] is None


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every inet address a socket connects to; any but loopback fails the test."""
    seen: list[object] = []
    original = socket.socket.connect

    def guarded(sock: socket.socket, address: object) -> None:
        if isinstance(address, tuple):
            seen.append(address)
            if not ip_address(address[0]).is_loopback:
                raise AssertionError(f"a test tried to connect to {address}")
        original(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return seen


def test_an_allowed_name_resolving_to_the_metadata_address_is_refused_before_connecting(
    proxy: Proxy, connects: list[object]
) -> None:
    metadata = IPv4Address("169.254.169.254")
    path, _ = proxy.serve(["pkg.test"], hosts={"pkg.test": (metadata,)})

    reply = exchange(path, b"GET http://pkg.test/latest/meta-data/ HTTP/1.1\r\n\r\n")

    assert reply.status == 403
    assert reply.headers["x-corral-refusal"] == "address-refused"
    assert b"metadata" in reply.body
    assert connects == []
    assert proxy.event()["addresses"] == ["169.254.169.254"]


def test_only_the_allowed_addresses_of_a_name_are_connected_to(
    proxy: Proxy, echo: RawServer, connects: list[object]
) -> None:
    addresses = (IPv4Address("169.254.169.254"), LOOPBACK)
    path, _ = proxy.serve(
        ["pkg.test", loopback(echo.port)], hosts={"pkg.test": addresses}
    )

    reply = exchange(path, f"CONNECT pkg.test:{echo.port} HTTP/1.1\r\n\r\n".encode())

    assert reply.status == 200
    assert connects == [("127.0.0.1", echo.port)]


@pytest.mark.parametrize(
    ("target", "host"),
    [
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
    ],
)
def test_other_spellings_of_loopback_are_loopback(
    proxy: Proxy, echo: RawServer, target: str, host: str
) -> None:
    # The name passes ("127.0.0.1", any port); the address, loopback, does not.
    path, _ = proxy.serve(["127.0.0.1"])

    reply = exchange(path, f"CONNECT {target}:{echo.port} HTTP/1.1\r\n\r\n".encode())

    assert reply.status == 403
    assert reply.headers["x-corral-refusal"] == "address-refused"
    assert echo.accepted == 0
    assert proxy.event()["name"] == host


@pytest.mark.parametrize(
    "target", ["1.2.3.4.5:80", "bad..name:80", "pkg.test", "pkg.test:0", "[::1%lo]:80"]
)
def test_an_invalid_destination_is_refused_as_invalid(
    proxy: Proxy, target: str
) -> None:
    resolver = Recorder()
    path, _ = proxy.serve(["pkg.test"], resolve=resolver)

    reply = exchange(path, f"CONNECT {target} HTTP/1.1\r\n\r\n".encode())

    assert reply.status == 403
    assert reply.headers["x-corral-refusal"] == "invalid-destination"
    assert resolver.asked == []


def test_a_name_that_does_not_resolve_is_a_bad_gateway(proxy: Proxy) -> None:
    path, _ = proxy.serve(["gone.test"])

    reply = exchange(path, b"CONNECT gone.test:443 HTTP/1.1\r\n\r\n")

    assert reply.status == 502
    assert reply.headers["x-corral-error"] == "resolve-failed"
    assert b"gone.test" in reply.body


def test_a_destination_that_refuses_the_connection_is_a_bad_gateway(
    proxy: Proxy,
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    path, _ = proxy.serve(["pkg.test", loopback(port)])

    reply = exchange(path, f"CONNECT pkg.test:{port} HTTP/1.1\r\n\r\n".encode())

    assert reply.status == 502
    assert reply.headers["x-corral-error"] == "connect-failed"
    event = proxy.event()
    assert event["decision"] == "allow"
    assert event["code"] == "connect-failed"


# Asking a person -------------------------------------------------------------


class Person:
    """Answers each question with the next of its answers, and notes the question."""

    def __init__(self, *answers: Answer) -> None:
        self._answers = list(answers)
        self.asked: list[Destination] = []

    def __call__(self, destination: Destination) -> Answer:
        self.asked.append(destination)
        return self._answers.pop(0)


def test_a_destination_allowed_once_is_asked_about_again(
    proxy: Proxy, echo: RawServer
) -> None:
    person = Person("once", "no")
    path, served = proxy.serve([loopback(echo.port)], ask=person)
    request = f"CONNECT PKG.test:{echo.port} HTTP/1.1\r\n\r\n".encode()

    first = exchange(path, request)
    second = exchange(path, request)

    assert first.status == 200
    assert second.status == 403
    assert second.headers["x-corral-refusal"] == "declined"
    assert [d.authority() for d in person.asked] == [f"pkg.test:{echo.port}"] * 2
    assert served.session_grants == set()
    events = [proxy.event(), proxy.event()]
    assert [e["asked"] for e in events] == [True, True]
    assert sorted(str(e["decision"]) for e in events) == ["allow", "refuse"]


def test_a_destination_allowed_for_the_session_is_not_asked_about_again(
    proxy: Proxy, echo: RawServer
) -> None:
    person = Person("session")
    grants: set[tuple[str, int]] = set()
    path, served = proxy.serve([loopback(echo.port)], ask=person, grants=grants)
    request = f"CONNECT pkg.test:{echo.port} HTTP/1.1\r\n\r\n".encode()

    assert exchange(path, request).status == 200
    assert exchange(path, request).status == 200

    assert len(person.asked) == 1
    assert served.session_grants is grants
    assert grants == {("pkg.test", echo.port)}
    assert [proxy.event()["asked"], proxy.event()["asked"]] == [True, False]


def test_a_grant_for_the_session_holds_on_every_route_sharing_it(
    proxy: Proxy, echo: RawServer
) -> None:
    grants = {("pkg.test", echo.port)}
    path, _ = proxy.serve([loopback(echo.port)], ask=Person(), grants=grants)

    reply = exchange(path, f"CONNECT pkg.test:{echo.port} HTTP/1.1\r\n\r\n".encode())

    assert reply.status == 200


def test_a_declined_destination_is_refused(proxy: Proxy, echo: RawServer) -> None:
    path, _ = proxy.serve([loopback(echo.port)], ask=Person("no"))

    reply = exchange(path, f"CONNECT pkg.test:{echo.port} HTTP/1.1\r\n\r\n".encode())

    assert reply.status == 403
    assert reply.headers["x-corral-refusal"] == "declined"
    assert echo.accepted == 0


def test_a_denied_destination_is_never_asked_about(proxy: Proxy) -> None:
    person = Person()
    path, _ = proxy.serve([], ["pkg.test"], ask=person)

    reply = exchange(path, b"CONNECT pkg.test:443 HTTP/1.1\r\n\r\n")

    assert reply.headers["x-corral-refusal"] == "denied"
    assert person.asked == []


# Events ----------------------------------------------------------------------


def test_every_event_carries_every_field_and_the_routes_context(
    proxy: Proxy, echo: RawServer
) -> None:
    context = {"run": "run-1", "session": "s-1", "workspace": "/w"}
    path, _ = proxy.serve(["pkg.test", loopback(echo.port)], context=context)

    exchange(path, f"CONNECT pkg.test:{echo.port} HTTP/1.1\r\n\r\n".encode())
    exchange(path, b"CONNECT other.test:443 HTTP/1.1\r\n\r\n")
    exchange(path, b"nonsense\r\n\r\n")

    for _ in range(3):
        event = proxy.event()
        assert set(event) == EVENT_FIELDS | set(context)
        assert event["event"] == "network.connection"
        assert event["run"] == "run-1"
        assert isinstance(event["duration_ms"], float)
        assert event["decision"] in {"allow", "refuse"}
        json.dumps(event)


# Requests corral does not forward --------------------------------------------

BAD_REQUESTS = {
    "origin form": b"GET /simple/ HTTP/1.1\r\nHost: pkg.test\r\n\r\n",
    "https URL": b"GET https://pkg.test/ HTTP/1.1\r\n\r\n",
    "other scheme": b"GET ftp://pkg.test/ HTTP/1.1\r\n\r\n",
    "asterisk": b"OPTIONS * HTTP/1.1\r\n\r\n",
    "socks5": b"\x05\x01\x00",
    "socks4": b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00",
    "tls": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    "garbage": b"Hello there\r\n\r\n",
    "lowercase method": b"get http://pkg.test/ HTTP/1.1\r\n\r\n",
    "http/2": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "bare LF": b"GET http://pkg.test/ HTTP/1.1\nHost: pkg.test\n\n",
    "two spaces": b"GET  http://pkg.test/ HTTP/1.1\r\n\r\n",
    "long request line": b"GET http://pkg.test/" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n",
    "long head": b"GET http://pkg.test/ HTTP/1.1\r\n"
    + b"".join(b"X-%d: %s\r\n" % (n, b"v" * 1000) for n in range(70))
    + b"\r\n",
    "folded header": b"GET http://pkg.test/ HTTP/1.1\r\nX-A: 1\r\n  2\r\n\r\n",
    "space before colon": b"GET http://pkg.test/ HTTP/1.1\r\nHost : pkg.test\r\n\r\n",
    "control byte": b"GET http://pkg.test/ HTTP/1.1\r\nX-A: a\x00b\r\n\r\n",
    "length and chunked": b"POST http://pkg.test/ HTTP/1.1\r\nContent-Length: 3\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two lengths": b"POST http://pkg.test/ HTTP/1.1\r\nContent-Length: 3\r\n"
    b"Content-Length: 4\r\n\r\nabcd",
    "signed length": b"POST http://pkg.test/ HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc",
    "other coding": b"POST http://pkg.test/ HTTP/1.1\r\n"
    b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "chunked http/1.0": b"POST http://pkg.test/ HTTP/1.0\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "host mismatch": b"GET http://pkg.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n",
    "host port mismatch": b"GET http://pkg.test/ HTTP/1.1\r\n"
    b"Host: pkg.test:8080\r\n\r\n",
    "two hosts": b"GET http://pkg.test/ HTTP/1.1\r\nHost: pkg.test\r\n"
    b"Host: other.test\r\n\r\n",
    "fragment": b"GET http://pkg.test/#top HTTP/1.1\r\n\r\n",
    "no host in URL": b"GET http:///path HTTP/1.1\r\n\r\n",
    "connect to a URL": b"CONNECT http://pkg.test:443/ HTTP/1.1\r\n\r\n",
    "user information": b"GET http://user:s3cret@pkg.test/ HTTP/1.1\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_a_request_corral_does_not_forward_is_a_bad_request(
    proxy: Proxy, web: HTTPServer, name: str
) -> None:
    resolver = Recorder()
    path, _ = proxy.serve(["pkg.test", "other.test"], resolve=resolver)

    reply = exchange(path, BAD_REQUESTS[name])

    assert reply.status == 400
    assert reply.headers["x-corral-refusal"] == "bad-request"
    assert reply.body.startswith(b"corral refused ")
    assert resolver.asked == []
    assert proxy.event()["code"] == "bad-request"


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET http://user:s3cret@pkg.test/ HTTP/1.1\r\n\r\n",
        b"GET http://pkg.test/ HTTP/1.1\r\nAuthorization Basic s3cret\r\n\r\n",
    ],
)
def test_a_refusal_does_not_repeat_credentials_from_the_request(
    proxy: Proxy, request_bytes: bytes
) -> None:
    path, _ = proxy.serve(["pkg.test"])

    reply = exchange(path, request_bytes)

    assert reply.status == 400
    assert b"s3cret" not in reply.body
    assert "s3cret" not in json.dumps(proxy.event())


def test_a_host_header_that_matches_the_url_passes(
    proxy: Proxy, web: HTTPServer
) -> None:
    path, _ = proxy.serve(["pkg.test", loopback(web.port)])

    reply = exchange(
        path,
        f"GET http://pkg.test.:{web.port}/ HTTP/1.1\r\n"
        f"Host: PKG.TEST:{web.port}\r\n\r\n".encode(),
    )

    assert reply.status == 200


def test_a_url_on_port_80_matches_a_host_header_without_a_port(proxy: Proxy) -> None:
    # The name passes the Host check and reaches the decision: not allowed.
    path, _ = proxy.serve([])

    reply = exchange(
        path, b"GET http://pkg.test/ HTTP/1.1\r\nHost: pkg.test:80\r\n\r\n"
    )

    assert reply.headers["x-corral-refusal"] == "not-allowed"


# Hand-over and limits --------------------------------------------------------


def handed_over(path: str, fds: list[int], payload: bytes = b"\0") -> bytes:
    """Pass `fds` to the proxy; return what the unix connection then receives."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        unix.connect(path)
        socket.send_fds(unix, [payload], fds)
        return read_all(unix)


def test_a_passed_descriptor_that_is_not_a_socket_is_dropped(proxy: Proxy) -> None:
    path, _ = proxy.serve(["pkg.test"])
    read_end, write_end = os.pipe()
    try:
        assert handed_over(path, [read_end]) == b""
    finally:
        os.close(read_end)
        os.close(write_end)
    event = proxy.event()
    assert "not a stream socket" in str(event["reason"])
    assert event["decision"] == "refuse"


def test_a_passed_datagram_socket_is_dropped(proxy: Proxy) -> None:
    path, _ = proxy.serve(["pkg.test"])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
        assert handed_over(path, [datagram.fileno()]) == b""
    assert "not a stream socket" in str(proxy.event()["reason"])


def test_a_connection_passing_two_descriptors_is_dropped_and_both_closed(
    proxy: Proxy,
) -> None:
    path, _ = proxy.serve(["pkg.test"])
    first, second = socket.socketpair()
    with first, second:
        assert handed_over(path, [first.fileno(), second.fileno()]) == b""
        # Had the proxy kept a copy of `second`, this would not read as closed.
        first.close()
        second.settimeout(5)
        assert second.recv(1) == b""
    assert "more than one" in str(proxy.event()["reason"])


def test_a_client_sending_nothing_is_dropped(
    proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_connection, "FIRST_MESSAGE_TIMEOUT", 1.0)
    path, _ = proxy.serve(["pkg.test"])

    with unix_client(path) as client:
        started = time.monotonic()
        assert read_all(client) == b""

    assert time.monotonic() - started < 5
    assert "nothing arrived" in str(proxy.event()["reason"])


def test_a_client_too_slow_to_send_its_head_is_refused(
    proxy: Proxy,
    monkeypatch: pytest.MonkeyPatch,
    connect: Callable[[str], socket.socket],
) -> None:
    monkeypatch.setattr(_connection, "HEAD_TIMEOUT", 1.0)
    path, _ = proxy.serve(["pkg.test"])

    with connect(path) as client:
        client.sendall(b"GET http://pkg.test/ HTTP/1.1\r\n")
        reply = parse_reply(read_all(client))

    assert reply.status == 400
    assert b"in the time allowed" in reply.body


def test_a_body_may_take_longer_than_the_head_may(
    proxy: Proxy, web: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_connection, "HEAD_TIMEOUT", 1.0)
    path, _ = proxy.serve(["pkg.test", loopback(web.port)])

    with unix_client(path) as client:
        client.sendall(
            f"POST http://pkg.test:{web.port}/ HTTP/1.1\r\n"
            "Content-Length: 10\r\n\r\nslow".encode()
        )
        time.sleep(2.0)
        client.sendall(b" body")
        time.sleep(0.5)
        client.sendall(b"!")
        reply = parse_reply(read_all(client))

    assert reply.status == 200
    assert json.loads(reply.body)["body"] == "slow body!"


def test_one_route_cannot_take_the_connections_every_route_shares(
    proxy: Proxy, echo: RawServer
) -> None:
    """Each route may hold a quarter of what the whole server may."""
    proxy.server.close()
    proxy.server = ProxyServer(max_total=8)
    greedy, _ = proxy.serve(["pkg.test", loopback(echo.port)])
    other, _ = proxy.serve(["pkg.test", loopback(echo.port)])
    target = f"pkg.test:{echo.port}"
    connect = CLIENTS["unix"]
    request = f"CONNECT {target} HTTP/1.1\r\n\r\n".encode()
    with tunnel(greedy, target, connect), tunnel(greedy, target, connect):
        turned_away = exchange(greedy, request)
        with tunnel(other, target, connect):
            pass
    assert turned_away.status == 503
    assert turned_away.headers["x-corral-refusal"] == "too-many-connections"


def test_connections_past_the_routes_limit_are_turned_away(
    proxy: Proxy, connect: Callable[[str], socket.socket]
) -> None:
    server = RawServer(echo_each)
    path, _ = proxy.serve(["pkg.test", loopback(server.port)], max_connections=1)
    try:
        with tunnel(path, f"pkg.test:{server.port}", connect):
            with connect(path) as second:
                second.sendall(
                    f"CONNECT pkg.test:{server.port} HTTP/1.1\r\n\r\n".encode()
                )
                reply = parse_reply(read_all(second))
            busy = proxy.event()
    finally:
        server.close()

    assert reply.status == 503
    assert reply.headers["x-corral-refusal"] == "too-many-connections"
    assert busy["code"] == "too-many-connections"


def test_closing_a_route_cuts_its_open_tunnels_and_stops_accepting(
    proxy: Proxy, connect: Callable[[str], socket.socket]
) -> None:
    server = RawServer(echo_each)
    path, served = proxy.serve(["pkg.test", loopback(server.port)])
    try:
        with tunnel(path, f"pkg.test:{server.port}", connect) as client:
            served.close()
            assert read_all(client) == b""
    finally:
        server.close()

    with pytest.raises(OSError):  # noqa: PT011 - refused or gone: either way, closed
        unix_client(path)
    assert proxy.event()["decision"] == "allow"


def test_a_closed_route_is_closed_and_closing_it_again_does_nothing(
    proxy: Proxy,
) -> None:
    _, served = proxy.serve(["pkg.test"])

    served.close()
    served.close()

    assert served.closed


def test_a_closed_server_serves_no_new_route(proxy: Proxy) -> None:
    proxy.server.close()

    with pytest.raises(RuntimeError, match="closed"):
        proxy.serve(["pkg.test"])


def test_the_proxy_listens_on_unix_stream_sockets_only() -> None:
    server = ProxyServer()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        route = Route(rules=Rules(), on_event=lambda _: None)
        with pytest.raises(ValueError, match="AF_UNIX"):
            server.serve(tcp, route)
    server.close()


# Found by attacking the proxy -------------------------------------------------


def test_a_connection_whose_body_breaks_after_bytes_passed_stays_allowed(
    proxy: Proxy, echo: RawServer
) -> None:
    """The record says what let the bytes through, and why it ended."""
    path, _ = proxy.serve(["pkg.test", loopback(echo.port)])

    with unix_client(path) as client:
        client.sendall(
            f"POST http://pkg.test:{echo.port}/x HTTP/1.1\r\n"
            "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZZ\r\n".encode()
        )
        read_all(client)  # a 400, or the connection closed: either may come first

    event = proxy.event()
    assert event["decision"] == "allow"
    assert event["code"] == "bad-request"
    assert event["address"] == "127.0.0.1"


def test_a_refused_address_is_not_told_to_the_sandbox(proxy: Proxy) -> None:
    """The sandbox has no resolver; a refusal must not answer for one."""
    hosts = {"pkg.test": (IPv4Address("10.9.8.7"),)}
    path, _ = proxy.serve(["pkg.test"], deny=["10.0.0.0/8"], hosts=hosts)

    reply = exchange(path, b"CONNECT pkg.test:443 HTTP/1.1\r\n\r\n")

    assert reply.status == 403
    assert b"10.9.8.7" not in reply.body
    assert "10.9.8.7" in str(proxy.event()["reason"])


def _interface_address() -> IPv4Address | IPv6Address:
    from corral.network._addresses import local_addresses  # noqa: PLC0415

    for address in sorted(local_addresses(), key=lambda a: (a.version, str(a))):
        if not address.is_loopback and not address.is_link_local:
            return address
    pytest.skip("this machine has no address but loopback and link-local")


def test_an_address_of_this_host_the_proxy_did_not_know_is_refused(
    proxy: Proxy,
) -> None:
    """As when the host takes an address after the proxy listed its own."""
    mine = _interface_address()
    family = socket.AF_INET6 if mine.version == 6 else socket.AF_INET
    server = socket.create_server(("", 0), family=family)
    port = server.getsockname()[1]
    try:
        path, _ = proxy.serve(
            [f"pkg.test:{port}"], hosts={"pkg.test": (mine,)}, local=frozenset()
        )
        reply = exchange(path, f"CONNECT pkg.test:{port} HTTP/1.1\r\n\r\n".encode())
    finally:
        server.close()

    assert reply.status == 403
    assert reply.headers["x-corral-refusal"] == "address-refused"
    assert "an address of this host" in str(proxy.event()["reason"])


def test_names_are_resolved_as_written_not_through_search_domains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    def getaddrinfo(host: str, *_: object) -> list[object]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 443))]

    monkeypatch.setattr(_resolve, "hosts_file_addresses", lambda _host: [])
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert _resolve.system_resolve("pkg.test", 443) == [IPv4Address("10.1.2.3")]
    assert asked == ["pkg.test."]


def test_the_hosts_file_answers_only_for_exactly_the_name(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text(
        "# comment\n\n10.0.0.1 pkg.test Alias.Test.  # trailing\n"
        "10.0.0.2 pkg.test.corp.test\nfe80::1%eth0 pkg.test\n::1 pkg.test\n"
    )
    found = _resolve.hosts_file_addresses
    assert found("pkg.test", hosts) == [IPv4Address("10.0.0.1"), IPv6Address("::1")]
    assert found("alias.test", hosts) == [IPv4Address("10.0.0.1")]
    assert found("pkg", hosts) == []


def test_user_information_in_a_target_is_never_recorded(proxy: Proxy) -> None:
    path, _ = proxy.serve(["pkg.test"])

    reply = exchange(path, b"CONNECT alice:s3cret@pkg.test:443 HTTP/1.1\r\n\r\n")

    assert reply.status == 403
    assert b"s3cret" not in reply.head + reply.body
    event = proxy.event()
    assert "s3cret" not in json.dumps(event)
    assert "alice" not in json.dumps(event)
