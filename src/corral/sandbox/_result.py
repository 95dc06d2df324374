"""The result of one sandboxed command, read from what the launcher saw.

The enforcer's status line says whether the layers applied and the program
started; bubblewrap's status says how the command exited; bubblewrap's own
errors say why a sandbox could not be built.  This module turns those into
a `RunResult`, or into corral's own error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corral.errors import ExitCode, LayerUnavailableError, SandboxSetupError
from corral.sandbox._launch import Outcome
from corral.sandbox._profile import SandboxProfile
from corral.sandbox._refusals import Refusal

__all__ = ["RunResult", "command_status", "landlock_abi_of"]


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
            "refusals": [
                {"kind": r.kind, "path": r.path, "message": r.message}
                for r in self.refusals
            ],
        }


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
