"""Start the sandboxed process, carry its output, and end its whole tree.

The launcher owns the file descriptors around one run: the enforcer's status
pipe, bubblewrap's own status and error pipes, and the output streams that
corral carries (to scan what the sandbox refused, or to capture for a caller).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["Carried", "Launch", "Outcome", "launch"]

logger = logging.getLogger(__name__)

_READ_CHUNK = 1 << 16
# How much of a carried stream is kept for refusal hints and callers' tails.
TAIL_BYTES = 1 << 16
# After the command ends, output still buffered in pipes is drained for this long.
_DRAIN_SECONDS = 2.0


@dataclass
class Carried:
    """An output stream corral reads: forwarded to `forward_fd` and/or kept."""

    forward_fd: int | None
    keep_all: bool = False
    data: bytearray = field(default_factory=bytearray)
    size: int = 0

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.forward_fd is not None:
            _write_all(self.forward_fd, chunk)
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


def launch(spec: Launch) -> Outcome:
    """Run `spec` to completion and return its outcome; the process tree is gone after.

    Every descriptor named in `spec` is closed when this returns.
    """
    started = time.monotonic()
    deadline = None if spec.timeout is None else started + spec.timeout
    watcher = _Watcher(spec)
    try:
        process = subprocess.Popen(
            list(spec.argv),
            env=dict(spec.env),
            cwd=spec.cwd,
            stdin=spec.stdin,
            stdout=spec.stdout,
            stderr=spec.stderr,
            pass_fds=spec.pass_fds,
            close_fds=True,
        )
    except BaseException:
        watcher.close()
        raise
    finally:
        for fd in spec.close_after_spawn:
            os.close(fd)
    timed_out = False
    try:
        timed_out = watcher.run(process, deadline)
    finally:
        watcher.end_tree(process)
        watcher.close()
    return Outcome(
        returncode=process.returncode,
        timed_out=timed_out,
        duration=time.monotonic() - started,
        status_lines=_json_lines(watcher.buffers[spec.status_r]),
        bwrap_status=_json_lines(watcher.buffers.get(spec.json_r or -1, bytearray())),
        errors=bytes(watcher.buffers[spec.errors_r]),
    )


class _Watcher:
    """Reads every watched pipe until the process ends, then drains them."""

    def __init__(self, spec: Launch) -> None:
        self.spec = spec
        self.selector = selectors.DefaultSelector()
        self.buffers: dict[int, bytearray] = {}
        self.sandbox_pidfd: int | None = None
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
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    logger.info("time limit reached; ending the sandbox")
                    return True
                if self._pump(remaining, exited):
                    break
        finally:
            self.selector.unregister(exited)
            os.close(exited)
        process.wait()
        drain_until = time.monotonic() + _DRAIN_SECONDS
        while self.selector.get_map() and time.monotonic() < drain_until:
            self._pump(drain_until - time.monotonic())
        return False

    def _pump(self, wait: float | None, exited: int = -1) -> bool:
        """Move what is ready on the pipes; return whether `exited` became readable."""
        done = False
        for key, _ in self.selector.select(None if wait is None else max(wait, 0)):
            fd = int(key.fd)
            if fd == exited:
                done = True
                continue
            try:
                chunk = os.read(fd, _READ_CHUNK)
            except BlockingIOError:
                continue
            if not chunk:
                self.selector.unregister(fd)
                continue
            carried = self.spec.carried.get(fd)
            if carried is not None:
                carried.feed(chunk)
            else:
                self.buffers[fd] += chunk
                if fd == self.spec.json_r:
                    self._watch_sandbox_init()
        return done

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
        """Kill the sandbox's pid 1 (which ends its namespace) and the launcher."""
        if self.spec.json_r is not None:
            self._pump(0)
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


def _json_lines(data: bytearray) -> list[dict[str, object]]:
    lines: list[dict[str, object]] = []
    for raw in bytes(data).splitlines():
        with contextlib.suppress(ValueError):
            value = json.loads(raw)
            if isinstance(value, dict):
                lines.append(value)
    return lines


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        except BrokenPipeError:
            return
        view = view[written:]
