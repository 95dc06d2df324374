"""The host-side filtering proxy: the routes it serves and their connections.

A sandbox's bridge passes each TCP connection as a file descriptor over the
route's channel (a unix socket listener serves clients that speak over the
unix connection itself, for the library and tests).  Each route bounds its
connections, all of them share one budget, and each client is then a
`corral.network._connection.Connection`.
"""

from __future__ import annotations

import os
import resource
import selectors
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from corral._logger import get_logger
from corral.network._connection import Answer, Connection
from corral.network._names import Destination
from corral.network._patterns import Rules
from corral.network._relay import (
    Sockets,
    stream_socket,
)
from corral.network._resolve import system_resolve

__all__ = ["Answer", "ProxyServer", "Route", "ServedRoute", "system_resolve"]

logger = get_logger(__name__)

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
        connection = Connection(self, sockets)
        try:
            connection.turn_away(conn)
        finally:
            sockets.close()
        self.emit(connection.event())

    def _handle(self, conn: socket.socket, sockets: Sockets) -> None:
        connection = Connection(self, sockets)
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
