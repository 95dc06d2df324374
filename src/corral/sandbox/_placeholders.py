"""Placeholders: how a protected path that does not exist yet stays uncreatable.

A bind mount needs something to mount on.  For each absent protected path
corral creates an empty placeholder on the host and binds it read-only in the
sandbox, so the command can neither create nor replace it.  Removing it on the
host would detach that mount in every sandbox relying on it, so the lock is on
the placeholder itself: every run holds a shared lock on each empty protected
path it binds (any may be a placeholder, whoever made it) until its sandbox is
gone, and a placeholder is removed only under an exclusive lock nobody else
holds.  A journal in the state directory records what corral created, so the
end of any later run with that state directory removes what a crashed or
outlived run left.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from corral._state import ensure_private_dir
from corral.errors import WorkspaceError

__all__ = ["LOCK_WAIT_SECONDS", "PlaceholderLease", "lease_placeholders"]

_PLACEHOLDER_DIR_MODE = 0o755
_PLACEHOLDER_FILE_MODE = 0o644

# corral holds a placeholder exclusively only for the instant it takes to
# remove it, so a lock held longer is someone else's: fail rather than let any
# process that can open the path hang every run there.
LOCK_WAIT_SECONDS = 5.0
_LOCK_RETRY_SECONDS = 0.05

# A path removed and re-created by other runs between our looks is retried;
# one that keeps changing is being raced on purpose.
_MAX_HOLD_ATTEMPTS = 10

_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: the path was a regular file when looked at, but a fifo swapped
# in since must not block the open.
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass
class PlaceholderLease:
    """A run's hold on the placeholders it binds; see `lease_placeholders`."""

    journal_path: Path
    journal_lock: Path
    held: list[int] = field(default_factory=list)

    def hold(
        self, existing: Iterable[Path], absent: Iterable[tuple[Path, bool]]
    ) -> tuple[Path, ...]:
        """Hold every protected path that may be a placeholder; create the absent.

        An existing path that vanished or was replaced before it was held is
        treated as absent again.  Returns every protected path, to bind.
        Raises `WorkspaceError` when a placeholder cannot be created or held.
        """
        protected: list[Path] = []
        missing = list(absent)
        for path in existing:
            kind = self._hold_existing(path)
            if kind is None:
                protected.append(path)
            else:
                missing.append((path, kind))
        if missing:
            with _locked(self.journal_lock, fcntl.LOCK_EX):
                journal = _read_journal(self.journal_path)
                try:
                    for path, is_dir in missing:
                        self._create(path, is_dir, journal)
                        protected.append(path)
                finally:
                    _write_journal(self.journal_path, journal)
        return tuple(protected)

    def _hold_existing(self, path: Path) -> bool | None:
        """Hold `path` if it may be a placeholder; return its kind if it vanished."""
        try:
            info = path.lstat()
        except FileNotFoundError:
            return False  # either kind keeps the path from being created
        fd = _hold(path, info)
        if isinstance(fd, _Vanished):
            return stat.S_ISDIR(info.st_mode)
        if fd is not None:
            self.held.append(fd)
        return None

    def _create(self, path: Path, is_dir: bool, journal: dict[str, list[int]]) -> None:
        for _ in range(_MAX_HOLD_ATTEMPTS):
            info, created = _make_placeholder(path, is_dir)
            fd = _hold(path, info)
            if isinstance(fd, _Vanished):
                continue
            if fd is not None:
                self.held.append(fd)
            if created:
                journal[str(path)] = [info.st_dev, info.st_ino, is_dir]
            return
        raise WorkspaceError(
            f"protected path {path} keeps being removed and re-created while corral "
            "holds it; stop whatever changes it and retry"
        )

    def release(self) -> None:
        """Drop this run's holds; call only once its sandbox is gone."""
        while self.held:
            os.close(self.held.pop())


@contextlib.contextmanager
def lease_placeholders(state: Path) -> Iterator[PlaceholderLease]:
    """Hold placeholders for one run; on exit remove those nobody else holds.

    Removes every placeholder the journal of `state` records and no run holds,
    this run's and those left by earlier ones.  Raises `WorkspaceError` when
    the journal cannot be read or written.
    """
    directory = ensure_private_dir(state / "placeholders")
    lease = PlaceholderLease(
        journal_path=directory / "journal.json",
        journal_lock=directory / "journal.lock",
    )
    try:
        yield lease
    finally:
        lease.release()
        _sweep(lease)


def _sweep(lease: PlaceholderLease) -> None:
    with _locked(lease.journal_lock, fcntl.LOCK_EX):
        journal = _read_journal(lease.journal_path)
        for path_text, (dev, ino, is_dir) in list(journal.items()):
            if _remove_placeholder(Path(path_text), dev, ino, is_dir=bool(is_dir)):
                del journal[path_text]
        _write_journal(lease.journal_path, journal)


class _Vanished:
    """The path was removed or replaced before it could be held."""


_VANISHED = _Vanished()


def _hold(path: Path, info: os.stat_result) -> int | _Vanished | None:
    """Take a shared lock on `path` if it may be a placeholder (empty dir or file).

    Returns the descriptor holding the lock, None when `path` cannot be a
    placeholder, `_VANISHED` when it is no longer the entry `info` describes.
    """
    if stat.S_ISDIR(info.st_mode):
        flags = _OPEN_DIR
    elif stat.S_ISREG(info.st_mode) and info.st_size == 0:
        flags = _OPEN_FILE
    else:
        return None
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        return _VANISHED
    except OSError as exc:
        raise WorkspaceError(
            f"cannot open protected path {path} to hold it: {exc.strerror}; "
            "corral must hold an empty protected path while a sandbox binds it"
        ) from exc
    try:
        if stat.S_ISDIR(info.st_mode) and not _is_empty_dir(fd):
            os.close(fd)
            return None
        _lock_within(fd, fcntl.LOCK_SH, path)
        if not _is_same(fd, path):
            os.close(fd)
            return _VANISHED
    except BaseException:
        os.close(fd)
        raise
    return fd


def _is_empty_dir(fd: int) -> bool:
    with os.scandir(fd) as entries:
        return next(entries, None) is None


def _is_same(fd: int, path: Path) -> bool:
    held = os.fstat(fd)
    try:
        now = path.lstat()
    except FileNotFoundError:
        return False
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)


def _lock_within(fd: int, operation: int, path: Path) -> None:
    """Take `operation` on `fd`, waiting at most `LOCK_WAIT_SECONDS` for it."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise WorkspaceError(
                    f"{path} stayed locked for {LOCK_WAIT_SECONDS:g} s: another "
                    f"process holds it (fuser -v {path} shows which); stop it and "
                    "retry"
                ) from None
            time.sleep(_LOCK_RETRY_SECONDS)
        else:
            return


def _make_placeholder(path: Path, is_dir: bool) -> tuple[os.stat_result, bool]:
    """Create an empty placeholder; return what is at `path` and whether we made it."""
    created = True
    try:
        if is_dir:
            path.mkdir(mode=_PLACEHOLDER_DIR_MODE)
        else:
            fd = os.open(
                path,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                _PLACEHOLDER_FILE_MODE,
            )
            os.close(fd)
    except FileExistsError:
        created = False
    except OSError as exc:
        raise WorkspaceError(
            f"cannot create {path}, the placeholder that keeps this absent protected "
            f"path from being created: {exc.strerror}; corral creates it in "
            f"{path.parent}: make that directory writable by you, or create {path} "
            "yourself, and retry"
        ) from exc
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise WorkspaceError(
            f"protected path {path} appeared as a symbolic link; remove it and retry"
        )
    return info, created


def _remove_placeholder(path: Path, dev: int, ino: int, *, is_dir: bool) -> bool:
    """Remove a placeholder nobody holds if it is still the empty entry corral made.

    Returns False when another run holds it (keep its journal entry), True
    when it is gone or no longer corral's.
    """
    try:
        fd = os.open(path, _OPEN_DIR if is_dir else _OPEN_FILE)
    except OSError:
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != (dev, ino) or not _is_same(fd, path):
            return True
        with contextlib.suppress(OSError):
            if is_dir:
                path.rmdir()
            elif stat.S_ISREG(info.st_mode) and info.st_size == 0:
                path.unlink()
    finally:
        os.close(fd)
    return True


def _read_journal(path: Path) -> dict[str, list[int]]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise WorkspaceError(
            f"corral's placeholder journal {path} is unreadable ({exc}); remove it "
            "after checking the workspace for empty protected paths, and retry"
        ) from exc
    return {str(k): [int(x) for x in v] for k, v in dict(data).items()}


def _write_journal(path: Path, journal: dict[str, list[int]]) -> None:
    if not journal:
        path.unlink(missing_ok=True)
        return
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(json.dumps(journal, sort_keys=True))
    temporary.replace(path)


def _open_lock(path: Path) -> int:
    try:
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        return os.open(path, flags, 0o600)
    except OSError as exc:
        raise WorkspaceError(
            f"cannot open lock file {path}: {exc.strerror}; check corral's state "
            "directory permissions"
        ) from exc


@contextlib.contextmanager
def _locked(path: Path, operation: int) -> Iterator[None]:
    fd = _open_lock(path)
    try:
        _lock_within(fd, operation, path)
        yield
    finally:
        os.close(fd)
