"""One client of the proxy, from its first byte to its records.

The request is read, its destination made canonical and judged by name, its
addresses resolved and judged, the connection made and recorded before any
byte passes, then tunnelled or forwarded; the event says how it ended.
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import TYPE_CHECKING, Literal

from corral._logger import get_logger
from corral.network._addresses import judge_address
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
from corral.network._relay import (
    Reader,
    Sockets,
    Tally,
    receive_client,
    relay,
    reply,
)
from corral.network._resolve import host_addresses

if TYPE_CHECKING:
    from corral.network._proxy import ServedRoute

__all__ = ["FIRST_MESSAGE_TIMEOUT", "HEAD_TIMEOUT", "Answer", "Connection"]

logger = get_logger(__name__)

IPAddress = IPv4Address | IPv6Address
Answer = Literal["once", "session", "no"]
"""A person's answer about a destination no entry names."""

FIRST_MESSAGE_TIMEOUT = 5.0
"""Seconds a new unix connection has to pass its descriptor or start its request."""
HEAD_TIMEOUT = 30.0
"""Seconds a client has to send its whole request head (a slow client holds a
thread and a slot until then)."""
_TURN_AWAY_TIMEOUT = 0.5  # the accepting thread waits no longer on a client it refuses


class Connection:
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
        local = self._route.local if self._route.local is not None else host_addresses()
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


def _reaches_itself(sock: socket.socket) -> bool:
    """Whether a connected socket's two ends are the same address of this host."""
    try:
        here, there = sock.getsockname()[0], sock.getpeername()[0]
        return bool(ip_address(here) == ip_address(there))
    except (OSError, ValueError):
        return True  # a connection that cannot say where it goes is not made
