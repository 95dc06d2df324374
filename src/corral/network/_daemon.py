"""The long-lived proxy process: one per state directory, shared by every run.

It listens on a control socket in corral's state directory, which no sandbox
can see.  A run registers its route together with the unix listener bound
into its sandbox, and keeps the control connection open while it runs: the
connection is its lease.  When the last lease ends, the process exits.
Starting and exiting are serialised by a lock file, so that a run never
registers with a process that is about to go.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import resource
import socket
import sys
import threading
from collections.abc import Sequence
from ipaddress import ip_address
from pathlib import Path
from typing import Literal

from corral._files import identity
from corral.audit import record_event
from corral.errors import CorralError
from corral.network._addresses import local_addresses
from corral.network._control import (
    CONTROL_NAME,
    Channel,
    ChannelClosedError,
    network_dir,
    peer_is_outside_sandboxes,
    socket_name,
    start_lock,
)
from corral.network._grants import SessionGrants
from corral.network._names import Destination
from corral.network._patterns import Rules
from corral.network._proxy import Answer, ProxyServer, Route, ServedRoute
from corral.network._route import RouteConfig
from corral.policy import UnknownDestinations

__all__ = ["main"]

logger = logging.getLogger("corral.network.proxy")

# A started process that no run registers with (the run died first) goes.
_FIRST_LEASE_WAIT = 30.0
# Descriptors the proxy asks for, up to the hard limit: room for thousands of
# connections at once across every run it serves.
_WANTED_FDS = 65536
# How long to wait after the control socket could not accept, before trying again.
_BACKOFF = 0.1
# A connection that has not registered by then is not a run's.
_REGISTER_TIMEOUT = 10.0
# How long a held connection waits for a person's answer before it is refused.
_ASK_TIMEOUT = 300.0


class _Lease:
    """One run's control connection and what it asked the proxy to serve."""

    def __init__(self, daemon: _Daemon, channel: Channel) -> None:
        self.daemon = daemon
        self.channel = channel
        self.send_lock = threading.Lock()
        self.answers: dict[int, Answer] = {}
        self.answered = threading.Condition()
        self.next_question = 0
        self.closed = False

    def ask(self, destination: Destination) -> Answer:
        """Put `destination` to the run's person and wait for the answer."""
        with self.answered:
            self.next_question += 1
            number = self.next_question
        try:
            with self.send_lock:
                self.channel.send(
                    {"op": "ask", "id": number, "destination": destination.authority()}
                )
        except OSError:
            return "no"
        with self.answered:
            self.answered.wait_for(
                lambda: number in self.answers or self.closed, _ASK_TIMEOUT
            )
            return self.answers.pop(number, "no")

    def answer(self, message: dict[str, object]) -> None:
        number, answer = message.get("id"), message.get("answer")
        if isinstance(number, int) and answer in ("once", "session", "no"):
            with self.answered:
                self.answers[number] = answer
                self.answered.notify_all()

    def close(self) -> None:
        with self.answered:
            self.closed = True
            self.answered.notify_all()


class _Daemon:
    def __init__(self, state: Path, directory: Path, control: socket.socket) -> None:
        self.state = state
        self.directory = directory
        self.control = control
        self.control_identity = identity(directory / CONTROL_NAME)
        self.server = ProxyServer()
        self.leases = 0
        self.counted = threading.Lock()
        self.grants = SessionGrants(directory)
        self.stopping = threading.Event()

    def run(self) -> None:
        timer = threading.Timer(_FIRST_LEASE_WAIT, self._maybe_exit)
        timer.daemon = True
        timer.start()
        while not self.stopping.is_set():
            try:
                conn, _ = self.control.accept()
            except OSError as exc:
                if self.stopping.is_set():
                    break
                # Out of descriptors or memory for a moment: runs are still
                # being served; back off rather than end them all.
                logger.warning("cannot accept a control connection: %s", exc)
                self.stopping.wait(_BACKOFF)
                continue
            # Daemon threads: a lease's thread never keeps a stopping process.
            serve = threading.Thread(target=self._serve_lease, args=(conn,))
            serve.daemon = True
            try:
                serve.start()
            except RuntimeError as exc:  # no thread to be had: refuse this run
                logger.warning("cannot serve a control connection: %s", exc)
                conn.close()
        self.server.close()

    def _serve_lease(self, conn: socket.socket) -> None:
        with conn:
            if not peer_is_outside_sandboxes(conn):
                logger.warning("refused a control connection from inside a sandbox")
                return
            channel = Channel(conn)
            lease = _Lease(self, channel)
            conn.settimeout(_REGISTER_TIMEOUT)
            try:
                message, fds = channel.receive()
            except (ChannelClosedError, OSError):
                return
            conn.settimeout(None)
            served = self._register(lease, message, fds)
            if served is False:
                return
            with self.counted:
                self.leases += 1
            try:
                while True:
                    answer, fds = channel.receive()
                    for fd in fds:
                        os.close(fd)
                    if answer.get("op") == "answer":
                        lease.answer(answer)
            except (ChannelClosedError, OSError):
                pass
            finally:
                lease.close()
                if served is not None:
                    served.close()
                with self.counted:
                    self.leases -= 1
                    last = self.leases == 0
                if last:
                    self._maybe_exit()

    def _register(
        self, lease: _Lease, message: dict[str, object], fds: list[int]
    ) -> ServedRoute | Literal[False] | None:
        """Start serving what `message` asks; reply; return the served route,
        None for a lease that only holds the process, False on refusal."""
        try:
            if message.get("op") == "hold" and not fds:
                served = None
            else:
                listener, config = _serve_request(message, fds)
                try:
                    route = self._route(config, lease, ask=message.get("ask") is True)
                    grants = self.grants.load(_session(config))
                    served = self.server.serve(listener, route, grants=grants)
                except BaseException:
                    listener.close()
                    raise
            lease.channel.send({"ok": True})
        except (ValueError, TypeError, CorralError, OSError) as exc:
            for fd in fds:
                os.close(fd)
            with contextlib.suppress(OSError):
                lease.channel.send({"ok": False, "error": str(exc)})
            return False
        return served

    def _route(self, config: RouteConfig, lease: _Lease, *, ask: bool) -> Route:
        rules = Rules.from_entries(allow=config.allow, deny=config.deny)
        hosts = {name: (ip_address(text),) for name, text in config.hosts.items()}
        state, grants, session = self.state, self.grants, _session(config)

        def asker(destination: Destination) -> Answer:
            answer = lease.ask(destination)
            if answer == "session":
                grants.add(session, destination.host, destination.port)
            return answer

        def on_open(fields: dict[str, object]) -> None:
            _record_for_run(state, "network.opened", fields)

        def on_event(fields: dict[str, object]) -> None:
            try:
                _record_for_run(state, "network.connection", fields)
            except CorralError as exc:
                logger.error("%s", exc)  # noqa: TRY400 (the message says it all)

        return Route(
            rules=rules,
            on_event=on_event,
            on_open=on_open,
            # Read again for every run: a long-lived proxy outlives addresses.
            local=local_addresses(),
            context=dict(config.context),
            refuse_private=config.refuse_private,
            hosts=hosts,
            ask=asker if ask and config.unknown is UnknownDestinations.ASK else None,
        )

    def _maybe_exit(self) -> None:
        """Exit if no run holds a lease, under the lock runs register under."""
        with start_lock(self.directory), self.counted:
            if self.leases or self.stopping.is_set():
                return
            path = self.directory / CONTROL_NAME
            if identity(path) == self.control_identity:
                path.unlink()
            self.stopping.set()
            with contextlib.suppress(OSError):
                self.control.shutdown(socket.SHUT_RDWR)
            self.control.close()


def _serve_request(
    message: dict[str, object], fds: list[int]
) -> tuple[socket.socket, RouteConfig]:
    """Read a serve request: the listener it carries and the route.

    Takes the descriptor out of `fds`; raises `ValueError` or `TypeError`.
    """
    if message.get("op") != "serve" or len(fds) != 1:
        raise ValueError(f"expected a serve request with one channel: {message!r}")
    listener = socket.socket(fileno=fds.pop())
    if listener.family != socket.AF_UNIX or listener.type != socket.SOCK_SEQPACKET:
        listener.close()
        raise ValueError("the route's channel is not a unix seqpacket socket")
    raw = message.get("route")
    if not isinstance(raw, dict):
        listener.close()
        raise TypeError("the serve request has no route")
    try:
        return listener, RouteConfig.from_json(raw)
    except ValueError:
        listener.close()
        raise


def _session(config: RouteConfig) -> str:
    return str(config.context.get("session", ""))


def _raise_fd_limit() -> None:
    """Take the descriptors the hard limit allows: each connection holds several."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard == resource.RLIM_INFINITY else min(hard, _WANTED_FDS)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def main(args: Sequence[str]) -> int:
    """Serve as the proxy process for the state directory in `args`.

    Forks once so that the process that started it can reap its child at
    once; the server reports readiness on ``--ready-fd`` and runs until its
    last lease ends.
    """
    parser = argparse.ArgumentParser(prog="corral-proxy")
    parser.add_argument("--state", required=True, type=Path)
    parser.add_argument("--ready-fd", required=True, type=int)
    options = parser.parse_args(args)
    if os.fork() != 0:
        os._exit(0)
    _raise_fd_limit()
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s"
    )
    os.chdir("/")  # no run's workspace stays this process's directory
    try:
        directory = network_dir(options.state)
        path = directory / CONTROL_NAME
        # The starting run holds the lock: any file here is a dead process's.
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with socket_name(path) as name:
            control.bind(name)
        control.listen(64)
        daemon = _Daemon(options.state, directory, control)
    except (OSError, CorralError) as exc:
        os.write(options.ready_fd, f"error: {exc}\n".encode())
        return 1
    os.write(options.ready_fd, b"ready\n")
    os.close(options.ready_fd)
    daemon.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def _record_for_run(state: Path, event: str, fields: dict[str, object]) -> None:
    """Record a connection as an event of the run it served, in that run's session."""
    rest = {k: v for k, v in fields.items() if k not in ("session", "agent")}
    session, agent = fields.get("session"), fields.get("agent")
    record_event(
        state,
        event,
        rest,
        session=str(session) if session is not None else None,
        agent=None if agent is None else str(agent),
    )
