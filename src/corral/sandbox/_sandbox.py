"""The long-lived sandbox: set up once for a workspace, then run many commands.

`Sandbox` is the library API and what ``corral run`` uses for its one command.
Set-up (policy, layer checks, tools) happens once; each `run` resolves what
can change between commands (protected paths, placeholders, host sockets),
launches, records the event and explains what the sandbox refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from corral._files import identity
from corral._home import check_home
from corral._logger import get_logger
from corral._session import agent_name, session_id
from corral._state import state_dir
from corral.audit import new_id, record_event, record_policy_loaded
from corral.audit.export._start import start_export
from corral.errors import (
    CorralError,
    ExitCode,
    LayerUnavailableError,
    SandboxSetupError,
    WorkspaceError,
)
from corral.policy import (
    NetworkMode,
    Policy,
    project_policy_path,
    user_policy_path,
)
from corral.sandbox import _availability
from corral.sandbox._enforce import EnforcerConfig, enforcer_argv
from corral.sandbox._environment import (
    build_environment,
    entries_file,
    environment_file,
)
from corral.sandbox._git_reach import user_config_files
from corral.sandbox._git_write import find_exec_todos
from corral.sandbox._hidden import find_host_sockets
from corral.sandbox._landlock import LandlockSpec
from corral.sandbox._launch import Launch, Outcome, launch, start
from corral.sandbox._layers import Layer
from corral.sandbox._mounts import View, bwrap_command, bwrap_options, mount_points
from corral.sandbox._placeholders import PlaceholderLease, lease_placeholders
from corral.sandbox._profile import (
    PRIVATE_DIRS,
    check_trusted_outside,
    required_layers,
    resolve_profile,
    writable_paths,
    writable_private_dirs,
)
from corral.sandbox._protected import (
    ProtectedSet,
    find_git_entries,
    find_protected,
    pinned_ancestors,
)
from corral.sandbox._restored import RESTORED_LINKS, find_restored
from corral.sandbox._result import (
    RunResult,
    command_ending,
    command_status,
    landlock_abi_of,
)
from corral.sandbox._streams import (
    Stream,
    Streams,
    hold_standard_fds,
    open_streams,
)
from corral.sandbox._supervise import pid_namespace
from corral.sandbox._support import find_tools, make_support_files, require_bwrap

if TYPE_CHECKING:
    # The network modules are imported only by allow-list runs: an offline
    # run would pay ~40 ms of imports at every start for nothing.
    from corral.network._lease import Asker, ProxyLease
    from corral.network._route import RouteConfig
    from corral.sandbox._prestart import Prestarted, Slot

__all__ = ["Sandbox"]

logger = get_logger(__name__)

# bubblewrap and the enforcer run before any layer is in force, so nothing of
# the command's environment reaches them (a loader variable would run code
# there); the command gets its own environment from the enforcer.
_LAUNCHER_ENV: Mapping[str, str] = {"PATH": os.defpath, "LC_ALL": "C.UTF-8"}
# What the records of a run say when the library's caller ran it without
# corral's classification: allowed, by whoever called.
_UNCLASSIFIED: Mapping[str, object] = {
    "decision": "allow",
    "approval": {"by": "caller", "classified": False},
}

# Set-up is tried again when a path it covers vanished meanwhile; a path
# that keeps vanishing is not a race but a fault to report.
_SET_UP_TRIES = 3
_MOUNT_POINT_FAILURE = re.compile(r"Can't (?:create file at|mkdir) (/.*?): ")

# Device files a command may write and use as terminals, under every profile.
_DEVICES = (
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
)


class Sandbox:
    """A workspace guarded by one policy; `run` executes commands inside it.

    With `git_write` (a person approved writing to the repository), the git
    directories inside the workspace are writable but for what the host's git
    reads as configuration or runs as code; see `SandboxProfile.git_write`.
    In allow-list network mode every run is served by corral's proxy; `ask`
    puts destinations no entry names to a person (when the policy says so).
    The proxy process is kept from the first such run until `close` (or the
    end of a ``with`` block), so that later runs find it started.  With
    `prestart`, each run ends by starting the sandbox of the next (outside
    allow-list mode), which a run with the same view, working directory and
    environment then uses: it pays for neither bubblewrap nor the enforcer's
    start-up; see `corral.sandbox._prestart`.  It waits until `close`.
    Raises `LayerUnavailableError` at construction when a layer the policy
    needs is missing and not explicitly accepted, `WorkspaceError` when the
    workspace cannot be guarded.
    """

    def __init__(
        self,
        workspace: Path | str,
        policy: Policy,
        *,
        environ: Mapping[str, str] | None = None,
        git_write: bool = False,
        ask: Asker | None = None,
        prestart: bool = False,
    ) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.ask = ask
        self._proxy_hold: ProxyLease | None = None
        self._prestarted: Slot | None = None
        if prestart:
            # Imported only here: socket and threads cost every other run.
            from corral.sandbox._prestart import Slot  # noqa: PLC0415

            self._prestarted = Slot()
            # Also when the Sandbox is collected unclosed, or at the end.
            weakref.finalize(self, self._prestarted.clear)
        check_home(self.environ)
        self.policy = policy
        self.state = state_dir(self.environ)
        record_policy_loaded(
            self.state, policy, Path(workspace).resolve(), environ=self.environ
        )
        self.tools = find_tools()
        # Before any probe runs bubblewrap: not one a command could have put there.
        check_trusted_outside(
            writable_paths(policy, Path(workspace), self.environ),
            dict.fromkeys(self.tools.components(), "corral's own code"),
        )
        self.support = make_support_files(self.state)
        layers, missing = _availability.choose_layers(
            required_layers(policy), policy.accept_missing, self.tools
        )
        marker = str(policy.sandbox_mode)
        env = build_environment(policy, self.environ, sandbox_marker=marker)
        if _proxied(policy.network_mode, layers):
            from corral.network._tools import proxy_environment  # noqa: PLC0415

            env = proxy_environment(env)
        self.profile = resolve_profile(
            policy,
            Path(workspace),
            state=self.state,
            environ=self.environ,
            env=env,
            layers=layers,
            missing=missing,
            git_write=git_write,
        )

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """End a prestarted sandbox; let the proxy process go once no other run
        needs it.  Runs may follow."""
        if self._prestarted is not None:
            self._prestarted.clear()
        if self._proxy_hold is not None:
            self._proxy_hold.close()
            self._proxy_hold = None

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | str | None = None,
        stdin: Stream = None,
        stdout: Stream = None,
        stderr: Stream = None,
        capture: bool = False,
        carry_stdout: bool = False,
        timeout: float | None = None,
        explain_refusals: bool = True,
        decision: Mapping[str, object] | None = None,
        run_id: str | None = None,
    ) -> RunResult:
        """Run `argv` inside the boundary and return its result.

        With `capture`, stdout and stderr are collected into the result instead
        of passed through.  With `carry_stdout`, stdout (unless a terminal)
        passes through corral, so `RunResult.stdout_open_line` tells how it
        ended.  A default stream whose descriptor is closed is /dev/null.
        `decision` is what the event records say about why the command runs
        (``corral run`` passes its classification and approval); the library
        default says the caller ran it unclassified.  `run_id` ties the run's
        records to those written before it (``corral run`` records the request
        and its classification under it); by default a fresh one is made.
        Raises `SandboxSetupError` when a layer fails to apply; the command
        does not run then.  Every run recorded as started is recorded as
        finished or, whatever was raised, as an error.
        """
        if not argv:
            raise CorralError("no command given; pass it after --")
        # The next run's sandbox is started apart from any run's own set-up.
        if self._prestarted is not None:
            self._prestarted.settle()
        directory = self._working_directory(cwd)
        limit = timeout if timeout is not None else self.profile.timeout
        run_id = run_id or new_id()
        route = self._route(argv, run_id)

        def attempt() -> RunResult:
            for tries in range(_SET_UP_TRIES):
                try:
                    return self._run(
                        argv,
                        route=route,
                        cwd=directory,
                        stdin=stdin,
                        stdout=stdout,
                        stderr=stderr,
                        capture=capture,
                        carry_stdout=carry_stdout,
                        timeout=limit,
                    )
                except SandboxSetupError as exc:
                    if tries + 1 == _SET_UP_TRIES or not _covered_path_vanished(exc):
                        raise
                    logger.info("set up again: %s", exc)
            raise AssertionError("unreachable: the last try returns or raises")

        with hold_standard_fds():
            why = dict(decision or _UNCLASSIFIED)
            # The later records repeat the outcome, not the whole classification.
            outcome: dict[str, object] = {
                k: why[k] for k in ("decision", "approval") if k in why
            }
            outcome["run"] = run_id
            reach = {} if route is None else {"network": route.summary()}
            self._record(
                "command.started",
                argv=list(argv),
                cwd=str(directory),
                **why,
                run=run_id,
                **reach,
            )
            try:
                try:
                    result = attempt()
                except LayerUnavailableError as exc:
                    if not self._fall_back_from(exc):
                        raise
                    result = attempt()
                if explain_refusals and result.stderr:
                    # Imported here: a command that wrote nothing to stderr
                    # reported no refusal, and its run need not load the patterns.
                    from corral.sandbox._refusals import find_refusals  # noqa: PLC0415

                    result.refusals = find_refusals(result.stderr, self.profile)
            except BaseException as exc:
                self._record_error(argv, exc, outcome)
                raise
        try:
            self._record_finished(outcome, argv, result)
        except CorralError as exc:
            raise CorralError(
                f"the command ran and exited {result.exit_status}, but {exc}"
            ) from exc
        if not capture:
            result.stderr = None
        # A library caller has no command line to do this after the run.
        start_export(self.state, self.environ)
        if self._prestarted is not None and route is None:
            # Last: this run's placeholders are let go, so no sweep of this
            # process meets the next set-up half way, and the starting thread
            # takes the interpreter from no work of this run.
            self._prestart_later(self._prestarted, directory, self.profile.env)
        return result

    def _record_finished(
        self, outcome: Mapping[str, object], argv: Sequence[str], result: RunResult
    ) -> None:
        self._record(
            "command.finished",
            **outcome,
            argv=list(argv),
            exit_status=result.exit_status,
            timed_out=result.timed_out,
            duration_ms=round(result.duration * 1000, 3),
            refusals=[r.kind for r in result.refusals],
            new_git_dirs=result.new_git_dirs,
            read_only_git_dirs=result.read_only_git_dirs,
            exec_todos=result.exec_todos,
            scan_error=result.scan_error,
            proxy_lost=result.proxy_lost,
            signal=result.signal,
            signal_name=result.signal_name,
            left_running=result.left_running,
            left_names=result.left_names,
            mounts_lost=result.mounts_lost,
            stdout_bytes=result.stdout_bytes,
            stderr_bytes=result.stderr_bytes,
        )

    def _fall_back_from(self, exc: LayerUnavailableError) -> bool:
        """Drop the namespace-based layers if bubblewrap cannot create namespaces.

        Only when the policy accepts every layer that needs them as missing.
        """
        needs_namespaces = {Layer.NAMESPACES, Layer.NETWORK} & self.profile.layers
        accepted = {Layer(name) for name in self.policy.accept_missing}
        if exc.layer != Layer.NAMESPACES or not needs_namespaces <= accepted:
            return False
        logger.warning("bubblewrap cannot create namespaces here: %s", exc.reason)
        layers = self.profile.layers - needs_namespaces
        env = self.profile.env
        if not _proxied(self.profile.network, layers):
            env = build_environment(
                self.policy, self.environ, sandbox_marker=str(self.policy.sandbox_mode)
            )
        self.profile = dataclasses.replace(
            self.profile,
            layers=layers,
            missing=self.profile.missing | needs_namespaces,
            env=env,
        )
        return True

    def _working_directory(self, cwd: Path | str | None) -> Path:
        directory = Path(cwd).resolve() if cwd is not None else self.profile.workspace
        if not directory.is_dir():
            raise WorkspaceError(f"working directory {directory} does not exist")
        return directory

    def _run(
        self,
        argv: Sequence[str],
        *,
        route: RouteConfig | None,
        cwd: Path,
        stdin: Stream,
        stdout: Stream,
        stderr: Stream,
        capture: bool,
        carry_stdout: bool,
        timeout: float | None,
    ) -> RunResult:
        profile = self.profile
        with (
            lease_placeholders(self.state) as lease,
            self._proxy(route) as proxy,
        ):
            view, found = self._view(lease)
            if proxy is not None:
                view = dataclasses.replace(view, bridged=True)
            streams = open_streams(stdin, stdout, stderr, capture, carry_stdout)
            known = {identity(path) for path in (*view.protected, *view.granted)}
            env = {**route.environment, **profile.env} if route else profile.env
            # Handed to the launch, which closes it once the sandbox holds it:
            # the proxy sees the channel end when the sandbox does.
            bridge = None if proxy is None else proxy.take_bridge()
            outcome = self._launch(
                argv, cwd, view, streams, timeout, env=env, bridge=bridge
            )
            # The command has run: a failing scan must not turn its result
            # into corral's error, nor lose its record.
            try:
                new_git_dirs, scan_error = self._new_git_dirs(known), None
            except WorkspaceError as exc:
                new_git_dirs, scan_error = [], str(exc)
            exec_todos = find_exec_todos(view.granted)
            proxy_lost = proxy is not None and proxy.lost
        status, start_error = command_status(outcome, profile)
        ending = command_ending(outcome)
        return RunResult(
            argv=list(argv),
            exit_status=ExitCode.TIMEOUT if outcome.timed_out else status,
            duration=outcome.duration,
            timed_out=outcome.timed_out,
            profile=profile.summary(),
            stdout=bytes(streams.out.data) if streams.out is not None else None,
            stderr=bytes(streams.err.data) if streams.err is not None else None,
            landlock_abi=landlock_abi_of(outcome),
            start_error=start_error,
            new_git_dirs=[str(path) for path in new_git_dirs],
            read_only_git_dirs={
                str(path): why for path, why in found.read_only_git_dirs
            },
            exec_todos=[str(path) for path in exec_todos],
            scan_error=scan_error,
            proxy_lost=proxy_lost,
            stdout_open_line=streams.passed_out is not None
            and streams.passed_out.open_line,
            signal=ending.signal,
            left_running=ending.left_running,
            left_names=ending.left_names,
            mounts_lost=ending.mounts_lost,
            stdout_bytes=streams.stdout_bytes(),
            stderr_bytes=streams.stderr_bytes(),
        )

    def _route(self, argv: Sequence[str], run_id: str) -> RouteConfig | None:
        """Resolve what one run may reach through the proxy; None if not proxied.

        Presets are read now, for this run, and recorded with it.
        """
        profile = self.profile
        if not _proxied(profile.network, profile.layers):
            return None
        from corral.network._route import route_config  # noqa: PLC0415 (cost)

        route = route_config(
            self.policy,
            workspace=profile.workspace,
            writable=profile.writable_roots,
            environ=self.environ,
            context={
                "run": run_id,
                "session": session_id(self.environ),
                "agent": agent_name(self.environ),
                "workspace": str(profile.workspace),
                "argv": list(argv),
            },
        )
        for note in route.notes:  # also in the run's record
            logger.info("%s", note)
        return route

    def _proxy(
        self, route: RouteConfig | None
    ) -> contextlib.AbstractContextManager[ProxyLease | None]:
        """Lease the proxy for one run in allow-list mode; nothing otherwise."""
        profile = self.profile
        if route is None or not _proxied(profile.network, profile.layers):
            return contextlib.nullcontext()
        from corral.network._lease import ProxyLease  # noqa: PLC0415 (cost)

        if self._proxy_hold is None:
            self._proxy_hold = ProxyLease(self.state, None)
        return ProxyLease(self.state, route, ask=self.ask)

    def _trusted(self) -> dict[Path, str]:
        """Return what corral runs, records or obeys: out of every command's reach."""
        trusted = dict.fromkeys(self.tools.components(), "corral's own code")
        trusted[self.state] = "corral's state directory"
        trusted[user_policy_path(self.environ)] = "the user policy"
        project = project_policy_path(self.profile.workspace)
        for source in self.policy.sources:
            if Path(source) != project:  # inside .corral, itself protected
                trusted[Path(source)] = "the policy file"
        return trusted

    def _new_git_dirs(self, known: set[tuple[int, int] | None]) -> list[Path]:
        """Return git directories that appeared during the run.

        A repository created inside the sandbox (``git init`` in a subdirectory)
        is writable until the next command protects it, and tools outside would
        run its hooks; the caller is told so it can be inspected.  `known` holds
        the identities of the paths protected when the command started: a .git
        moved aside and replaced at the same path is a new one.
        """
        profile = self.profile
        if Layer.NAMESPACES not in profile.layers or not profile.writable_roots:
            return []
        return [
            path
            for path in find_git_entries(profile.workspace)
            if identity(path) not in known
        ]

    def _protected(self) -> ProtectedSet:
        """Resolve the protected paths; again when one vanished meanwhile.

        Other runs' placeholders come and go at any moment: one seen, then gone
        before it was looked at closely, is resolved anew, as absent.
        """
        profile = self.profile
        for tries in range(_SET_UP_TRIES):
            try:
                return find_protected(
                    profile.workspace,
                    profile.protected_entries,
                    profile.writable_roots,
                    git_write=profile.git_write,
                    user_configs=user_config_files(self.environ),
                )
            except FileNotFoundError as exc:
                if tries + 1 == _SET_UP_TRIES:
                    raise WorkspaceError(
                        f"{exc.filename} vanished each time corral resolved the "
                        "workspace's protected paths; something keeps creating "
                        "and removing it: stop that and retry"
                    ) from exc
        raise AssertionError("unreachable: the last try returns or raises")

    def _view(self, lease: PlaceholderLease) -> tuple[View, ProtectedSet]:
        """Resolve what can change between commands: protected paths and sockets."""
        profile = self.profile
        check_trusted_outside(profile.writable_roots, self._trusted())
        found = ProtectedSet(existing=(), absent=())
        protected: tuple[Path, ...] = ()
        pinned: tuple[Path, ...] = ()
        if Layer.NAMESPACES in profile.layers and profile.writable_roots:
            found = self._protected()
            protected = lease.hold(found.existing, found.absent, found.kinds)
            bound = (*protected, *found.granted)
            pinned = tuple(pinned_ancestors(bound, profile.writable_roots))
        hidden = [h for h in profile.hidden if not _beneath(h.path, PRIVATE_DIRS)]
        covered = (*PRIVATE_DIRS, *(h.path for h in hidden if h.is_dir))
        view = View(
            protected=protected,
            pinned=pinned,
            granted=found.granted,
            hidden=tuple(hidden),
            sockets=tuple(find_host_sockets(covered)),
            kept=tuple(
                path
                for path in self.tools.visible_paths()
                if _beneath(path, PRIVATE_DIRS)
            ),
            restored=find_restored(RESTORED_LINKS, PRIVATE_DIRS),
        )
        return view, found

    def _launch(
        self,
        argv: Sequence[str],
        cwd: Path,
        view: View,
        streams: Streams,
        timeout: float | None,
        *,
        env: Mapping[str, str],
        bridge: int | None,
    ) -> Outcome:
        prestarted = None if self._prestarted is None else self._prestarted.take()
        if prestarted is not None:
            from corral.sandbox._prestart import Setup, usable  # noqa: PLC0415

            setup = Setup.of(view, cwd, env, self.profile)
            if bridge is None and usable(prestarted, setup, argv, streams):
                outcome = prestarted.run(argv, streams, timeout, view.sockets)
                if outcome is not None:
                    return outcome
            else:
                prestarted.discard()
        spec = self._spec(
            argv, cwd, view, env=env, stderr_fd=streams.command_stderr_fd, bridge=bridge
        )
        return launch(
            dataclasses.replace(
                spec,
                stdin=streams.stdin,
                stdout=streams.stdout,
                stderr=streams.launcher_stderr,
                close_after_spawn=tuple({*streams.close_after_spawn, *spec.pass_fds}),
                errors_r=streams.launcher_errors_r,
                carried=streams.carried,
                timeout=timeout,
            )
        )

    def _spec(
        self,
        argv: Sequence[str],
        cwd: Path,
        view: View,
        *,
        env: Mapping[str, str],
        stderr_fd: int | None,
        bridge: int | None,
        command_fd: int | None = None,
    ) -> Launch:
        """The launch of one sandbox; its streams are the caller's to fill in.

        With `command_fd`, `argv` is empty: the enforcer waits for it there.
        """
        profile = self.profile
        status_r, status_w = os.pipe()
        env_fd = environment_file(env)
        bubblewrap = bool(profile.layers & {Layer.NAMESPACES, Layer.NETWORK})
        # What the mount layer covers, which must stay covered while the command
        # runs (without it, the whole machine is bound as it is, and nothing is).
        covers = Layer.NAMESPACES in profile.layers
        guarded = mount_points(view, sockets=False)
        mounts_fd = entries_file(guarded) if covers else None
        config = EnforcerConfig(
            status_fd=status_w,
            stderr_fd=stderr_fd,
            landlock=self._landlock_spec()
            if Layer.LANDLOCK in profile.layers
            else None,
            seccomp_allow_inet=(
                _inet_allowed(profile.network, profile.layers)
                if Layer.SECCOMP in profile.layers
                else None
            ),
            identity=Layer.IDENTITY in profile.layers,
            env_fd=env_fd,
            proxy_bridge=bridge,
            supervise=pid_namespace() if Layer.NAMESPACES in profile.layers else None,
            command_fd=command_fd,
            mounts_fd=mounts_fd,
        )
        command = enforcer_argv(
            self.tools.python, config, argv, script=str(self.tools.enforcer)
        )
        pass_fds = [
            fd for fd in (status_w, env_fd, stderr_fd, bridge, command_fd, mounts_fd)
            if fd is not None
        ]  # fmt: skip
        json_r: int | None = None
        if bubblewrap:
            json_r, json_w = os.pipe()
            options = bwrap_options(
                profile, view, self.support, cwd=cwd, json_status_fd=json_w
            )
            command, options_fd = bwrap_command(
                require_bwrap(self.tools), options, command
            )
            pass_fds += [json_w, options_fd]
        return Launch(
            argv=command,
            env=_LAUNCHER_ENV,
            cwd=None if json_r is not None else str(cwd),
            stdin=-1,
            stdout=-1,
            stderr=-1,
            pass_fds=tuple(pass_fds),
            close_after_spawn=tuple(pass_fds),
            status_r=status_r,
            errors_r=-1,
            json_r=json_r,
        )

    def _prestart_later(self, slot: Slot, cwd: Path, env: Mapping[str, str]) -> None:
        """Start the next run's sandbox while the caller goes on with this result."""
        slot.start_later(lambda: self._prestart_next(cwd, dict(env)))

    def _prestart_next(self, cwd: Path, env: Mapping[str, str]) -> Prestarted | None:
        """Start the sandbox of the next run in `cwd`; a failure is only logged.

        Only in bubblewrap, whose pipes tell how set-up went; the next run that
        cannot use it reports whatever went wrong by launching anew.
        """
        from corral.sandbox._handover import channel  # noqa: PLC0415
        from corral.sandbox._prestart import Prestarted, Setup  # noqa: PLC0415

        if Layer.NAMESPACES not in self.profile.layers:
            return None
        lease = contextlib.ExitStack()
        undo = contextlib.ExitStack()  # what a failure leaves to close
        ours, theirs = channel()
        undo.callback(ours.close)
        undo.callback(theirs.close)  # a no-op once detached
        try:
            view, _ = self._view(lease.enter_context(lease_placeholders(self.state)))
            command_fd = theirs.detach()  # closed by `start`, with the rest
            spec = self._spec(
                (), cwd, view, env=env, stderr_fd=None, bridge=None,
                command_fd=command_fd,
            )  # fmt: skip
            errors_r, errors_w = os.pipe()
            null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
            spec = dataclasses.replace(
                spec,
                stdin=null,
                stdout=null,
                stderr=errors_w,
                close_after_spawn=(*spec.close_after_spawn, null, errors_w),
                errors_r=errors_r,
            )
            undo.callback(_close_read_ends, spec)
            process = start(spec)
        except Exception as exc:  # noqa: BLE001 - the next run launches anew
            logger.info("could not prestart the next sandbox: %s", exc)
            with lease:
                undo.close()
            return None
        undo.pop_all()  # the prestarted sandbox closes them once it is done
        setup = Setup.of(view, cwd, env, self.profile)
        return Prestarted(setup, spec, process, ours, lease)

    def _landlock_spec(self) -> LandlockSpec:
        profile = self.profile
        return LandlockSpec(
            writable=(*profile.writable_roots, *writable_private_dirs(profile.layers)),
            devices=tuple(Path(device) for device in _DEVICES),
            restrict_tcp=not _inet_allowed(profile.network, profile.layers),
            scope=Layer.NAMESPACES in profile.layers,
        )

    def _record(self, event: str, **fields: object) -> None:
        record = {
            "workspace": str(self.profile.workspace),
            "profile": self.profile.summary(),
            **fields,
        }
        record_event(self.state, event, record, environ=self.environ)

    def _record_error(
        self, argv: Sequence[str], exc: BaseException, outcome: Mapping[str, object]
    ) -> None:
        """Close the started record for a run that raised; keep `exc` the error."""
        error = (
            str(exc) if isinstance(exc, CorralError) else f"{type(exc).__name__}: {exc}"
        )
        try:
            self._record("command.error", **outcome, argv=list(argv), error=error)
        except CorralError as lost:
            logger.warning("%s", lost)
        else:
            if isinstance(exc, CorralError):
                exc.recorded = True


def _close_read_ends(spec: Launch) -> None:
    for fd in (spec.status_r, spec.errors_r, spec.json_r):
        if fd is not None and fd >= 0:
            os.close(fd)


def _covered_path_vanished(exc: SandboxSetupError) -> bool:
    """Whether set-up failed only because a path it covers (a socket) is gone.

    Host programs bind and remove sockets at any moment; one that vanished
    between the snapshot and the mount leaves bubblewrap a mount point to
    make in a directory that is read-only inside.  The command did not start.
    """
    found = _MOUNT_POINT_FAILURE.search(str(exc))
    return found is not None and not os.path.lexists(found.group(1))


def _proxied(network: NetworkMode, layers: frozenset[Layer]) -> bool:
    """Whether runs reach the network through the proxy (allow-list, enforced)."""
    return network is NetworkMode.ALLOW_LIST and Layer.NETWORK in layers


def _inet_allowed(network: NetworkMode, layers: frozenset[Layer]) -> bool:
    """Whether a command may make inet sockets: online, or behind the proxy.

    Behind the proxy the sandbox's network namespace holds only its own
    loopback, where the bridge listens and the command's own servers may.
    """
    return network is NetworkMode.ONLINE or _proxied(network, layers)


def _beneath(path: Path, prefixes: Sequence[Path]) -> bool:
    return any(path.is_relative_to(prefix) for prefix in prefixes)
