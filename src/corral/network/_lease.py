"""A run's way out: a route registered with the shared proxy, held while it runs.

`ProxyLease` makes the socketpair whose one end goes to the proxy with the
route and whose other end (`bridge_fd`) goes into the sandbox for its bridge,
starts the proxy process if none is running, registers the route, and answers
the proxy's questions about unknown destinations while the run lasts.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import corral
from corral._files import open_regular
from corral.errors import SandboxSetupError
from corral.network._control import (
    CONTROL_NAME,
    LOG_NAME,
    Channel,
    ChannelClosedError,
    network_dir,
    socket_name,
    start_lock,
)
from corral.network._route import RouteConfig

__all__ = ["Asker", "ProxyLease"]

Asker = Callable[[str], Literal["once", "session", "no"]]
"""Asks a person about a destination (``host:port``); returns their answer."""

# The proxy process is Python: starting it takes a fraction of a second.
_START_TIMEOUT = 15.0
_REPLY_TIMEOUT = 15.0
# The proxy serves every later run of the state directory: nothing of the run
# that started it (resolver variables such as RES_OPTIONS or HOSTALIASES
# included) may shape how it resolves names for the others.
_PROXY_ENV = {"PATH": os.defpath, "LC_ALL": "C.UTF-8"}


class ProxyLease:
    """The proxy serving one route while this object is open; see `bridge_fd`.

    With `config` None the lease only keeps the proxy process running (a
    long-lived `Sandbox` holds one between its commands).  Raises
    `SandboxSetupError` when the proxy cannot be started or refuses the
    route: the command must not run then.
    """

    def __init__(
        self,
        state: Path,
        config: RouteConfig | None,
        *,
        ask: Asker | None = None,
    ) -> None:
        self.directory = network_dir(state)
        self.bridge_fd: int | None = None
        """The sandbox's end of the route's channel, for its bridge (inheritable)."""
        self._ask = ask
        self._thread: threading.Thread | None = None
        proxy_end = None
        if config is not None:
            proxy_end, bridge_end = socket.socketpair(
                socket.AF_UNIX, socket.SOCK_SEQPACKET
            )
            self.bridge_fd = bridge_end.detach()
        try:
            # Under the lock: the proxy exits only while holding it, so it
            # cannot go between this connection and the registration.
            with start_lock(self.directory):
                conn = self._connect(state)
                self._channel = Channel(conn)
                self._register(conn, config, proxy_end)
        except OSError as exc:
            self._close_bridge()
            raise _unavailable(f"cannot reach the proxy: {exc}") from exc
        except BaseException:
            self._close_bridge()
            raise
        finally:
            if proxy_end is not None:
                proxy_end.close()  # the proxy holds its own copy
        self.lost = False
        """Whether the proxy ended the lease before `close` did."""
        self._closing = False
        if config is not None:
            self._thread = threading.Thread(target=self._answer, args=(ask,))
            self._thread.daemon = True
            self._thread.start()

    def __enter__(self) -> ProxyLease:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """End the lease: the proxy stops serving this route at once."""
        self._closing = True
        with contextlib.suppress(OSError):
            self._channel.sock.shutdown(socket.SHUT_RDWR)
        self._channel.sock.close()
        if self._thread is not None:
            self._thread.join()
        self._close_bridge()

    def _register(
        self,
        conn: socket.socket,
        config: RouteConfig | None,
        channel: socket.socket | None,
    ) -> None:
        conn.settimeout(_REPLY_TIMEOUT)
        try:
            if config is None or channel is None:
                self._channel.send({"op": "hold"})
            else:
                self._channel.send(
                    {
                        "op": "serve",
                        "route": config.to_json(),
                        "ask": self._ask is not None,
                    },
                    fds=(channel.fileno(),),
                )
            reply, fds = self._channel.receive()
        except (OSError, ChannelClosedError) as exc:
            conn.close()
            raise _unavailable(f"the proxy did not answer: {exc}") from exc
        for fd in fds:
            os.close(fd)
        conn.settimeout(None)
        if reply.get("ok") is not True:
            conn.close()
            raise _unavailable(f"the proxy refused the route: {reply.get('error')}")

    def _connect(self, state: Path) -> socket.socket:
        """Connect to the running proxy or start one; call with the lock held."""
        path = self.directory / CONTROL_NAME
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with socket_name(path) as name:
                conn.connect(name)
        except (FileNotFoundError, ConnectionRefusedError):
            conn.close()
            _start(state, self.directory)
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                with socket_name(path) as name:
                    conn.connect(name)
            except OSError as exc:
                conn.close()
                raise _unavailable(f"cannot reach the proxy it started: {exc}") from exc
        except OSError:
            conn.close()
            raise
        return conn

    def _answer(self, ask: Asker | None) -> None:
        """Answer the proxy's questions until the lease ends; note if it ends first."""
        while True:
            try:
                message, fds = self._channel.receive()
            except (ChannelClosedError, OSError):
                self.lost = not self._closing
                return
            for fd in fds:
                os.close(fd)
            if message.get("op") != "ask":
                continue
            destination = str(message.get("destination", "?"))
            try:
                answer = "no" if ask is None else ask(destination)
            except Exception:  # noqa: BLE001 (an asker that fails says no)
                answer = "no"
            with contextlib.suppress(OSError):
                self._channel.send(
                    {"op": "answer", "id": message.get("id"), "answer": answer}
                )

    def take_bridge(self) -> int | None:
        """Give up the sandbox's end of the channel to the caller, who closes it."""
        fd, self.bridge_fd = self.bridge_fd, None
        return fd

    def _close_bridge(self) -> None:
        if self.bridge_fd is not None:
            os.close(self.bridge_fd)
            self.bridge_fd = None


def _start(state: Path, directory: Path) -> None:
    """Start the proxy process and wait until it listens; call with the lock held."""
    package_parent = Path(corral.__file__).resolve().parent.parent
    code = (
        f"import sys; sys.path.insert(0, {str(package_parent)!r}); "
        "from corral.network._daemon import main; sys.exit(main(sys.argv[1:]))"
    )
    ready_r, ready_w = os.pipe()
    log = open_regular(directory / LOG_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-S",
                "-c",
                code,
                "--state",
                str(state),
                "--ready-fd",
                str(ready_w),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            pass_fds=(ready_w,),
            start_new_session=True,
            cwd="/",
            env=_PROXY_ENV,
        )
        os.close(ready_w)
        ready_w = -1
        process.wait()  # the first process forks the server and exits
        line = _read_line(ready_r, _START_TIMEOUT)
    finally:
        for fd in (ready_r, ready_w, log):
            if fd >= 0:
                os.close(fd)
    if line != "ready":
        said = line or "no answer"
        raise _unavailable(
            f"the proxy did not start ({said}); see {directory / LOG_NAME}"
        )


def _read_line(fd: int, timeout: float) -> str:
    data = b""
    while b"\n" not in data:
        readable, _, _ = select.select([fd], [], [], timeout)
        if not readable:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


def _unavailable(reason: str) -> SandboxSetupError:
    # Not a missing layer: the network layer is there, its proxy failed, and
    # accepting the layer as missing would not make the command safe to run.
    return SandboxSetupError(
        f"{reason}; allow-list network needs corral's proxy, so the command did not run"
    )
