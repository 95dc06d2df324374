"""The bridge inside the sandbox: the proxy's loopback port, handed to the host.

Tools expect an HTTP proxy at a TCP address, but the sandbox's network
namespace is empty.  The bridge listens on the sandbox's own loopback and
passes each accepted connection, as a file descriptor, over its channel to the
proxy on the host, which then talks to the client directly.  The channel is
one end of a unix socketpair that only this sandbox holds: no path names it,
so no other sandbox can reach the proxy through it.  The bridge copies no data
and decides nothing: whatever reaches it, the proxy judges.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket

__all__ = ["BRIDGE_PORT", "start_bridge"]

BRIDGE_PORT = 3128
"""The proxy's port on the sandbox's loopback (the port HTTP proxies use)."""

# A proxy that takes longer than this to accept a hand-over is stuck; the
# client's connection is dropped rather than the bridge stalled for everyone.
_HANDOVER_TIMEOUT = 10.0
_BACKLOG = 128
# Signals a terminal sends to the whole foreground group: the command may
# survive them (a shell, a REPL), so the bridge must too.
_IGNORED = (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGTSTP)


def start_bridge(channel: int, port: int = BRIDGE_PORT) -> None:
    """Listen on the loopback `port` and serve it from a detached process.

    `channel` is the sandbox's end of the proxy's socketpair; it is closed
    here, so that only the bridge holds it.  Returns once the port is
    listening, so the command can connect at once.
    The serving process is a grandchild: it is no child of the command (which
    would see it in ``wait``), and it ends with the sandbox's pid namespace.
    Raises `OSError` when 127.0.0.1 cannot be bound.
    """
    proxy = socket.socket(fileno=channel)
    # This process becomes the command, or the supervisor that waits for it
    # (and outlives it by the moment it takes to report): the bridge ends when
    # it does, or the sandbox's init would wait for the bridge forever once
    # nobody is left to end the sandbox (corral killed).
    command = os.pidfd_open(os.getpid())
    try:
        listeners = [_listen(socket.AF_INET, "127.0.0.1", port)]
        with contextlib.suppress(OSError):  # a kernel without IPv6 has no ::1
            listeners.append(_listen(socket.AF_INET6, "::1", port))
        try:
            child = os.fork()
            if child == 0:  # pragma: no cover (runs in the forked process)
                _detach(listeners, proxy, command)
            os.waitpid(child, 0)
        finally:
            for listener in listeners:
                listener.close()
    finally:
        proxy.close()
        os.close(command)


def _listen(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        listener.bind((host, port))
        listener.listen(_BACKLOG)
    except BaseException:
        listener.close()
        raise
    return listener


def _detach(listeners: list[socket.socket], proxy: socket.socket, command: int) -> None:
    """In the first child: fork the server and exit, so that it is reparented."""
    try:
        if os.fork() == 0:
            _serve(listeners, proxy, command)
    finally:
        os._exit(0)


def _serve(listeners: list[socket.socket], proxy: socket.socket, command: int) -> None:
    """Hand every accepted connection to the proxy, until the command ends."""
    for signum in _IGNORED:
        signal.signal(signum, signal.SIG_IGN)
    keep = {listener.fileno() for listener in listeners} | {proxy.fileno(), command}
    proxy.settimeout(_HANDOVER_TIMEOUT)
    _close_other_fds(keep)
    selector = selectors.DefaultSelector()
    for listener in listeners:
        selector.register(listener, selectors.EVENT_READ, listener)
    selector.register(command, selectors.EVENT_READ, None)  # readable: it ended
    while True:
        for key, _ in selector.select():
            listener = key.data
            if listener is None:
                os._exit(0)
            try:
                client, _address = listener.accept()
            except OSError:
                continue
            with client:
                _hand_over(client, proxy)


def _hand_over(client: socket.socket, proxy: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the client sees its connection closed
        socket.send_fds(proxy, [b"\0"], [client.fileno()])


def _close_other_fds(keep: set[int]) -> None:
    """Leave the bridge holding nothing of the command's: stdio on /dev/null."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd != null:
            os.dup2(null, fd)
    low = 3
    for fd in sorted((*keep, null)):
        if fd >= low:
            os.closerange(low, fd)
        low = max(low, fd + 1)
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))
    if null > 2 and null not in keep:
        with contextlib.suppress(OSError):
            os.close(null)
