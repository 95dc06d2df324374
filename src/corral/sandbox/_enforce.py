"""The enforcer: applies the in-sandbox kernel layers, then becomes the command.

It runs inside the sandbox before every command, as
``python -I -S -B _enforce.py CONFIG_JSON -- ARGV...``; `enforcer_argv` builds
that line.  It reports one JSON line on the status fd and prints nothing else.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys

if __name__ == "__main__":
    # -I drops the script's directory and -S site-packages from sys.path, so the
    # directory holding the corral package is put back by hand.
    # os.path, not pathlib: importing pathlib would cost every command ~2 ms.
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # noqa: PTH100, PTH120
    sys.path.insert(0, os.path.dirname(package))  # noqa: PTH120

import json
import signal
from typing import TYPE_CHECKING, NamedTuple

from corral.errors import CorralError, ExitCode, SandboxSetupError
from corral.sandbox import _identity, _landlock, _seccomp

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["ENFORCER", "EXIT_CANNOT_EXECUTE", "EnforcerConfig", "enforcer_argv"]

ENFORCER = os.path.abspath(__file__)  # noqa: PTH100 (see above)
"""This file, as the launcher must name it on the sandbox's command line."""

EXIT_CANNOT_EXECUTE = 126
"""The command was found but could not be executed, as a shell reports it."""

_PYTHON_FLAGS = ("-I", "-S", "-B")
"""Isolated (no PYTHON* variables, no user site), no site-packages, no .pyc writes:
the command's environment cannot change how the enforcer itself runs."""

_RESTORED_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)
"""Python ignores these at start-up; a command must start with the default."""


class EnforcerConfig(NamedTuple):
    """Which layers the enforcer applies, and where it reports.

    Every field must be given: an omitted layer is a decision, not a default.
    """

    status_fd: int | None
    """Inherited fd for the one-line JSON status report; None: stderr on failure."""
    stderr_fd: int | None
    """Inherited fd moved onto fd 2 just before exec (the command's own stderr,
    kept apart from bubblewrap's); None leaves fd 2 as it is."""
    landlock: _landlock.LandlockSpec | None
    """The Landlock rules, or None for no Landlock layer."""
    seccomp_allow_inet: bool | None
    """None for no seccomp layer; otherwise whether inet sockets are allowed."""
    identity: bool
    """Set no_new_privs and drop every capability."""
    env_fd: int | None = None
    """Inherited fd holding the command's environment as NUL-separated NAME=VALUE
    entries; None execs with the enforcer's own.  The launcher passes it this way
    so that loader variables (LD_PRELOAD and kin) reach only the command, never
    bubblewrap or the enforcer, which run before the layers are in force."""

    def to_json(self) -> str:
        """Return the config as the one-line JSON the enforcer reads."""
        return json.dumps(
            {
                "status_fd": self.status_fd,
                "stderr_fd": self.stderr_fd,
                "landlock": None if self.landlock is None else self.landlock.to_dict(),
                "seccomp_allow_inet": self.seccomp_allow_inet,
                "identity": self.identity,
                "env_fd": self.env_fd,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> EnforcerConfig:
        """Read what `to_json` writes; unknown, missing or ill-typed keys are refused.

        Raises SandboxSetupError.
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise _config_error(f"it is not JSON ({exc})") from exc
        if not isinstance(data, dict) or set(data) != set(cls._fields):
            raise _config_error(f"it needs exactly the keys {sorted(cls._fields)}")
        status_fd, landlock = _fd(data, "status_fd"), data["landlock"]
        seccomp_allow_inet, identity = data["seccomp_allow_inet"], data["identity"]
        if landlock is not None and not isinstance(landlock, dict):
            raise _config_error("landlock must be an object or null")
        if seccomp_allow_inet is not None and not isinstance(seccomp_allow_inet, bool):
            raise _config_error("seccomp_allow_inet must be true, false or null")
        if not isinstance(identity, bool):
            raise _config_error("identity must be true or false")
        return cls(
            status_fd=status_fd,
            stderr_fd=_fd(data, "stderr_fd"),
            landlock=None
            if landlock is None
            else _landlock.LandlockSpec.from_dict(landlock),
            seccomp_allow_inet=seccomp_allow_inet,
            identity=identity,
            env_fd=_fd(data, "env_fd"),
        )


def _fd(data: dict[str, object], key: str) -> int | None:
    value = data[key]
    if value is None or (type(value) is int and value >= 0):
        return value
    raise _config_error(f"{key} must be a file descriptor or null")


def _config_error(reason: str) -> SandboxSetupError:
    return SandboxSetupError(
        f"the enforcer's configuration is malformed: {reason}; this is a bug in "
        f"corral's launcher"
    )


def enforcer_argv(
    python: str, config: EnforcerConfig, argv: Sequence[str]
) -> list[str]:
    """Return the command line that runs `argv` behind the layers in `config`.

    `python` must be an interpreter inside the sandbox that can read this file.
    Raises SandboxSetupError for an empty `argv`.
    """
    if not argv:
        raise SandboxSetupError("no command given to run; this is a bug in corral")
    return [python, *_PYTHON_FLAGS, ENFORCER, config.to_json(), "--", *argv]


class _Reporter:
    """Writes the enforcer's report: JSON to the status fd, or text to stderr."""

    def __init__(self, status_fd: int | None) -> None:
        self.status_fd = status_fd

    def ok(self, landlock_abi: int | None, seccomp: bool, identity: bool) -> None:
        """Report that every layer asked for is in force (nothing without a fd)."""
        if self.status_fd is not None:
            report = {
                "ok": True,
                "landlock_abi": landlock_abi,
                "seccomp": seccomp,
                "identity": identity,
            }
            _write_line(self.status_fd, json.dumps(report, separators=(",", ":")))

    def failed(self, layer: str, message: str, err: int | None = None) -> None:
        """Report a failure; a report that cannot be written is dropped."""
        if self.status_fd is None:
            line, fd = f"corral: {message}", 2
        else:
            report: dict[str, object] = {"ok": False, "layer": layer}
            if err is not None:
                report["errno"] = err
            report["error"] = message
            line, fd = json.dumps(report, separators=(",", ":")), self.status_fd
        with contextlib.suppress(OSError):  # the exit status still says it failed
            _write_line(fd, line)


def _write_line(fd: int, line: str) -> None:
    # One write(2) of one line: atomic on a pipe, never interleaved.
    os.write(fd, (line + "\n").encode(errors="replace"))


def _parse(args: Sequence[str]) -> tuple[EnforcerConfig, list[str]]:
    if len(args) < 3 or args[1] != "--":
        raise SandboxSetupError(
            "usage: _enforce.py CONFIG_JSON -- COMMAND [ARG...]; this is a bug in "
            "corral's launcher"
        )
    return EnforcerConfig.from_json(args[0]), list(args[2:])


def main(args: Sequence[str]) -> int:
    """Apply the layers `args[0]` asks for and exec `args[2:]`; return on failure.

    `args` is ``[CONFIG_JSON, "--", ARGV...]``.  Exit statuses: 125 when a layer
    or the configuration fails, 127 when the command is not found, 126 when it is
    found but cannot be executed.
    """
    reporter = _Reporter(None)
    layer = "config"
    try:
        config, argv = _parse(args)
        if config.status_fd is not None:
            # Before anything can fail, so that every failure is reported there,
            # and so that the command never inherits it.
            os.set_inheritable(config.status_fd, False)
            reporter = _Reporter(config.status_fd)
        env = _read_environment(config.env_fd)

        if config.identity:
            layer = "identity"
            _identity.drop_privileges()
        abi = None
        if config.landlock is not None:
            layer = "landlock"
            abi = _landlock.apply_landlock(config.landlock)
        if config.seccomp_allow_inet is not None:
            layer = "seccomp"
            program = _seccomp.build_filter(allow_inet=config.seccomp_allow_inet)
            _seccomp.apply_seccomp(program)

        layer = "streams"
        if config.stderr_fd is not None and config.stderr_fd != 2:
            # dup2 leaves the new fd 2 inheritable; the original is not needed.
            os.dup2(config.stderr_fd, 2)
            os.close(config.stderr_fd)
        reporter.ok(abi, config.seccomp_allow_inet is not None, config.identity)
    except CorralError as exc:
        reporter.failed(layer, str(exc))
        return ExitCode.CORRAL_FAILED
    except OSError as exc:
        reporter.failed(layer, f"the {layer} step failed: {exc}")
        return ExitCode.CORRAL_FAILED
    except Exception as exc:  # noqa: BLE001 (a bug must still be reported, not traced)
        reporter.failed(layer, f"internal error in the {layer} step: {exc!r}")
        return ExitCode.CORRAL_FAILED

    for signum in _RESTORED_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    try:
        _execvp(argv, env)
    except OSError as exc:
        reporter.failed(
            "exec", f"cannot run {argv[0]!r}: {exc.strerror}", exc.errno or 0
        )
        return ExitCode.NOT_FOUND if exc.errno == errno.ENOENT else EXIT_CANNOT_EXECUTE
    raise AssertionError("unreachable: exec returns only by raising")


def _read_environment(fd: int | None) -> dict[str, str]:
    """Return the environment held in `fd` (closed after), or the enforcer's own."""
    if fd is None:
        return dict(os.environ)
    chunks = []
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(fd)
    env = {}
    for entry in b"".join(chunks).split(b"\0"):
        name, sep, value = entry.partition(b"=")
        if sep and name:
            env[os.fsdecode(name)] = os.fsdecode(value)
    return env


def _execvp(argv: list[str], env: dict[str, str]) -> None:
    """Become `argv`, searching PATH as a shell does; raise the error that counts.

    Unlike os.execvp, a PATH entry that cannot be searched does not turn "not
    found" into "permission denied"; only an error on a file that exists counts.
    A file without a #! line runs under /bin/sh, as libc's execvp does it.
    """
    name = argv[0]
    candidates = (
        [name]
        if "/" in name
        else [
            os.path.join(directory, name)  # noqa: PTH118 (see sys.path above)
            for directory in os.get_exec_path(env)
        ]
    )
    counted: OSError | None = None
    for path in candidates:
        try:
            _exec(path, argv, env)
        except OSError as exc:
            if counted is None and os.access(path, os.F_OK):
                counted = exc
    raise counted or FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)


def _exec(path: str, argv: list[str], env: dict[str, str]) -> None:
    try:
        os.execve(path, argv, env)  # noqa: S606 (becoming the command is the point)
    except OSError as exc:
        if exc.errno != errno.ENOEXEC:
            raise
    os.execve("/bin/sh", ["/bin/sh", path, *argv[1:]], env)  # noqa: S606


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
