"""corral's errors and exit codes.

Every error corral raises derives from `CorralError`.  Each subclass names what
happened; each instance carries the cause and the next step in its message, so
that a person or an agent can act on it without reading the source.

    CorralError
    ├── PolicyError            a policy file is missing, malformed or out of bounds
    ├── WorkspaceError         the workspace cannot be guarded as asked
    ├── LayerUnavailableError  a sandbox layer cannot be enforced on this machine
    ├── SandboxSetupError      the boundary could not be built for this command
    ├── ApprovalError          an approval cannot be given or recorded as asked
    └── CommandRefusedError    policy refused the command (exit 126)
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Final

__all__ = [
    "ApprovalError",
    "CommandRefusedError",
    "CorralError",
    "ExitCode",
    "LayerUnavailableError",
    "PolicyError",
    "SandboxSetupError",
    "WorkspaceError",
]


class ExitCode:
    """The exit statuses corral itself uses; any other status is the command's own.

    A command that ran exits with its own status; a command killed by signal N
    exits with 128 + N, as a shell reports it.  Plain integers rather than an
    enum: the enforcer imports this module before every command, and importing
    enum would cost it about 3 ms.
    """

    OK: Final = 0
    USAGE: Final = 2
    """The command line given to corral was malformed."""
    NEEDS_APPROVAL: Final = 3
    """``corral check`` only: the command runs once a person approves it."""
    TIMEOUT: Final = 124
    """The command ran past its time limit; its whole process tree was killed."""
    CORRAL_FAILED: Final = 125
    """corral could not run the command: bad policy, missing layer, setup failure."""
    REFUSED: Final = 126
    """Policy refused the command; it did not run."""
    NOT_FOUND: Final = 127
    """The command's program was not found inside the sandbox."""


class CorralError(Exception):
    """Base of every error corral raises."""

    exit_code: int = ExitCode.CORRAL_FAILED
    recorded: bool = False
    """Whether an event already says what went wrong (a refusal, a failed run)."""


class PolicyError(CorralError):
    """A policy file is unreadable, malformed, unknown to corral or out of bounds."""


class WorkspaceError(CorralError):
    """The workspace or one of its protected paths cannot be guarded as asked."""


class LayerUnavailableError(CorralError):
    """A layer of the boundary cannot be enforced on this machine.

    `layer` names the layer (see `corral.sandbox.Layer`); the message says why.
    """

    def __init__(self, layer: str, reason: str) -> None:
        super().__init__(
            f"the {layer} layer cannot be enforced on this machine: {reason}; "
            f"run 'corral doctor' for details, or accept the weaker boundary "
            f'explicitly with sandbox.accept_missing = ["{layer}"] in your policy'
        )
        self.layer = layer
        self.reason = reason


class SandboxSetupError(CorralError):
    """The boundary could not be built for this command (a layer failed to apply)."""


class ApprovalError(CorralError):
    """An approval request is unknown or expired, or cannot be given or recorded."""


class CommandRefusedError(CorralError):
    """Policy refused the command; it was not run.

    `details` is what the refusal's event recorded (the decision, its parts,
    the request id), for a caller that reports it as data.
    """

    exit_code = ExitCode.REFUSED
    recorded = True  # command.refused is written before it is raised

    def __init__(
        self, message: str, details: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.details = dict(details or {})
