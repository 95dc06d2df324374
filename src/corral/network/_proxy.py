"""The host-side filtering proxy: each connection decided, connected and recorded.

A sandbox reaches it over a unix socket, passing its TCP connection as a file
descriptor or speaking over the unix connection itself.  The name is judged
before any lookup, every resolved address after, and each connection becomes
one event when it ends.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import resource
import secrets
import selectors
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import Literal

from corral.network._addresses import judge_address, local_addresses
from corral.network._http import (
    CONNECTED,
    BadRequestError,
    BusyError,
    ProxyReplyError,
    RefusedError,
    Request,
    UnrecordedError,
    UpstreamError,
    forward,
    read_request,
)
from corral.network._names import Destination, DestinationError, parse_authority
from corral.network._patterns import Rules
from corral.network._relay import (
    Reader,
    Sockets,
    Tally,
    receive_client,
    relay,
    reply,
    stream_socket,
)

__all__ = ["Answer", "ProxyServer", "Route", "ServedRoute", "system_resolve"]

logger = logging.getLogger(__name__)

Answer = Literal["once", "session", "no"]
IPAddress = IPv4Address | IPv6Address

MAX_CONNECTIONS = 256
# What one connection holds at most: the client, the upstream socket and a
# pipe each way for splice, with room to spare.
_FDS_PER_CONNECTION = 8
# Descriptors kept back for everything else the process opens (routes'
# listeners, control connections, the event log).
_FDS_KEPT = 128
"""Connections served at once on one route; more are turned away with a 503, so
a runaway command cannot exhaust the host's threads or descriptors."""
FIRST_MESSAGE_TIMEOUT = 5.0
"""Seconds a new unix connection has to pass its descriptor or start its request."""
HEAD_TIMEOUT = 30.0
"""Seconds a client has to send its whole request head (a slow client holds a
thread and a slot until then)."""
_TURN_AWAY_TIMEOUT = 0.5  # the accepting thread waits no longer on a client it refuses


def system_resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses of exactly `host` (a canonical name) for a TCP connection.

    The hosts file first, as the system's own order has it, then DNS with the
    name made absolute: the resolver's search domains (``search``, ``ndots``)
    would otherwise resolve a name other than the one the rules judged.
    Raises `OSError` (`socket.gaierror`) when the name does not resolve.
    """
    listed = _hosts_file_addresses(host)
    if listed:
        return listed
    infos = socket.getaddrinfo(
        host + ".", port, socket.AF_UNSPEC, socket.SOCK_STREAM, socket.IPPROTO_TCP,
        socket.AI_ADDRCONFIG | socket.AI_NUMERICSERV,
    )  # fmt: skip
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ip_address(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


HOSTS_FILE = Path("/etc/hosts")


def _hosts_file_addresses(host: str, path: Path = HOSTS_FILE) -> list[IPAddress]:
    """The addresses the hosts file gives exactly `host` (names compared in
    lower case, without a trailing dot), in the file's order."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    found: list[IPAddress] = []
    for line in text.splitlines():
        fields = line.partition("#")[0].split()
        if len(fields) < 2:
            continue
        address, *names = fields
        if "%" in address or host not in (n.lower().rstrip(".") for n in names):
            continue  # a zone id names an interface, not a destination
        with contextlib.suppress(ValueError):
            parsed = ip_address(address)
            if parsed not in found:
                found.append(parsed)
    return found


def _reaches_itself(sock: socket.socket) -> bool:
    """Whether a connected socket's two ends are the same address of this host."""
    try:
        here, there = sock.getsockname()[0], sock.getpeername()[0]
        return bool(ip_address(here) == ip_address(there))
    except (OSError, ValueError):
        return True  # a connection that cannot say where it goes is not made


class _Budget:
    """Connections the whole server may still take."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._left = total
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self._left += 1


def _fd_budget() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1 << 16
    return max(16, (soft - _FDS_KEPT) // _FDS_PER_CONNECTION)


@functools.cache
def _host_addresses() -> frozenset[IPAddress]:
    return frozenset(local_addresses())


@dataclass(frozen=True)
class Route:
    """What one listener's clients may reach, and where their events go.

    `ask` is called, holding the connection, for a destination the rules do
    not decide; without it such a destination is refused.  `local` defaults
    to this host's own addresses, found once when first needed.
    """

    rules: Rules
    on_event: Callable[[dict[str, object]], None]
    context: Mapping[str, object] = field(default_factory=dict)
    refuse_private: bool = False
    hosts: Mapping[str, tuple[IPAddress, ...]] = field(default_factory=dict)
    ask: Callable[[Destination], Answer] | None = None
    on_open: Callable[[dict[str, object]], None] | None = None
    """Called with the event so far once a connection is allowed and made,
    before any byte passes; if it raises, the connection is closed and the
    client refused (``unrecorded``): nothing passes that was not recorded."""
    resolve: Callable[[str, int], Sequence[IPAddress]] = system_resolve
    local: frozenset[IPAddress] | None = None
    connect_timeout: float = 10.0


class ProxyServer:
    """Serves any number of routes, each on a unix listener of its own."""

    def __init__(self, max_total: int | None = None) -> None:
        """`max_total` bounds the connections of all routes together; by
        default, what the process's descriptor limit leaves room for, so that
        one route's clients cannot take every descriptor the others need."""
        self._lock = threading.Lock()
        self._served: list[ServedRoute] = []
        self._closed = False
        self.budget = _Budget(max_total if max_total is not None else _fd_budget())

    def serve(
        self,
        listener: socket.socket,
        route: Route,
        grants: set[tuple[str, int]] | None = None,
        *,
        max_connections: int = MAX_CONNECTIONS,
    ) -> ServedRoute:
        """Serve `route` on `listener`, a bound, listening AF_UNIX stream socket.

        `grants` is the set of (host, port) a person allowed for the session,
        shared with other routes of the same session when given.  The route
        owns the listener from now on.  Raises `ValueError` for another kind
        of socket, `RuntimeError` once the server is closed.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the proxy server is closed")
            # One command may hold at most a quarter of what all share.
            share = max(1, min(max_connections, self.budget.total // 4))
            served = ServedRoute(listener, route, grants, share, self.budget)
            # A long-lived server serves route after route: forget closed ones.
            self._served = [s for s in self._served if not s.closed]
            self._served.append(served)
        return served

    def close(self) -> None:
        """Stop every route, close every connection, and wait for their threads."""
        with self._lock:
            self._closed = True
            served, self._served = self._served, []
        for route in served:
            route.close()


class ServedRoute:
    """One listener being served: its connections, and its session's grants."""

    def __init__(
        self,
        listener: socket.socket,
        route: Route,
        grants: set[tuple[str, int]] | None,
        max_connections: int,
        budget: _Budget | None = None,
    ) -> None:
        if listener.family != socket.AF_UNIX or listener.type not in (
            socket.SOCK_STREAM,
            socket.SOCK_SEQPACKET,
        ):
            raise ValueError("the proxy listens on AF_UNIX stream sockets only")
        # A seqpacket socket is a bridge's channel: one end of a socketpair
        # whose other end only the run's sandbox holds, each message passing
        # one client; nothing else can reach it, as no path names it.
        self._channel = listener.type == socket.SOCK_SEQPACKET
        self._ended = False
        self.route = route
        self.session_grants: set[tuple[str, int]] = set() if grants is None else grants
        self.ask_lock = threading.Lock()
        self._listener = listener
        self.max_connections = max_connections
        self._budget = budget if budget is not None else _Budget(max_connections)
        self._lock = threading.Lock()
        self._close_lock = threading.Lock()
        self._connections: dict[threading.Thread, Sockets] = {}
        self._closing = threading.Event()
        self._wake_read, self._wake_write = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        listener.setblocking(False)
        self._acceptor = threading.Thread(
            target=self._accept_loop, name="corral-proxy-accept"
        )
        self._acceptor.start()

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closing.is_set()

    def close(self) -> None:
        """Stop accepting, close the listener, cut open connections, join threads."""
        with self._close_lock:
            if not self._closing.is_set():
                self._closing.set()
                os.write(self._wake_write, b"\0")
                self._acceptor.join()
                self._listener.close()
                os.close(self._wake_read)
                os.close(self._wake_write)
            with self._lock:
                connections = list(self._connections.items())
            for _, sockets in connections:
                sockets.cut()
            for thread, _ in connections:
                if thread is not threading.current_thread():
                    thread.join()

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while not self._closing.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._listener:
                        self._accept()
                if self._ended:
                    selector.unregister(self._listener)
                    self._ended = False

    def _accept(self) -> None:
        try:
            if self._channel:
                conn = self._take_passed()
                if conn is None:
                    return
            else:
                conn, _ = self._listener.accept()
        except BlockingIOError:
            return
        except OSError as exc:
            # Out of descriptors, most likely: back off rather than spin.
            logger.warning("corral: the proxy cannot accept a connection: %s", exc)
            self._closing.wait(0.1)
            return
        with self._lock:
            busy = len(self._connections) >= self.max_connections
        if busy or not self._budget.take():
            self._turn_away(conn)
            return
        sockets = Sockets()
        sockets.add(conn)
        thread = threading.Thread(
            target=self._handle, args=(conn, sockets), name="corral-proxy"
        )
        with self._lock:
            self._connections[thread] = sockets
        try:
            thread.start()
        except RuntimeError:
            with self._lock:
                del self._connections[thread]
            self._budget.give_back()
            conn.close()

    def _take_passed(self) -> socket.socket | None:
        """The next client the bridge passes over the channel, if a valid one."""
        data, fds, flags, _ = socket.recv_fds(
            self._listener, 1, 1, socket.MSG_CMSG_CLOEXEC | socket.MSG_DONTWAIT
        )
        if not data and not fds:
            self._ended = True  # the sandbox has ended: nothing more will come
            return None
        if flags & socket.MSG_CTRUNC or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            return None
        return stream_socket(fds[0])

    def _turn_away(self, conn: socket.socket) -> None:
        sockets = Sockets()
        sockets.add(conn)
        connection = _Connection(self, sockets)
        try:
            connection.turn_away(conn)
        finally:
            sockets.close()
        self.emit(connection.event())

    def _handle(self, conn: socket.socket, sockets: Sockets) -> None:
        connection = _Connection(self, sockets)
        try:
            connection.run(conn)
        except Exception:  # one connection's bug must not end the proxy
            logger.exception("corral: the proxy failed on a connection")
            connection.fields["reason"] = "corral failed on this connection"
        finally:
            sockets.close()
            self.emit(connection.event())
            with self._lock:
                del self._connections[threading.current_thread()]
            self._budget.give_back()

    def emit(self, event: dict[str, object]) -> None:
        """Hand one event to the route; an event that cannot be handed on is logged."""
        try:
            self.route.on_event(event)
        except Exception:  # the connection is over: log, and go on
            logger.exception("corral: the proxy could not record %r", event)


class _Connection:
    """One client, from its first byte to its event."""

    def __init__(self, served: ServedRoute, sockets: Sockets) -> None:
        self._served = served
        self._route = served.route
        self._sockets = sockets
        self._started = time.monotonic()
        self._up = Tally()
        self._down = Tally()
        self._open = False
        self.fields: dict[str, object] = {
            "event": "network.connection",
            **self._route.context,
            "connection": secrets.token_hex(8),
            "method": None, "name": None, "port": None, "addresses": [],
            "address": None, "decision": "refuse", "rule": None, "origin": None,
            "reason": None, "code": None, "asked": False, "address_rule": None,
        }  # fmt: skip

    def event(self) -> dict[str, object]:
        """The connection's event, with its byte counts and duration so far."""
        elapsed = (time.monotonic() - self._started) * 1000
        return {
            **self.fields,
            "bytes_up": self._up.count,
            "bytes_down": self._down.count,
            "duration_ms": round(elapsed, 3),
        }

    def run(self, conn: socket.socket) -> None:
        """Serve the client that `conn` is, or passes, to its end."""
        received = receive_client(conn, FIRST_MESSAGE_TIMEOUT, self._sockets)
        if isinstance(received, str):
            self.fields["reason"] = received
            return
        client, data = received
        reader = Reader(client, data, BadRequestError, time.monotonic() + HEAD_TIMEOUT)
        subject = "the request"
        try:
            request = read_request(reader)
            self.fields["method"] = request.method
            subject = _printable(request.authority)
            destination = self._destination(request)
            subject = destination.authority()
            self._judge_name(destination)
            upstream = self._connect(destination, self._addresses(destination))
            self._opened(upstream)
        except ProxyReplyError as exc:
            self._note(exc)
            reply(client, exc.reply(subject))
            return
        reader.end_deadline()
        client.settimeout(None)
        upstream.settimeout(None)
        if request.method == "CONNECT":
            self._tunnel(client, reader, upstream)
            return
        failure = forward(
            client, reader, request, upstream, destination,
            sockets=self._sockets, up=self._up, down=self._down,
        )  # fmt: skip
        if failure is not None:
            self._note(failure)

    def turn_away(self, conn: socket.socket) -> None:
        """Refuse the client with a 503: its route is serving all it may."""
        received = receive_client(conn, _TURN_AWAY_TIMEOUT, self._sockets)
        if isinstance(received, str):
            self.fields["reason"] = received
            return
        refusal = BusyError(self._served.max_connections)
        self._note(refusal)
        reply(received[0], refusal.reply("the connection"), linger=False)

    def _destination(self, request: Request) -> Destination:
        """The request's canonical destination, which its Host header must name."""
        try:
            destination = parse_authority(
                request.authority, default_port=request.default_port
            )
        except DestinationError as exc:
            self.fields["name"] = _printable(request.authority)
            raise RefusedError("invalid-destination", str(exc)) from exc
        self.fields["name"] = destination.host
        self.fields["port"] = destination.port
        if request.host_header is None or request.method == "CONNECT":
            return destination
        try:
            named = parse_authority(request.host_header, default_port=80)
        except DestinationError as exc:
            raise BadRequestError(
                f"the Host header is not a destination: {exc}"
            ) from exc
        if (named.host, named.port) != (destination.host, destination.port):
            raise BadRequestError(
                f"the Host header names {named.authority()} but the URL names "
                f"{destination.authority()}"
            )
        return destination

    def _judge_name(self, destination: Destination) -> None:
        """Decide on the name alone, before anything is looked up."""
        verdict = self._route.rules.judge(destination)
        self._note_rule(verdict.rule)
        self.fields["reason"] = verdict.reason
        if verdict.decision == "refuse":
            raise RefusedError("denied", verdict.reason, verdict.rule)
        if verdict.decision == "allow" or self._granted(destination):
            return
        if self._route.ask is None:
            raise RefusedError("not-allowed", verdict.reason)
        # One question at a time: a second connection to the same place waits
        # for the first answer rather than asking the person again.
        with self._served.ask_lock:
            if self._granted(destination):
                return
            self.fields["asked"] = True
            answer = self._ask(self._route.ask, destination)
        if answer == "session":
            self._served.session_grants.add((destination.host, destination.port))
            self.fields["reason"] = "a person allowed it for this session"
        elif answer == "once":
            self.fields["reason"] = "a person allowed it once"
        else:
            raise RefusedError("declined", "a person declined this destination")

    def _granted(self, destination: Destination) -> bool:
        if (destination.host, destination.port) not in self._served.session_grants:
            return False
        self.fields["reason"] = "a person allowed it for this session"
        return True

    @staticmethod
    def _ask(ask: Callable[[Destination], Answer], destination: Destination) -> Answer:
        try:
            return ask(destination)
        except Exception as exc:  # whatever failed, no one said yes
            logger.exception("corral: the proxy could not ask about %s", destination)
            raise RefusedError("not-allowed", f"no one could be asked: {exc}") from exc

    def _addresses(self, destination: Destination) -> list[IPAddress]:
        """Resolve once, then keep the addresses the rules let through."""
        if destination.address is not None:
            found: Sequence[IPAddress] = (destination.address,)
        elif destination.host in self._route.hosts:
            found = self._route.hosts[destination.host]
        else:
            try:
                found = self._route.resolve(destination.host, destination.port)
            except OSError as exc:
                raise UpstreamError(
                    "resolve-failed", f"cannot resolve {destination.host}: {exc}"
                ) from exc
        self.fields["addresses"] = [str(address) for address in found]
        if not found:
            raise UpstreamError("resolve-failed", f"{destination.host} has no address")
        local = (
            self._route.local if self._route.local is not None else _host_addresses()
        )
        verdicts = [
            judge_address(
                address, destination.port, self._route.rules,
                refuse_private=self._route.refuse_private, local=local,
            )
            for address in found
        ]  # fmt: skip
        allowed = [verdict.address for verdict in verdicts if verdict.allowed]
        if not allowed:
            rule = next((v.rule for v in verdicts if v.rule is not None), None)
            reasons = "; ".join(verdict.reason for verdict in verdicts)
            refusal = RefusedError("address-refused", reasons, rule)
            # The addresses stay in the record: the sandbox has no resolver of
            # its own, and a refusal must not become one.
            refusal.shown = (
                "every address it resolves to is refused (loopback, link-local, "
                "metadata, this host's, or denied); corral's record of this "
                "connection says which"
            )
            raise refusal
        admitted = [v.rule for v in verdicts if v.allowed and v.rule is not None]
        if admitted:
            self.fields["address_rule"] = getattr(admitted[0], "text", None)
        self.fields["decision"] = "allow"
        return allowed

    def _connect(
        self, destination: Destination, addresses: list[IPAddress]
    ) -> socket.socket:
        """Connect to the first address that answers within the route's timeout."""
        deadline = time.monotonic() + self._route.connect_timeout
        failures: list[str] = []
        for address in addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._sockets.is_cut:
                break
            family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            try:
                upstream = socket.socket(family, socket.SOCK_STREAM)
            except OSError as exc:  # no IPv6 here, or out of descriptors
                failures.append(f"{address}: {exc.strerror}")
                continue
            self._sockets.add(upstream)
            upstream.settimeout(remaining)
            try:
                upstream.connect((str(address), destination.port))
            except OSError as exc:
                failures.append(f"{address}: {exc.strerror or 'timed out'}")
                self._sockets.discard(upstream)
                continue
            if _reaches_itself(upstream) and not self._route.rules.explicit_address(
                address, destination.port
            ):
                # An address this host took after the proxy listed its own,
                # or one local by a route (AnyIP): the kernel knows.
                self._sockets.discard(upstream)
                raise RefusedError(
                    "address-refused", f"{address} is an address of this host"
                )
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.fields["address"] = str(address)
            return upstream
        reason = "; ".join(failures) or "no address answered in time"
        raise UpstreamError("connect-failed", f"cannot connect: {reason}")

    def _tunnel(
        self, client: socket.socket, reader: Reader, upstream: socket.socket
    ) -> None:
        early = reader.take()  # bytes a client sent before it saw the 200
        try:
            client.sendall(CONNECTED)
            upstream.sendall(early)
        except OSError:
            return
        self._up.count += len(early)
        relay(client, upstream, self._sockets, self._up, self._down)

    def _opened(self, upstream: socket.socket) -> None:
        """Record the allowed connection before any byte passes through it."""
        if self._route.on_open is not None:
            try:
                self._route.on_open(dict(self.fields))
            except Exception as exc:
                upstream.close()
                raise UnrecordedError(
                    f"the connection could not be recorded: {exc}"
                ) from exc
        self._open = True

    def _note(self, failure: ProxyReplyError) -> None:
        self.fields["code"] = failure.code
        self.fields["reason"] = failure.reason
        # Once open, bytes have passed: the decision stays what let them.
        if isinstance(failure, RefusedError) and not self._open:
            self.fields["decision"] = "refuse"
            if failure.rule is not None:
                self._note_rule(failure.rule)

    def _note_rule(self, rule: object) -> None:
        self.fields["rule"] = getattr(rule, "text", None)
        origin = getattr(rule, "origin", None)
        self.fields["origin"] = None if origin is None else str(origin)


def _printable(text: str) -> str:
    """Client-supplied text, safe to show in a reply or an event.

    What comes before an ``@`` is user information (a name and password a
    client put in its target): never shown, never recorded.
    """
    if "@" in text:
        text = "***@" + text.rpartition("@")[2]
    shown = "".join(c if c.isprintable() else "?" for c in text)
    return shown if len(shown) <= 255 else shown[:255] + "..."
