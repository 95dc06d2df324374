"""The result of one sandboxed command, read from what the launcher saw.

The enforcer's status lines say whether the layers applied and the program
started, and its supervisor's how the command ended and what it left running;
bubblewrap's status says how the command exited; bubblewrap's own errors say
why a sandbox could not be built.  This module turns those into a `RunResult`,
or into corral's own error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from signal import SIGKILL, SIGRTMAX, SIGRTMIN, Signals

from corral.errors import ExitCode, LayerUnavailableError, SandboxSetupError
from corral.sandbox._launch import Outcome
from corral.sandbox._profile import SandboxProfile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from corral.sandbox._refusals import Refusal

__all__ = ["Ending", "RunResult", "command_ending", "command_status", "landlock_abi_of"]


@dataclass
class RunResult:
    """The outcome of one sandboxed command."""

    argv: list[str]
    exit_status: int
    """The command's own status (128 + N when a signal N ended it)."""
    duration: float
    timed_out: bool
    profile: dict[str, object]
    refusals: list[Refusal] = field(default_factory=list)
    stdout: bytes | None = None
    stderr: bytes | None = None
    landlock_abi: int | None = None
    start_error: str | None = None
    """Why the program could not be started inside the sandbox, when it could not."""
    new_git_dirs: list[str] = field(default_factory=list)
    """Git directories the command created; their hooks were not yet protected."""
    read_only_git_dirs: dict[str, str] = field(default_factory=dict)
    """Under approved git writes, the git directories kept read-only, with why
    (those outside the workspace, say)."""
    exec_todos: list[str] = field(default_factory=list)
    """Under approved git writes, rebase or cherry-pick todo lists left with
    shell commands that continuing them on the host would run."""
    scan_error: str | None = None
    """Why corral could not look for new git directories after the command."""
    proxy_lost: bool = False
    """In allow-list mode: the proxy ended while the command ran, so whatever
    it tried to reach after that was refused, and connections open then were
    cut without their closing records."""
    stdout_open_line: bool = False
    """Whether carried stdout ended with a byte other than a newline."""
    signal: int | None = None
    """The signal that ended the command; None when it exited, or when corral
    could not tell (without the namespaces layer bubblewrap reports a signal N
    only as status 128 + N).  A run the time limit ended was killed (SIGKILL)."""
    left_running: int | None = None
    """How many processes were still running in the sandbox when the command
    ended (corral killed them with it).  None where corral cannot count them:
    without the namespaces layer (no pid namespace of the sandbox's own), when
    the time limit ended the run, or when the command ended its own supervisor
    (the enforcer process, now its parent)."""
    left_names: list[str] = field(default_factory=list)
    """Their names (comm), at most `corral.sandbox._supervise.LEFT_NAMES_LIMIT`."""
    mounts_lost: list[str] = field(default_factory=list)
    """Mount points of the sandbox that vanished while the command ran, whereupon
    corral killed it: a path renamed over or removed on the host loses its
    mounts everywhere (a protected file an editor saved, say), and with them
    what kept the command from it."""
    stdout_bytes: int | None = None
    """Bytes the command wrote to stdout, counted on a stream corral carries or
    captures.  None when corral did not see the stream: it passed straight
    through, to a terminal, a pipe or a file (whose growth is not the bytes
    written to it: they may be written over, or after a seek)."""
    stderr_bytes: int | None = None
    """As `stdout_bytes`, for stderr.  Also None when stderr shared stdout's way
    out (``2>&1``): `stdout_bytes` then counts both."""

    @property
    def signal_name(self) -> str | None:
        """The name of `signal` (``SIGKILL``), or None."""
        return None if self.signal is None else signal_name(self.signal)

    def to_json(self) -> dict[str, object]:
        """Return the run as the documented ``--json`` object."""
        return {
            "argv": self.argv,
            "exit_status": self.exit_status,
            "duration_ms": round(self.duration * 1000, 3),
            "timed_out": self.timed_out,
            "profile": self.profile,
            "landlock_abi": self.landlock_abi,
            "start_error": self.start_error,
            "new_git_dirs": self.new_git_dirs,
            "read_only_git_dirs": self.read_only_git_dirs,
            "exec_todos": self.exec_todos,
            "scan_error": self.scan_error,
            "proxy_lost": self.proxy_lost,
            "signal": self.signal,
            "signal_name": self.signal_name,
            "left_running": self.left_running,
            "left_names": self.left_names,
            "mounts_lost": self.mounts_lost,
            "stdout_bytes": self.stdout_bytes,
            "stderr_bytes": self.stderr_bytes,
            "refusals": [
                {"kind": r.kind, "path": r.path, "message": r.message}
                for r in self.refusals
            ],
        }


def signal_name(signum: int) -> str | None:
    """Return the name of signal `signum` (real-time ones as ``SIGRTMIN+K``)."""
    try:
        return Signals(signum).name
    except ValueError:
        if SIGRTMIN < signum < SIGRTMAX:
            return f"SIGRTMIN+{signum - SIGRTMIN}"
        return None


@dataclass(frozen=True)
class Ending:
    """How the command ended, beyond its exit status; see `RunResult`."""

    signal: int | None
    left_running: int | None
    left_names: list[str]
    mounts_lost: list[str] = field(default_factory=list)


def command_ending(outcome: Outcome) -> Ending:
    """Return the signal that ended the command and what it left running.

    The supervisor's line says both; without one, a run the time limit ended was
    killed, and an enforcer run directly (no bubblewrap) ended as the command did.
    """
    for line in reversed(outcome.status_lines):
        if "exited" not in line and "signal" not in line:
            continue
        ended, left, names, lost = (
            line.get("signal"),
            line.get("left_running"),
            line.get("left_names"),
            line.get("mounts_lost"),
        )
        return Ending(
            signal=ended if isinstance(ended, int) else None,
            left_running=left if isinstance(left, int) else None,
            left_names=_strings(names),
            mounts_lost=_strings(lost),
        )
    if outcome.timed_out:
        return Ending(int(SIGKILL), None, [])
    if outcome.direct and outcome.returncode < 0:
        return Ending(-outcome.returncode, None, [])
    return Ending(None, None, [])


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def landlock_abi_of(outcome: Outcome) -> int | None:
    for line in outcome.status_lines:
        abi = line.get("landlock_abi")
        if isinstance(abi, int):
            return abi
    return None


def command_status(outcome: Outcome, profile: SandboxProfile) -> tuple[int, str | None]:
    """Return the command's status and why it could not start, or raise.

    Raises `SandboxSetupError` when a layer failed to apply, and
    `LayerUnavailableError` when bubblewrap could not create namespaces.
    """
    for line in outcome.status_lines:
        if line.get("ok") is False:
            layer = str(line.get("layer", "sandbox"))
            error = str(line.get("error", "unknown failure"))
            if layer == "exec":
                status = ExitCode.NOT_FOUND if line.get("errno") == 2 else 126
                return int(status), error
            raise SandboxSetupError(
                f"the {layer} layer failed to apply: {error}; the command did not run"
            )
    if not outcome.status_lines and not outcome.timed_out:
        _raise_launcher_failure(outcome, profile)
    for line in outcome.bwrap_status:
        code = line.get("exit-code")
        if isinstance(code, int):
            return code, None
    code = outcome.returncode
    return (128 - code if code < 0 else code), None


# bubblewrap's words when the kernel will not give it a namespace.  Only these
# may trigger running without the namespace layers (when policy accepts it);
# any other set-up failure, a failing mount say, stops the run.
_NAMESPACE_FAILURES = (
    "No permissions to create new namespace",
    "Creating new namespace failed",
    "setting up uid map",
)


def _raise_launcher_failure(outcome: Outcome, profile: SandboxProfile) -> None:
    message = outcome.errors.decode(errors="replace").strip()
    message = message.removeprefix("bwrap: ") or f"exit status {outcome.returncode}"
    if any(failure in message for failure in _NAMESPACE_FAILURES):
        raise LayerUnavailableError("namespaces", f"bubblewrap said: {message}")
    raise SandboxSetupError(
        f"the sandbox could not be set up: bubblewrap said: {message}; "
        "the command did not run"
    )
