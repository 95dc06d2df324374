"""Start the sandboxed process, carry its output, and end its whole tree.

The launcher owns the file descriptors around one run: the enforcer's status
pipe, bubblewrap's own status and error pipes, and the output streams that
corral carries (to scan what the sandbox refused, or to capture for a caller).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from corral._logger import get_logger
from corral.errors import SandboxSetupError
from corral.sandbox._outlet import Outlet

__all__ = ["Carried", "Launch", "Outcome", "abandon", "launch", "start"]

logger = get_logger(__name__)

_READ_CHUNK = 1 << 16
# How much of a carried stream is kept for refusal hints and callers' tails.
TAIL_BYTES = 1 << 16
# After the command ends, output still buffered in pipes is drained for this long
# (counted from the last time corral waited for a slow reader).
_DRAIN_SECONDS = 2.0
# A reader this far behind pauses the pipe it is fed from, so the command waits
# for the reader as it would with no corral in between.
_BACKLOG_BYTES = 1 << 20
# How long bubblewrap may take to say which process is the sandbox's pid 1, on
# a loaded machine; it does so at once after creating it.
_INIT_REPORT_SECONDS = 2.0


@dataclass
class Carried:
    """An output stream corral reads: forwarded to `forward_fd` and/or kept."""

    forward_fd: int | None
    keep_all: bool = False
    data: bytearray = field(default_factory=bytearray)
    size: int = 0
    open_line: bool = False
    """Whether the last byte forwarded was other than a newline."""

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.data += chunk
        if not self.keep_all and len(self.data) > TAIL_BYTES:
            del self.data[: len(self.data) - TAIL_BYTES]


@dataclass
class Launch:
    """One process to start, with the pipes the launcher should watch."""

    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: str | None
    stdin: int
    stdout: int
    stderr: int
    pass_fds: tuple[int, ...]
    """Descriptors the child inherits by number (status pipes, carried stderr)."""
    close_after_spawn: tuple[int, ...]
    """Descriptors the parent closes once the child holds them."""
    status_r: int
    """Read end of the enforcer's status pipe."""
    errors_r: int
    """Read end of the launched program's own stderr (bubblewrap's errors)."""
    json_r: int | None = None
    """Read end of bubblewrap's --json-status-fd, when bubblewrap is used."""
    carried: dict[int, Carried] = field(default_factory=dict)
    """Read ends of output pipes, each with what to do with its bytes."""
    timeout: float | None = None


@dataclass
class Outcome:
    """What happened to one launched process."""

    returncode: int
    timed_out: bool
    duration: float
    status_lines: list[dict[str, object]]
    bwrap_status: list[dict[str, object]]
    errors: bytes
    """What the launched process itself wrote to its stderr (bubblewrap's errors)."""
    direct: bool = False
    """Whether the launched process was the enforcer itself, no bubblewrap around
    it, so that its own end was the command's."""


def start(spec: Launch) -> subprocess.Popen[bytes]:
    """Start the process of `spec`; close `spec.close_after_spawn` whatever happens.

    Raises `SandboxSetupError` when the launcher cannot be started.
    """
    try:
        return subprocess.Popen(
            list(spec.argv),
            env=dict(spec.env),
            cwd=spec.cwd,
            stdin=spec.stdin,
            stdout=spec.stdout,
            stderr=spec.stderr,
            pass_fds=spec.pass_fds,
            close_fds=True,
        )
    except OSError as exc:
        raise SandboxSetupError(
            f"cannot start the sandbox launcher {spec.argv[0]}: {exc.strerror}; "
            "the command did not run; check that corral's installation is "
            "intact, and for an argument list too long, shorten the command's "
            "arguments"
        ) from exc
    finally:
        for fd in spec.close_after_spawn:
            os.close(fd)


def launch(spec: Launch, started: subprocess.Popen[bytes] | None = None) -> Outcome:
    """Run `spec` to completion and return its outcome; the process tree is gone after.

    With `started`, a process `start` made for `spec` earlier is watched from
    now on instead of a new one.  Every descriptor named in `spec` is closed
    when this returns.  Raises `SandboxSetupError` when the launcher cannot be
    started.
    """
    begun = time.monotonic()
    deadline = None if spec.timeout is None else begun + spec.timeout
    watcher = _Watcher(spec)
    process: subprocess.Popen[bytes] | None = started
    timed_out = False
    # One try around both steps: an exception (a signal turned into one) that
    # arrives once the process exists still ends its tree.
    try:
        if process is None:
            process = start(spec)
        timed_out = watcher.run(process, deadline)
    finally:
        if process is not None:
            watcher.end_tree(process)
        dropped = watcher.finish_forwarding()
        watcher.close()
    # Logged only now: corral's own stderr may be the stream nobody reads.
    if timed_out:
        logger.info("time limit reached; the sandbox was ended")
    if dropped:
        logger.info("%d bytes of output were not delivered before the end", dropped)
    return Outcome(
        returncode=process.returncode,
        timed_out=timed_out,
        duration=time.monotonic() - begun,
        status_lines=_json_lines(watcher.buffers[spec.status_r]),
        bwrap_status=_json_lines(watcher.buffers.get(spec.json_r or -1, bytearray())),
        errors=bytes(watcher.buffers[spec.errors_r]),
        direct=spec.json_r is None,
    )


def abandon(spec: Launch, process: subprocess.Popen[bytes]) -> None:
    """End a process `start` made for `spec`, unwatched, and close `spec`'s pipes."""
    watcher = _Watcher(spec)
    try:
        watcher.end_tree(process)
    finally:
        watcher.close()


class _Watcher:
    """Reads every watched pipe until the process ends, then drains them.

    Carried output goes out through an `Outlet` per destination, so a reader
    that does not read delays neither the deadline nor the end of the tree; a
    source whose outlet falls `_BACKLOG_BYTES` behind is paused until it drains,
    and one whose destination is gone is closed.
    """

    def __init__(self, spec: Launch) -> None:
        self.spec = spec
        self.selector = selectors.DefaultSelector()
        self.buffers: dict[int, bytearray] = {}
        self.sandbox_pidfd: int | None = None
        self.outlets: dict[int, Outlet] = {}
        """Keyed by the destination descriptor each forwards to."""
        self.routes: dict[int, Outlet] = {}
        """Keyed by the source pipe each carried stream is read from."""
        self.paused: set[int] = set()
        try:
            for source, carried in spec.carried.items():
                target = carried.forward_fd
                if target is not None:
                    if target not in self.outlets:
                        self.outlets[target] = Outlet(target)
                    self.routes[source] = self.outlets[target]
        except BaseException:
            self._close_outlets()
            raise
        for fd in (spec.status_r, spec.json_r, spec.errors_r, *spec.carried):
            if fd is not None:
                os.set_blocking(fd, False)
                self.selector.register(fd, selectors.EVENT_READ)
                self.buffers[fd] = bytearray()

    def run(self, process: subprocess.Popen[bytes], deadline: float | None) -> bool:
        """Pump pipes until the process exits; return whether the deadline passed."""
        # A pidfd becomes readable when the process exits, so the end of the
        # command wakes the loop at once instead of at the next poll.
        exited = os.pidfd_open(process.pid)
        self.selector.register(exited, selectors.EVENT_READ)
        try:
            while True:
                remaining = _until(deadline)
                if remaining is not None and remaining <= 0:
                    return True
                if self._pump(remaining, exited):
                    break
        finally:
            self.selector.unregister(exited)
            os.close(exited)
        process.wait()
        self._drain(deadline)
        return False

    def _drain(self, deadline: float | None) -> None:
        """Read what the pipes still hold after the exit, and deliver it.

        A pipe still open after `_DRAIN_SECONDS` without corral waiting for a
        reader is held by a straggler and given up; delivery stops at the deadline.
        """
        quiet_until = time.monotonic() + _DRAIN_SECONDS
        while self._reading():
            now = time.monotonic()
            if self.paused:
                quiet_until = now + _DRAIN_SECONDS
            limit = quiet_until if deadline is None else min(quiet_until, deadline)
            if now >= limit:
                break
            self._pump(limit - now)
        for fd in self.buffers:
            if fd not in self.paused and fd in self.selector.get_map():
                self.selector.unregister(fd)
        self.paused.clear()
        while any(outlet.pending for outlet in self.outlets.values()):
            remaining = _until(deadline)
            if remaining is not None and remaining <= 0:
                break
            self._pump(remaining)

    def _reading(self) -> bool:
        registered = self.selector.get_map()
        return bool(self.paused) or any(fd in registered for fd in self.buffers)

    def _pump(self, wait: float | None, exited: int = -1) -> bool:
        """Move what is ready on the pipes; return whether `exited` became readable."""
        done = False
        for key, _ in self.selector.select(None if wait is None else max(wait, 0)):
            fd = int(key.fd)
            if fd not in self.selector.get_map():
                continue  # closed by an earlier event of this round
            if fd == exited:
                done = True
            elif isinstance(key.data, Outlet):
                self._deliver(key.data)
            else:
                self._read(fd)
        return done

    def _read(self, fd: int) -> None:
        try:
            chunk = os.read(fd, _READ_CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            self.selector.unregister(fd)
            return
        carried = self.spec.carried.get(fd)
        if carried is None:
            self.buffers[fd] += chunk
            if fd == self.spec.json_r:
                self._watch_sandbox_init()
            return
        carried.feed(chunk)
        outlet = self.routes.get(fd)
        if outlet is not None:
            outlet.add(chunk)
            self._deliver(outlet)

    def _deliver(self, outlet: Outlet) -> None:
        """Write what `outlet` takes; wait for room, pause or resume its sources."""
        outlet.write_some()
        if outlet.gone:
            self._close_sources_of(outlet)
            return
        registered = self.selector.get_map()
        if outlet.pending and outlet.fd not in registered:
            self.selector.register(outlet.fd, selectors.EVENT_WRITE, outlet)
        elif not outlet.pending and outlet.fd in registered:
            self.selector.unregister(outlet.fd)
        behind = len(outlet.pending) > _BACKLOG_BYTES
        for source, route in self.routes.items():
            if route is not outlet:
                continue
            if behind and source in registered:
                self.selector.unregister(source)
                self.paused.add(source)
            elif not behind and source in self.paused:
                self.paused.discard(source)
                self.selector.register(source, selectors.EVENT_READ)

    def _close_sources_of(self, outlet: Outlet) -> None:
        """Close corral's end of each pipe whose output can no longer be delivered.

        The command's next write to it then fails (EPIPE, SIGPIPE) as it would
        with its reader attached directly, instead of being read and dropped
        for as long as the command keeps writing.
        """
        if outlet.fd in self.selector.get_map():
            self.selector.unregister(outlet.fd)
        for source in [fd for fd, route in self.routes.items() if route is outlet]:
            if source in self.selector.get_map():
                self.selector.unregister(source)
            self.paused.discard(source)
            del self.routes[source]
            del self.buffers[source]
            os.close(source)

    def finish_forwarding(self) -> int:
        """Drop what was not delivered (returning how much); note how streams end."""
        dropped = sum(outlet.drop() for outlet in self.outlets.values())
        for fd, carried in self.spec.carried.items():
            outlet = self.routes.get(fd)
            if outlet is not None:
                carried.open_line = outlet.last_byte not in (None, ord("\n"))
        return dropped

    def _watch_sandbox_init(self) -> None:
        """Hold a pidfd on the sandbox's pid 1, so ending it can never hit another."""
        if self.sandbox_pidfd is not None or self.spec.json_r is None:
            return
        for line in _json_lines(self.buffers[self.spec.json_r]):
            pid = line.get("child-pid")
            if isinstance(pid, int):
                with contextlib.suppress(OSError):
                    self.sandbox_pidfd = os.pidfd_open(pid)
                return

    def end_tree(self, process: subprocess.Popen[bytes]) -> None:
        """Kill the sandbox's pid 1 (which ends its namespace) and the launcher.

        A launcher killed before it says which process is the sandbox's pid 1
        (its first act after creating it) would leave that process waiting
        forever for the set-up only the launcher does: so it is waited for.
        """
        if self.spec.json_r is not None:
            self._pump(0)
            self._watch_sandbox_init()
            give_up = time.monotonic() + _INIT_REPORT_SECONDS
            while self.sandbox_pidfd is None and process.poll() is None:
                left = give_up - time.monotonic()
                if left <= 0 or self.spec.json_r not in self.selector.get_map():
                    break
                self._pump(min(left, 0.01))
                self._watch_sandbox_init()
        if self.sandbox_pidfd is not None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self.sandbox_pidfd, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
        process.wait()

    def close(self) -> None:
        self.selector.close()
        for fd in self.buffers:
            os.close(fd)
        if self.sandbox_pidfd is not None:
            os.close(self.sandbox_pidfd)
        self._close_outlets()

    def _close_outlets(self) -> None:
        for outlet in self.outlets.values():
            outlet.close()


def _json_lines(data: bytearray) -> list[dict[str, object]]:
    lines: list[dict[str, object]] = []
    for raw in bytes(data).splitlines():
        with contextlib.suppress(ValueError):
            value = json.loads(raw)
            if isinstance(value, dict):
                lines.append(value)
    return lines


def _until(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()
