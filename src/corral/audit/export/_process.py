"""The detached exporter: how it starts, the lock that keeps it alone, its loop.

`spawn` starts ``python -I`` running `corral.audit.export._start.main` in a new
session, stdio on /dev/null and its errors in ``export.log``, with an
environment that names only where policy and state live.  It is handed
``export.lock`` already held, so a burst of commands starts one exporter.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from corral._files import StateFileError, open_regular
from corral._logger import get_logger
from corral.errors import CorralError

__all__ = ["exporter_lock", "reap", "serve", "spawn", "take_lock"]

logger = get_logger(__name__)

LOCK_NAME = "export.lock"
LOG_NAME = "export.log"
POLL_SECONDS = 1.0
"""How often the background exporter looks for new records."""
QUIET_SECONDS = 3.0
"""How long it waits with nothing new before it exits (the next command starts one)."""
# The exporter's own log holds its errors; past this size it starts afresh.
_LOG_LIMIT = 1 << 20
# The environment the background exporter gets: where policy and state live.
_PASSED = ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME")
_CHILD_PATH = "/usr/bin:/bin"
# src/ (or site-packages/), which holds the corral package this module is part of.
_PACKAGE_PARENT = Path(__file__).resolve().parents[2]


# Exporters this process started, kept until they end so none stays a zombie.
_children: list[subprocess.Popen[bytes]] = []


def reap() -> None:
    """Collect the exit status of every exporter this process started that ended."""
    for child in list(_children):
        if child.poll() is not None:
            _children.remove(child)


def spawn(state: Path, environ: Mapping[str, str], lock: int) -> int:
    """Start the detached exporter for `state`, handing it export.lock, held.

    The lock passes with the descriptor, so a burst of commands starts one
    exporter, not one each.  Its errors go to export.log.
    """
    code = (
        f"import sys; sys.path.insert(0, {str(_PACKAGE_PARENT)!r}); "
        "from corral.audit.export._start import main; sys.exit(main(sys.argv[1:]))"
    )
    argv = [sys.executable, "-I", "-c", code, "--state", str(state)]
    argv += ["--lock-fd", str(lock)]
    log = _open_log(state)
    try:
        child = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
            pass_fds=(lock,),
            cwd="/",
            env=_child_environment(environ),
        )
    finally:
        os.close(log)
    _children.append(child)
    return child.pid


def _child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Where policy and state live, nothing else: no proxy, no OTEL_*, no secret."""
    env = {name: environ[name] for name in _PASSED if name in environ}
    env["PATH"] = _CHILD_PATH
    return env


def _open_log(state: Path) -> int:
    fd = open_regular(state / LOG_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    if os.fstat(fd).st_size > _LOG_LIMIT:
        os.ftruncate(fd, 0)
    return fd


def _open_lock(state: Path) -> int:
    return open_regular(state / LOCK_NAME, os.O_RDWR | os.O_CREAT)


def take_lock(state: Path) -> int | None:
    """Return export.lock's descriptor, locked; None while an exporter holds it."""
    fd = _open_lock(state)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def exporter_lock(state: Path, *, deadline: float | None) -> Iterator[bool]:
    """Hold export.lock: one exporter per state directory; False if it stayed taken.

    Raises `CorralError` when the lock file cannot be opened.
    """
    try:
        fd = _open_lock(state)
    except StateFileError:
        raise
    except OSError as exc:
        raise CorralError(
            f"cannot open {state / LOCK_NAME}: {exc.strerror}; check that corral's "
            "state directory is yours and writable"
        ) from exc
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is None or time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.1)
        yield True
    finally:
        os.close(fd)


def serve(state: Path, environ: Mapping[str, str], lock: int | None = None) -> int:
    """Export as records arrive until none has for `QUIET_SECONDS`; the detached mode.

    `lock` is export.lock, held, as `start_export` hands it over.  Returns 0
    when caught up (or another exporter runs), 1 after a failure.
    """
    if lock is not None:
        try:
            status = _serve_locked(state, environ)
        finally:
            os.close(lock)
        if status != 0 or not _still_pending(state, environ):
            return status
    while True:
        with exporter_lock(state, deadline=None) as held:
            if not held:
                return 0
            status = _serve_locked(state, environ)
        # A command that appended while the lock was held started no exporter:
        # its records are this one's, once more, now that the lock is free.
        if status != 0 or not _still_pending(state, environ):
            return status


def _serve_locked(state: Path, environ: Mapping[str, str]) -> int:
    from corral.audit._settings import audit_settings  # noqa: PLC0415
    from corral.audit.export._ship import ship  # noqa: PLC0415 (imports the SDK)
    from corral.audit.export._start import check_endpoint, pending, shown  # noqa: PLC0415

    quiet_since = time.monotonic()
    while True:
        settings = audit_settings(environ)  # read again: the policy may change
        if settings.endpoint is None:
            return 0
        endpoint = check_endpoint(settings.endpoint)
        if pending(state, endpoint):
            report = ship(state, endpoint, settings.export_timeout, environ=environ)
            if report.error is not None:
                logger.warning("export to %s failed: %s", shown(endpoint), report.error)
                return 1
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= QUIET_SECONDS:
            return 0
        time.sleep(POLL_SECONDS)


def _still_pending(state: Path, environ: Mapping[str, str]) -> bool:
    from corral.audit._settings import audit_settings  # noqa: PLC0415
    from corral.audit.export._start import pending  # noqa: PLC0415 (it imports this one)

    endpoint = audit_settings(environ).endpoint
    return endpoint is not None and pending(state, endpoint) > 0
