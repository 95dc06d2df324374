"""The supervisor: the enforcer's own process, left waiting for the command it forked.

In a pid namespace of the sandbox's own, the enforcer forks before Landlock and
seccomp are applied: the child applies them and becomes the command; the parent
waits for it, then stops, counts and kills whatever else is still running
there, reports on the status fd how the command ended, and exits as the command
did (128 + N for signal N), so bubblewrap passes on the same status as without
it.  What is left is ended by a signal to every process (kill -1), so each step
that sends one first confirms the namespace as the sandbox's own
(`own_namespace`).  Nothing is imported that the enforcer does not import
already: this runs before every command.

Outside the command's Landlock domain, the supervisor is out of reach of its
signals (kill -1, kill 0, kill $PPID) where Landlock scopes them (ABI 6 on, the
default).  Without that scope they reach it: it ignores every signal it can, but
SIGKILL ends the run (status 137, nothing left counted) and SIGSTOP, which no
process can catch, holds it until the run's time limit.  Landlock does not
refuse prlimit(2): a command that leaves it no file descriptor (RLIMIT_NOFILE
0) keeps it from reading /proc, and it then kills what is left uncounted.
"""

from __future__ import annotations

import os

from corral import _linux
from corral.errors import SandboxSetupError
from corral.sandbox._report import json_string

TYPE_CHECKING = False
if TYPE_CHECKING:
    # The same functions as _signal, which is what the interpreter runs.
    import signal as _signal
    from collections.abc import Iterable
    from typing import NoReturn
else:
    # signal.py builds enums of every signal, and importing enum costs ~3 ms.
    import _signal

__all__ = [
    "LEFT_NAMES_LIMIT",
    "expected_mounts",
    "fork_command",
    "mount_table",
    "mountinfo_escaped",
    "own_namespace",
    "pid_namespace",
]

_GUARD_INTERVAL_MS = 100
"""How often the supervisor reads the mount table besides when Linux marks it:
a covered path moved away on the host is found within this long."""

LEFT_NAMES_LIMIT = 20
"""How many names of processes left running the report lists (the count is whole):
a command that leaves thousands must not make its report as large."""

_KEPT = (_signal.SIGKILL, _signal.SIGSTOP, _signal.SIGCHLD)
"""Signals the supervisor does not ignore: the first two cannot be, and an ignored
SIGCHLD would have the kernel reap the command before waitpid sees how it ended."""

_DEAD_STATES = frozenset(b"ZX")
"""/proc states of a thread that has ended and is not yet reaped: a process has
ended when all its threads have."""

_DYING_FLAGS = 0x4 | 0x400
"""PF_EXITING and PF_SIGNALED, the kernel's flags (stat's 9th field) of a thread
already on its way out, on exit or a fatal signal: it has ended but for the
moment that takes, as has one with SIGKILL pending (the 31st field)."""

_FLAGS_FIELD, _PENDING_FIELD = 9 - 3, 31 - 3
"""Where the two fields are among those after COMM, the 3rd (the state) first."""


_INIT = 1
"""The namespace's init, bubblewrap's: it ends the namespace when the supervisor
ends, and signals to every process (kill -1) never reach it."""


def pid_namespace() -> str:
    """Return this process's pid namespace as /proc names it (``pid:[INODE]``).

    Raises OSError when /proc is not mounted.
    """
    return os.readlink("/proc/self/ns/pid")  # noqa: PTH115 (pathlib costs start-up)


def own_namespace(outside: str) -> bool:
    """Tell whether this process runs in a pid namespace other than `outside`,
    whose init is its parent and whose processes its /proc shows.

    Only there does a signal to every process (kill -1) reach the sandbox alone;
    in `outside` (corral's own) it would reach every process of the user.
    """
    try:
        inside = pid_namespace()
        proc_self = os.readlink("/proc/self")  # noqa: PTH115 (pathlib costs start-up)
    except OSError:
        return False
    mine = proc_self == str(os.getpid())
    return inside != outside and os.getppid() == _INIT and mine


def fork_command(
    status_fd: int,
    outside: str,
    *,
    bridged: bool,
    guarded: dict[bytes, bytes] | None = None,
) -> bool:
    """Fork in a pid namespace other than `outside`; return True in the child,
    which goes on to become the command.

    Called before Landlock and seccomp are applied, so that the child alone
    enters the command's Landlock domain.  The parent supervises the child and
    never returns.  False (no fork): the
    namespace is not confirmed as the sandbox's own, or the kernel refused a
    fork, and the caller becomes the command unsupervised.  With `bridged`,
    corral's network bridge runs there too, and is not counted as left running.
    `guarded` maps mount points to the ids of the mounts on them
    (`expected_mounts`), which must stay while the command runs.
    """
    if not own_namespace(outside):
        return False
    # Before the command exists, every other process there is corral's own.
    own: frozenset[int] = frozenset(_processes(frozenset()) if bridged else ())
    # Blocked across the fork, so that no signal reaches the supervisor before
    # it ignores it, nor the child before its mask is back as it was.
    blocked = _signal.pthread_sigmask(_signal.SIG_BLOCK, _signal.valid_signals())
    # Closed to the command's /proc/PID/fd, which would write on the status fd.
    _linux.set_dumpable(False)
    try:
        child = os.fork()
    except OSError:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, blocked)
        return False
    if child != 0:
        _supervise(child, status_fd, outside, own, blocked, guarded=guarded or {})
    _as_command(blocked)
    return True


def _as_command(blocked: Iterable[int]) -> None:
    """In the child: put back what the fork changed, but the parent pid."""
    # Python's own SIGINT handler: a Ctrl-C pending until the mask is restored
    # ends the child as it would end the command, with no traceback.
    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
    # bubblewrap gave the enforcer this, and fork() clears it.
    _linux.set_parent_death_signal(_signal.SIGKILL)
    _signal.pthread_sigmask(_signal.SIG_SETMASK, blocked)


def _supervise(
    child: int,
    status_fd: int,
    outside: str,
    own: frozenset[int],
    blocked: Iterable[int],
    *,
    guarded: dict[bytes, bytes],
) -> NoReturn:
    """Wait for `child`, end what is left, report, and exit as `child` did."""
    code = 255
    try:
        # Every signal the command may send to its group or to every process
        # (kill 0, kill -1) and terminal signals: only the command gets them.
        for signum in _signal.valid_signals():
            if signum not in _KEPT:
                _signal.signal(signum, _signal.SIG_IGN)
        _signal.pthread_sigmask(_signal.SIG_SETMASK, blocked)
        _hold_nothing_but(status_fd)
        wait_status, lost = _wait_guarding_mounts(child, guarded)
        code = os.waitstatus_to_exitcode(wait_status)
        left: list[str] | None = None
        if own_namespace(outside):
            try:
                left = _end_leftovers(own, outside)
            except Exception:  # noqa: BLE001 (uncounted is reported as unknown)
                # Limits the command set on this process (no descriptor, little
                # memory) can fail the count, never the kill.
                _signal_all(_signal.SIGKILL, outside)
        _report(status_fd, code, left, lost)
    finally:
        os._exit(128 - code if code < 0 else code)


def expected_mounts(points: Iterable[bytes]) -> dict[bytes, bytes]:
    """Map each of `points` (paths corral mounts on) to the id of its mount here.

    The topmost mount on a point counts: mountinfo lists mounts in the order
    they were made.  Raises SandboxSetupError naming a point that is no mount
    point: the host renamed something over it or removed it after bubblewrap
    mounted it, and the sandbox no longer holds what the mount held.
    """
    table = os.open("/proc/self/mountinfo", os.O_RDONLY | os.O_CLOEXEC)
    try:
        mounts = mount_table(table)
    finally:
        os.close(table)
    on = {point: mount for mount, point in mounts.items()}
    guarded = {}
    for point in points:
        escaped = mountinfo_escaped(point)
        if escaped not in on:
            raise SandboxSetupError(
                f"{os.fsdecode(point)} was renamed over or removed on the host "
                "after the sandbox covered it; run the command again"
            )
        guarded[escaped] = on[escaped]
    return guarded


def mountinfo_escaped(point: bytes) -> bytes:
    """`point` as /proc/PID/mountinfo writes a mount point (octal escapes)."""
    escaped = point.replace(b"\\", b"\\134")
    for char, code in ((b" ", b"\\040"), (b"\t", b"\\011"), (b"\n", b"\\012")):
        escaped = escaped.replace(char, code)
    return escaped


def _wait_guarding_mounts(
    child: int, guarded: dict[bytes, bytes]
) -> tuple[int, list[str]]:
    """Wait for `child`; kill it if one of the `guarded` mounts goes meanwhile.

    Returns its wait status and the mount points that went.  No process inside
    may unmount (no capabilities, and seccomp), but on the host renaming a file
    over a covered path, or removing it, detaches the mounts on it here too,
    and moving it away takes the mount along: a protected file, a placeholder,
    a hidden path or a covered socket would then be the command's to reach.
    Linux marks /proc/self/mountinfo when a mount goes (POLLPRI), not when its
    point moves, so the table is also read every `_GUARD_INTERVAL_MS`.
    """
    if not guarded:
        return os.waitpid(child, 0)[1], []
    import select  # noqa: PLC0415 (the supervisor's alone, after the fork)

    try:
        table = os.open("/proc/self/mountinfo", os.O_RDONLY | os.O_CLOEXEC)
        exited = os.pidfd_open(child)
    except OSError:
        # Without the table (the command left no descriptor) the guard is gone.
        os.kill(child, _signal.SIGKILL)
        return os.waitpid(child, 0)[1], ["/proc/self/mountinfo"]
    watch = select.poll()
    watch.register(exited, select.POLLIN)
    watch.register(table, select.POLLPRI | select.POLLERR)
    lost: list[str] = []
    while not lost:
        if any(fd == exited for fd, _ in watch.poll(_GUARD_INTERVAL_MS)):
            break
        now = mount_table(table)
        gone = [point for point, mount in guarded.items() if now.get(mount) != point]
        lost = sorted(_unescaped(point) for point in gone)
    if lost:
        os.kill(child, _signal.SIGKILL)
    return os.waitpid(child, 0)[1], lost


def mount_table(table: int) -> dict[bytes, bytes]:
    """The mounts in the mountinfo `table`: each id with its mount point, escaped
    as mountinfo writes it (the 1st and 5th fields)."""
    os.lseek(table, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(table, 1 << 16):
        chunks.append(chunk)
    mounts = {}
    # A newline alone ends a line: mountinfo escapes it within a path, not \r.
    for line in b"".join(chunks).split(b"\n"):
        fields = line.split(b" ", 5)
        if len(fields) > 4:
            mounts[fields[0]] = fields[4]
    return mounts


def _unescaped(point: bytes) -> str:
    """A mount point as mountinfo writes it, with its octal escapes (\\040) undone."""
    out = bytearray()
    i = 0
    while i < len(point):
        code = point[i + 1 : i + 4]
        if point[i : i + 1] == b"\\" and len(code) == 3 and code.isdigit():
            out.append(int(code, 8) & 0xFF)
            i += 4
        else:
            out.append(point[i])
            i += 1
    return os.fsdecode(bytes(out))


def _hold_nothing_but(status_fd: int) -> None:
    """Put /dev/null on 0-2 and close every other descriptor but `status_fd`.

    The supervisor then holds no pipe corral drains, and no terminal.
    """
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd != null:
            os.dup2(null, fd)
    if null > 2:
        os.close(null)
    os.closerange(3, status_fd)
    os.closerange(max(3, status_fd + 1), os.sysconf("SC_OPEN_MAX"))


def _end_leftovers(own: frozenset[int], outside: str) -> list[str]:
    """Stop every other process in the namespace, name them, then kill them.

    Stopped first, so that none forks between being counted and killed; a
    signal to every process (kill -1) skips init and the supervisor itself.
    Whatever the count, every process signal 0 reached is killed.
    """
    if not _signal_all(0, outside):
        return []  # signal 0 reached nobody: init alone is left
    try:
        _signal_all(_signal.SIGSTOP, outside)
        left = list(_processes(own).values())
    finally:
        _signal_all(_signal.SIGKILL, outside)
    return left


def _signal_all(signum: int, outside: str) -> bool:
    """Send `signum` to every process this one may signal; return whether any.

    Sends nothing unless the namespace is confirmed, right before, as one other
    than `outside`: there kill -1 would reach every process of the user.
    """
    if not own_namespace(outside):
        return False
    try:
        os.kill(-1, signum)
    except OSError:
        return False  # none left to signal (ESRCH), or none it may (EPERM)
    return True


def _processes(own: frozenset[int]) -> dict[int, str]:
    """Return the live processes other than init, this one and `own`, by pid.

    Raises OSError when /proc cannot be read (no descriptor left, say).
    """
    found = {}
    skip = {_INIT, os.getpid(), *own}
    for entry in os.listdir("/proc"):  # noqa: PTH208 (pathlib costs start-up)
        if entry.isdigit() and int(entry) not in skip:
            name = _live_name(f"/proc/{entry}")
            if name is not None:
                found[int(entry)] = name
    return found


def _live_name(process: str) -> str | None:
    """Return the name (comm) of the `process` directory of /proc if any of its
    threads is alive, else None.

    A process whose main thread has ended (SYS_exit, not exit_group) reads as a
    zombie in its own stat while its other threads run on.
    """
    name, ended = _stat(f"{process}/stat")
    if name is None or not ended:
        return name
    try:
        tasks = os.listdir(f"{process}/task")  # noqa: PTH208 (pathlib costs start-up)
    except (FileNotFoundError, ProcessLookupError):
        return None  # ended meanwhile
    for task in tasks:
        task_name, task_ended = _stat(f"{process}/task/{task}/stat")
        if task_name is not None and not task_ended:
            return name
    return None


def _stat(path: str) -> tuple[str | None, bool]:
    """Return the name in the stat file `path` of a process or thread, and whether
    it has ended; (None, True) when it is gone."""
    try:
        with open(path, "rb") as stat:  # noqa: PTH123 (pathlib costs start-up)
            line = stat.read()
    except (FileNotFoundError, ProcessLookupError):
        return None, True  # ended meanwhile
    # "PID (COMM) STATE ...": COMM may itself hold parentheses and spaces.
    start, end = line.find(b"("), line.rfind(b")")
    fields = line[end + 2 :].split()
    if start < 0 or end < start or len(fields) <= _PENDING_FIELD:
        return None, True
    flags, pending = int(fields[_FLAGS_FIELD]), int(fields[_PENDING_FIELD])
    killed = pending & (1 << (_signal.SIGKILL - 1))
    ended = fields[0][0] in _DEAD_STATES or flags & _DYING_FLAGS or killed
    return line[start + 1 : end].decode(errors="replace"), bool(ended)


def _report(status_fd: int, code: int, left: list[str] | None, lost: list[str]) -> None:
    """Write how the command ended as one JSON line; a lost line is dropped."""
    ended = f'"signal":{-code}' if code < 0 else f'"exited":{code}'
    count = "null" if left is None else str(len(left))
    names = ",".join(json_string(name) for name in (left or [])[:LEFT_NAMES_LIMIT])
    points = ",".join(json_string(point) for point in lost[:LEFT_NAMES_LIMIT])
    line = (
        f'{{{ended},"left_running":{count},"left_names":[{names}],'
        f'"mounts_lost":[{points}]}}\n'
    )
    try:  # noqa: SIM105 (contextlib costs every command ~2 ms)
        os.write(status_fd, line.encode())
    except OSError:
        pass  # corral has stopped reading; the exit status still tells
