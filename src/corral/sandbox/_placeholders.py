"""Placeholders: how a protected path that does not exist yet stays uncreatable.

A bind mount needs something to mount on.  For each absent protected path
corral creates an empty placeholder on the host, binds it read-only in the
sandbox (so the command can neither create nor replace it), and removes it
when the last concurrent run in that workspace ends.  A journal in corral's
state directory lets a later run remove placeholders a crashed run left.

Two locks order this.  Every run holds a shared lock on the workspace
directory itself for its whole life, so no placeholder is removed under a
running sandbox (removing a mount point on the host would detach the mount
inside), whoever's state directory that run uses; a lock beside the journal
serialises changes to it.  Placeholders are removed only by a run using the
state directory that created them, so with two state directories on one
workspace at once, a placeholder can outlive the runs until that directory's
next run there.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from corral._state import ensure_private_dir
from corral.errors import WorkspaceError

__all__ = ["WorkspaceLease", "lease_workspace"]

_PLACEHOLDER_DIR_MODE = 0o755
_PLACEHOLDER_FILE_MODE = 0o644


@dataclass
class WorkspaceLease:
    """A run's hold on one workspace's placeholders; see `lease_workspace`."""

    journal_path: Path
    journal_lock: Path

    def create(self, absent: Iterable[tuple[Path, bool]]) -> list[Path]:
        """Create a placeholder for each absent path, record it, and return them all.

        Raises `WorkspaceError` when a placeholder cannot be created.
        """
        created: list[Path] = []
        with _locked(self.journal_lock, fcntl.LOCK_EX):
            journal = _read_journal(self.journal_path)
            for path, is_dir in absent:
                info = _make_placeholder(path, is_dir)
                journal[str(path)] = [info.st_dev, info.st_ino, is_dir]
                created.append(path)
            _write_journal(self.journal_path, journal)
        return created


@contextlib.contextmanager
def lease_workspace(state: Path, workspace: Path) -> Iterator[WorkspaceLease]:
    """Hold `workspace` for one run; on exit remove placeholders if no run remains.

    Raises `WorkspaceError` when the lock files cannot be opened.
    """
    directory = ensure_private_dir(state / "placeholders")
    key = hashlib.sha256(os.fsencode(workspace)).hexdigest()[:32]
    lease = WorkspaceLease(
        journal_path=directory / f"{key}.json",
        journal_lock=directory / f"{key}.journal.lock",
    )
    # The workspace directory itself is the lock every run holds, so runs with
    # different state directories (another user, another XDG_STATE_HOME)
    # still see each other.
    try:
        users_fd = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise WorkspaceError(
            f"cannot open the workspace {workspace}: {exc.strerror}"
        ) from exc
    try:
        fcntl.flock(users_fd, fcntl.LOCK_SH)
        yield lease
    finally:
        try:
            _remove_if_last(users_fd, lease)
        finally:
            os.close(users_fd)


def _remove_if_last(users_fd: int, lease: WorkspaceLease) -> None:
    with _locked(lease.journal_lock, fcntl.LOCK_EX):
        try:
            # Converting our shared hold to exclusive succeeds only when no
            # other run holds the workspace.
            fcntl.flock(users_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        journal = _read_journal(lease.journal_path)
        for path_text, (dev, ino, is_dir) in list(journal.items()):
            _remove_placeholder(Path(path_text), dev, ino, is_dir=bool(is_dir))
            del journal[path_text]
        _write_journal(lease.journal_path, journal)


def _make_placeholder(path: Path, is_dir: bool) -> os.stat_result:
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
        pass
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
    return info


def _remove_placeholder(path: Path, dev: int, ino: int, *, is_dir: bool) -> None:
    """Remove a placeholder only if it is still the empty entry corral created."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if (info.st_dev, info.st_ino) != (dev, ino):
        return
    with contextlib.suppress(OSError):
        if is_dir and stat.S_ISDIR(info.st_mode):
            path.rmdir()
        elif not is_dir and stat.S_ISREG(info.st_mode) and info.st_size == 0:
            path.unlink()


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
        fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)
