"""The enforcer: applies the in-sandbox kernel layers, then becomes the command.

It runs inside the sandbox before every command, as
``python -I -S -B _enforce_main.py OPTION... -- ARGV...``; `enforcer_argv`
builds that line.  It reports in JSON lines on the status fd and prints nothing
else.  In a pid namespace of the sandbox's own it forks before Landlock and
seccomp: the child applies them and becomes the command, and the parent stays
outside the command's Landlock domain as its supervisor
(`corral.sandbox._supervise`), which reports how it ended.
Its imports are kept to builtin modules and corral's kernel layers: each
millisecond of start-up here is paid by every command.
"""

from __future__ import annotations

import errno
import os

from corral._record import Record
from corral.errors import CorralError, ExitCode, SandboxSetupError
from corral.sandbox import _identity, _landlock, _seccomp, _supervise
from corral.sandbox._report import Reporter

TYPE_CHECKING = False
if TYPE_CHECKING:
    # The same functions as _signal, which is what the interpreter runs.
    import signal as _signal
    from collections.abc import Sequence
    from typing import TypeVar

    _T = TypeVar("_T")
else:
    # signal.py builds enums of every signal, and importing enum costs ~3 ms.
    import _signal

__all__ = [
    "ENFORCER",
    "EXIT_CANNOT_EXECUTE",
    "EnforcerConfig",
    "enforcer_argv",
    "main",
]

ENFORCER = os.path.join(os.path.dirname(__file__), "_enforce_main.py")  # noqa: PTH118, PTH120
"""The script the launcher names on the sandbox's command line (os.path, not
pathlib: importing pathlib would cost every command ~2 ms)."""

EXIT_CANNOT_EXECUTE = 126
"""The command was found but could not be executed, as a shell reports it."""

_PYTHON_FLAGS = ("-I", "-S", "-B")
"""Isolated (no PYTHON* variables, no user site), no site-packages, no .pyc writes:
the command's environment cannot change how the enforcer itself runs."""

_RESTORED_SIGNALS = (_signal.SIGPIPE, _signal.SIGXFSZ)
"""Python ignores these at start-up; a command must start with the default."""

_OPTIONS = (
    "status-fd",
    "stderr-fd",
    "env-fd",
    "identity",
    "seccomp",
    "landlock",
    "proxy-bridge",
    "supervise",
    "command-fd",
    "mounts-fd",
)
"""The options the enforcer's command line must give, each exactly once."""
_LANDLOCK_OPTIONS = ("landlock-restrict-tcp", "landlock-scope")
"""Given exactly once each with --landlock=on, never without it."""
_LANDLOCK_PATHS = ("landlock-writable", "landlock-device")
"""Repeated once per path with --landlock=on, never without it."""

_YES_NO = {"yes": True, "no": False}
_ON_OFF = {"on": True, "off": False}
_SECCOMP = {"off": None, "offline": False, "online": True}
"""--seccomp: no filter, or a filter with inet sockets refused or allowed."""


class EnforcerConfig(Record):
    """Which layers the enforcer applies, and where it reports.

    Every field must be given: an omitted layer is a decision, not a default.
    On the command line it is one ``--name=value`` option per field (see
    `to_args`), so that no path needs quoting or escaping.
    """

    __slots__ = (
        "command_fd",
        "env_fd",
        "identity",
        "landlock",
        "mounts_fd",
        "proxy_bridge",
        "seccomp_allow_inet",
        "status_fd",
        "stderr_fd",
        "supervise",
    )
    status_fd: int | None
    """Inherited fd for the JSON status lines; None: stderr on failure."""
    stderr_fd: int | None
    """Inherited fd moved onto fd 2 just before exec (the command's own stderr,
    kept apart from bubblewrap's); None leaves fd 2 as it is."""
    landlock: _landlock.LandlockSpec | None
    """The Landlock rules, or None for no Landlock layer."""
    seccomp_allow_inet: bool | None
    """None for no seccomp layer; otherwise whether inet sockets are allowed."""
    identity: bool
    """Set no_new_privs and drop every capability."""
    env_fd: int | None
    """Inherited fd holding the command's environment as NUL-separated NAME=VALUE
    entries; None execs with the enforcer's own.  The launcher passes it this way
    so that loader variables (LD_PRELOAD and kin) reach only the command, never
    bubblewrap or the enforcer, which run before the layers are in force."""
    proxy_bridge: int | None
    """Inherited fd: the sandbox's end of the proxy's channel, served on the
    loopback proxy port by `corral.network._bridge` before the layers close
    (the command never inherits it); None: no proxy (offline or online)."""
    supervise: str | None
    """None: no supervisor.  Otherwise the pid namespace corral runs in, as
    /proc/self/ns/pid names it (``pid:[INODE]``), given when the sandbox has one
    of its own: the enforcer forks before Landlock and seccomp and stays as the
    command's supervisor (`_supervise`) once it has seen that it runs in another,
    since the supervisor kills every process it can see when the command ends."""
    command_fd: int | None
    """None: the command line follows ``--``.  Otherwise an inherited unix socket
    on which a sandbox started before its command was known waits for it: the
    command line and its three streams (`corral.sandbox._handover`)."""
    mounts_fd: int | None
    """Inherited fd holding, NUL-separated, every path bubblewrap mounts on to
    cover it (protected, hidden, sockets); each must still be a mount point
    when the command starts, and stay one while it runs (the supervisor
    watches).  None: nothing is watched."""

    def __init__(
        self,
        *,
        status_fd: int | None,
        stderr_fd: int | None,
        landlock: _landlock.LandlockSpec | None,
        seccomp_allow_inet: bool | None,
        identity: bool,
        env_fd: int | None = None,
        proxy_bridge: int | None = None,
        supervise: str | None = None,
        command_fd: int | None = None,
        mounts_fd: int | None = None,
    ) -> None:
        self._init(
            status_fd=status_fd,
            stderr_fd=stderr_fd,
            landlock=landlock,
            seccomp_allow_inet=seccomp_allow_inet,
            identity=identity,
            env_fd=env_fd,
            proxy_bridge=proxy_bridge,
            supervise=supervise,
            command_fd=command_fd,
            mounts_fd=mounts_fd,
        )

    def to_args(self) -> list[str]:
        """Return the config as the enforcer's options, which `from_args` reads."""
        seccomp = {value: name for name, value in _SECCOMP.items()}
        args = [
            f"--status-fd={_fd_text(self.status_fd)}",
            f"--stderr-fd={_fd_text(self.stderr_fd)}",
            f"--env-fd={_fd_text(self.env_fd)}",
            f"--identity={'yes' if self.identity else 'no'}",
            f"--seccomp={seccomp[self.seccomp_allow_inet]}",
            f"--proxy-bridge={_fd_text(self.proxy_bridge)}",
            f"--supervise={_namespace_text(self.supervise)}",
            f"--command-fd={_fd_text(self.command_fd)}",
            f"--mounts-fd={_fd_text(self.mounts_fd)}",
        ]
        spec = self.landlock
        if spec is None:
            return [*args, "--landlock=off"]
        return [
            *args,
            "--landlock=on",
            f"--landlock-restrict-tcp={'yes' if spec.restrict_tcp else 'no'}",
            f"--landlock-scope={'yes' if spec.scope else 'no'}",
            *(f"--landlock-writable={os.fspath(path)}" for path in spec.writable),
            *(f"--landlock-device={os.fspath(path)}" for path in spec.devices),
        ]

    @classmethod
    def from_args(cls, args: Sequence[str]) -> EnforcerConfig:
        """Read what `to_args` writes; unknown, repeated, missing or ill-formed
        options are refused.

        Raises SandboxSetupError.
        """
        given = _options(args)
        landlock = _choice(given, "landlock", _ON_OFF)
        with_landlock = _LANDLOCK_OPTIONS + _LANDLOCK_PATHS
        stray = [f"--{name}" for name in with_landlock if name in given]
        if not landlock and stray:
            raise _config_error(f"{', '.join(stray)} given with --landlock=off")
        return cls(
            status_fd=_fd(given, "status-fd"),
            stderr_fd=_fd(given, "stderr-fd"),
            landlock=_landlock.LandlockSpec(
                writable=_paths(given, "landlock-writable"),
                devices=_paths(given, "landlock-device"),
                restrict_tcp=_choice(given, "landlock-restrict-tcp", _YES_NO),
                scope=_choice(given, "landlock-scope", _YES_NO),
            )
            if landlock
            else None,
            seccomp_allow_inet=_choice(given, "seccomp", _SECCOMP),
            identity=_choice(given, "identity", _YES_NO),
            env_fd=_fd(given, "env-fd"),
            proxy_bridge=_fd(given, "proxy-bridge"),
            supervise=_namespace(given, "supervise"),
            command_fd=_fd(given, "command-fd"),
            mounts_fd=_fd(given, "mounts-fd"),
        )


def _options(args: Sequence[str]) -> dict[str, list[str]]:
    """Return each option's values; refuse unknown and repeated options."""
    given: dict[str, list[str]] = {}
    known = (*_OPTIONS, *_LANDLOCK_OPTIONS, *_LANDLOCK_PATHS)
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep or not name.startswith("--") or name[2:] not in known:
            raise _config_error(f"unknown option {arg!r}")
        given.setdefault(name[2:], []).append(value)
    for name, values in given.items():
        if len(values) > 1 and name not in _LANDLOCK_PATHS:
            raise _config_error(f"--{name} is given {len(values)} times")
    return given


def _value(given: dict[str, list[str]], name: str) -> str:
    values = given.get(name)
    if values is None:
        raise _config_error(f"--{name} is missing")
    return values[0]


def _choice(given: dict[str, list[str]], name: str, choices: dict[str, _T]) -> _T:
    value = _value(given, name)
    if value not in choices:
        raise _config_error(f"--{name} must be one of {', '.join(choices)}")
    return choices[value]


def _fd(given: dict[str, list[str]], name: str) -> int | None:
    value = _value(given, name)
    if value == "none":
        return None
    # isascii: int() would also read digits of other scripts.
    if value.isascii() and value.isdigit():
        return int(value)
    raise _config_error(f"--{name} must be a file descriptor or none")


def _fd_text(fd: int | None) -> str:
    if fd is None:
        return "none"
    if fd < 0:
        raise _config_error(f"{fd} is not a file descriptor")
    return str(fd)


def _namespace(given: dict[str, list[str]], name: str) -> str | None:
    value = _value(given, name)
    if value == "none":
        return None
    return _namespace_text(value)


def _namespace_text(namespace: str | None) -> str:
    """Return `namespace` as an option value; refuse what /proc would not name."""
    if namespace is None:
        return "none"
    inode = namespace.removeprefix("pid:[").removesuffix("]")
    if f"pid:[{inode}]" != namespace or not (inode.isascii() and inode.isdigit()):
        raise _config_error(f"{namespace!r} names no pid namespace")
    return namespace


def _paths(given: dict[str, list[str]], name: str) -> tuple[str, ...]:
    paths = tuple(given.get(name, ()))
    if "" in paths:
        raise _config_error(f"--{name} needs a path")
    return paths


def _config_error(reason: str) -> SandboxSetupError:
    return SandboxSetupError(
        f"the enforcer's configuration is malformed: {reason}; this is a bug in "
        f"corral's launcher"
    )


def enforcer_argv(
    python: str,
    config: EnforcerConfig,
    argv: Sequence[str],
    *,
    script: str = ENFORCER,
) -> list[str]:
    """Return the command line that runs `argv` behind the layers in `config`.

    `python` must be an interpreter inside the sandbox that can read `script`
    (this installation's entry script unless another copy is named).
    `argv` is empty exactly when `config` names a `command_fd` to receive it on.
    Raises SandboxSetupError for an empty `argv` otherwise, or one given anyway.
    """
    if bool(argv) == (config.command_fd is not None):
        raise SandboxSetupError(
            "the command must be given on the command line or by --command-fd, "
            "once; this is a bug in corral"
        )
    return [python, *_PYTHON_FLAGS, script, *config.to_args(), "--", *argv]


def _parse(args: Sequence[str]) -> tuple[EnforcerConfig, list[str]]:
    usage = SandboxSetupError(
        "usage: _enforce.py OPTION... -- COMMAND [ARG...], or with --command-fd "
        "no command after --; this is a bug in corral's launcher"
    )
    if "--" not in args:
        raise usage
    split = args.index("--")
    config, argv = EnforcerConfig.from_args(args[:split]), list(args[split + 1 :])
    if bool(argv) == (config.command_fd is not None):
        raise usage
    return config, argv


def main(args: Sequence[str]) -> int:
    """Apply the layers the options ask for and exec the command; return on failure.

    `args` is ``[OPTION..., "--", ARGV...]``, as `enforcer_argv` writes it.
    Exit statuses: 125 when a layer or the configuration fails, 127 when the
    command is not found, 126 when it is found but cannot be executed; a
    supervisor exits with its command's status (128 + N for signal N).
    """
    reporter = Reporter(None)
    layer = "config"
    try:
        config, argv = _parse(args)
        if config.status_fd is not None:
            # Before anything can fail, so that every failure is reported there,
            # and so that the command never inherits it.
            os.set_inheritable(config.status_fd, False)
            reporter = Reporter(config.status_fd)
        env = _read_environment(config.env_fd)
        covered = _read_entries(config.mounts_fd)
        stderr_fd = config.stderr_fd

        if config.identity:
            layer = "identity"
            _identity.drop_privileges()
        if config.command_fd is not None:
            # Started before its command was known: everything above is done
            # ahead, everything below (the supervisor, the layers) for the
            # command, as on any run.
            layer = "handover"
            argv, stderr_fd = _take_command(config.command_fd)
        if config.proxy_bridge is not None:
            # Before Landlock and seccomp, which are the command's: the bridge
            # only listens and passes descriptors.
            layer = "network"
            from corral.network._bridge import start_bridge  # noqa: PLC0415

            start_bridge(config.proxy_bridge)
        # Before Landlock and seccomp, which are the command's alone: outside its
        # Landlock domain the supervisor is out of reach of the command's signals.
        # Checked here, and watched from here on by the supervisor: a path the
        # host renamed over or removed since bubblewrap mounted it is uncovered.
        layer = "mounts"
        guarded = _supervise.expected_mounts(covered)
        layer = "supervise"
        _start_supervised(config, guarded)
        abi = None
        if config.landlock is not None:
            layer = "landlock"
            abi = _landlock.apply_landlock(config.landlock)
        if config.seccomp_allow_inet is not None:
            layer = "seccomp"
            program = _seccomp.build_filter(allow_inet=config.seccomp_allow_inet)
            _seccomp.apply_seccomp(program)

        layer = "streams"
        _put_stderr(stderr_fd)
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
        _signal.signal(signum, _signal.SIG_DFL)
    try:
        _execvp(argv, env)
    except OSError as exc:
        reporter.failed(
            "exec", f"cannot run {argv[0]!r}: {exc.strerror}", exc.errno or 0
        )
        return ExitCode.NOT_FOUND if exc.errno == errno.ENOENT else EXIT_CANNOT_EXECUTE
    raise AssertionError("unreachable: exec returns only by raising")


def _put_stderr(fd: int | None) -> None:
    """Make `fd` the command's stderr, fd 2, just before exec."""
    if fd is not None and fd != 2:
        # dup2 leaves the new fd 2 inheritable; the original is not needed.
        os.dup2(fd, 2)
        os.close(fd)


def _take_command(fd: int) -> tuple[list[str], int]:
    """Wait on `fd` for the command; put its stdin and stdout in place.

    Returns the command line and the command's stderr, which goes onto fd 2
    only just before exec (until then fd 2 is bubblewrap's, for corral's own
    errors).  Raises SandboxSetupError when nothing or something malformed
    comes (the sandbox was not wanted after all: nothing runs).
    """
    from corral.sandbox._handover import receive  # noqa: PLC0415 (only here)

    argv, (stdin, stdout, stderr) = receive(fd)
    for source, target in ((stdin, 0), (stdout, 1)):
        if source != target:
            os.dup2(source, target)
            os.close(source)
    return argv, stderr


def _start_supervised(config: EnforcerConfig, guarded: dict[bytes, bytes]) -> None:
    """Fork the supervisor off, when asked and in the sandbox's own pid namespace.

    Returns in the process that goes on to become the command: the child, or
    this one when there is no supervisor.
    """
    if config.supervise is None or config.status_fd is None:
        return
    bridged = config.proxy_bridge is not None
    _supervise.fork_command(
        config.status_fd, config.supervise, bridged=bridged, guarded=guarded
    )


def _read_entries(fd: int | None) -> list[bytes]:
    """Return the NUL-separated entries held in `fd` (closed after); none without."""
    if fd is None:
        return []
    chunks = []
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return [entry for entry in b"".join(chunks).split(b"\0") if entry]


def _read_environment(fd: int | None) -> dict[str, str]:
    """Return the environment held in `fd` (closed after), or the enforcer's own."""
    if fd is None:
        return dict(os.environ)
    env = {}
    for entry in _read_entries(fd):
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
    # What os.get_exec_path(env) returns, without the warnings module it imports.
    search = env.get("PATH", os.defpath).split(os.pathsep)
    candidates = (
        [name]
        if "/" in name
        else [
            os.path.join(directory, name)  # noqa: PTH118 (pathlib costs start-up)
            for directory in search
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
