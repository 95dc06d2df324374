"""Prestarted sandboxes: the next run's sandbox, set up before its command is known.

With ``Sandbox(prestart=True)``, once a run ends corral starts the sandbox of
the next one: bubblewrap with its namespaces and mounts, and the enforcer, which
drops its privileges and then waits for the command (``--command-fd``,
`corral.sandbox._handover`) before it forks the supervisor and applies Landlock
and seccomp, as on any run.  A sandbox still serves one run only.  When the
next run comes its view is resolved afresh, and the waiting sandbox is used
only if it was set up for the same view, working directory, environment and
profile; otherwise it is ended, and the run launched as usual.

Renaming a file over a path, or removing it, detaches every mount on that path
in every other mount namespace: an editor saving a protected file, git
rewriting a hidden credential file, a server binding its socket anew would
each take a mount from the waiting sandbox while its view stays the same.  So
just before the command is handed over, every path the view mounts on is
checked to be a mount point in the sandbox still; if one is not, the sandbox
is ended and the run launched anew.

While it waits, its processes (bubblewrap and an enforcer) stay alive, and the
placeholders it binds stay in the workspace.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from corral._logger import get_logger
from corral.sandbox._handover import fits, hand_over
from corral.sandbox._launch import Launch, Outcome, abandon, launch
from corral.sandbox._mounts import View, mount_points
from corral.sandbox._streams import Streams
from corral.sandbox._supervise import mount_table, mountinfo_escaped

TYPE_CHECKING = False
if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["Prestarted", "Setup", "Slot", "usable"]

logger = get_logger(__name__)


@dataclass(frozen=True)
class Setup:
    """What a sandbox is set up for; a run may use one set up for the same."""

    view: View
    cwd: Path
    env: tuple[tuple[str, str], ...]
    profile: object
    """The sandbox's profile, compared by identity: a fallback replaces it."""

    @classmethod
    def of(
        cls, view: View, cwd: Path, env: Mapping[str, str], profile: object
    ) -> Setup:
        # Placeholders held already come first among the protected paths, those
        # created now last: which is which says nothing about the sandbox.
        protected = tuple(sorted(view.protected))
        view = replace(view, protected=protected)
        return cls(view, cwd, tuple(sorted(env.items())), profile)

    def serves(self, other: Setup) -> bool:
        """Whether a sandbox set up as this one serves a run resolved as `other`.

        The same view, but for host sockets: one removed on the host since
        needs no cover, one bound since is not covered (a fresh sandbox is).
        """
        return (
            replace(self.view, sockets=()) == replace(other.view, sockets=())
            and set(other.view.sockets) <= set(self.view.sockets)
            and (self.cwd, self.env) == (other.cwd, other.env)
            and self.profile is other.profile
        )


@dataclass
class Prestarted:
    """A sandbox waiting for its command, and what holds it."""

    setup: Setup
    spec: Launch
    """How it was started; its pipes are read once it runs."""
    process: subprocess.Popen[bytes]
    channel: socket.socket
    """corral's end of the socket the enforcer waits on."""
    hold: contextlib.ExitStack
    """Its placeholders' lease, released once it is gone."""

    def run(
        self,
        argv: Sequence[str],
        streams: Streams,
        timeout: float | None,
        sockets: Collection[Path] | None = None,
    ) -> Outcome | None:
        """Hand `argv` and its streams over and watch the run to its end.

        `sockets`: the host sockets listed now, which must still be covered
        (all those of its view when None).  Returns None, with this sandbox
        ended, when it can no longer take a command (it failed to set up, lost
        a mount, or was ended); the caller launches anew.
        """
        given = (streams.stdin, streams.stdout, streams.command_stderr_fd)
        lost = self.lost_mounts(sockets)
        if lost:
            logger.info("the prestarted sandbox lost its mount on %s", lost[0])
            self.discard()
            return None
        try:
            hand_over(self.channel, argv, given)
        except OSError as exc:
            logger.info("the prestarted sandbox is gone (%s); starting anew", exc)
            self.discard()
            return None
        # What the run's own launch would have closed once its process held it.
        for fd in {*streams.close_after_spawn, streams.command_stderr_fd}:
            os.close(fd)
        os.close(streams.launcher_errors_r)
        self.channel.close()
        spec = replace(self.spec, carried=streams.carried, timeout=timeout)
        try:
            return launch(spec, self.process)
        finally:
            self.hold.close()

    def lost_mounts(self, sockets: Collection[Path] | None = None) -> list[str]:
        """Return the paths the view mounts on that are no mount points inside
        any more (all of them when the sandbox's mounts cannot be read).

        Of host sockets, only those in `sockets`, when given.
        """
        view = self.setup.view
        if sockets is not None:
            view = replace(view, sockets=tuple(p for p in view.sockets if p in sockets))
        expected = mount_points(view)
        try:
            init = _sandbox_init(self.process.pid)
            table = os.open(f"/proc/{init}/mountinfo", os.O_RDONLY | os.O_CLOEXEC)
        except (OSError, IndexError):
            return expected
        try:
            present = set(mount_table(table).values())
        except OSError:
            return expected
        finally:
            os.close(table)
        return [
            path
            for path in expected
            if mountinfo_escaped(os.fsencode(path)) not in present
        ]

    def discard(self) -> None:
        """End the waiting sandbox, unused, and let its placeholders go."""
        try:
            self.channel.close()
            abandon(self.spec, self.process)
        finally:
            self.hold.close()


class Slot:
    """The one prestarted sandbox of a `Sandbox`, if any, and the thread that
    starts it.

    That thread lives until `clear`: bubblewrap ends its sandbox when the thread
    that started it ends (``--die-with-parent`` is a parent-death signal, which
    Linux sends when the parent thread exits), so a short-lived thread would
    take the sandbox with it.  Kept apart from the `Sandbox`, so that a
    finalizer can end the waiting sandbox of one collected without being closed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: Prestarted | None = None
        self._starter: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    def start_later(self, prestart: Callable[[], Prestarted | None]) -> None:
        """Run `prestart` on the starting thread; keep what it returns."""
        self.settle()
        if self._starter is None:
            from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

            self._starter = ThreadPoolExecutor(1, "corral-prestart")
        self._pending = self._starter.submit(self._keep, prestart)

    def _keep(self, prestart: Callable[[], Prestarted | None]) -> None:
        prestarted = prestart()
        if prestarted is not None:
            self.put(prestarted)

    def settle(self) -> None:
        """Wait until a sandbox being started is started (or failed to be)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def take(self) -> Prestarted | None:
        """Remove the waiting sandbox and return it: it is the caller's now."""
        self.settle()
        with self._lock:
            waiting, self._waiting = self._waiting, None
        return waiting

    def put(self, prestarted: Prestarted) -> None:
        """Keep `prestarted` for the next run; end one kept before."""
        with self._lock:
            earlier, self._waiting = self._waiting, prestarted
        if earlier is not None:
            earlier.discard()

    def clear(self) -> None:
        """End the waiting sandbox, if any, and the thread that started it."""
        waiting = self.take()
        if waiting is not None:
            waiting.discard()
        starter, self._starter = self._starter, None
        if starter is not None:
            # Not waited for: this may run on that thread itself, when the last
            # reference to a Sandbox goes with the job that started its sandbox.
            starter.shutdown(wait=False)


def _sandbox_init(bubblewrap: int) -> int:
    """The sandbox's pid 1: the one child of the bubblewrap process outside."""
    children = Path(f"/proc/{bubblewrap}/task/{bubblewrap}/children").read_text()
    return int(children.split()[0])


def usable(
    prestarted: Prestarted, setup: Setup, argv: Sequence[str], streams: Streams
) -> bool:
    """Whether `prestarted` can run `argv` on `streams`, for a run resolved as
    `setup`.

    Not on a terminal: bubblewrap shows a terminal it starts on as the
    sandbox's console, and a prestarted sandbox started on none.
    """
    given = (streams.stdin, streams.stdout, streams.command_stderr_fd)
    on_terminal = any(os.isatty(fd) for fd in given)
    return prestarted.setup.serves(setup) and fits(argv) and not on_terminal
