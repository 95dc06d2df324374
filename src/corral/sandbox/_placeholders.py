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
outlived run left.  A placeholder is an empty directory, an empty file, or a
file naming its own directory (``.``) where git refuses an empty one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

from corral._files import open_regular
from corral._linux import birth_time_ns
from corral._state import ensure_private_dir
from corral.errors import WorkspaceError

__all__ = [
    "DOT",
    "LOCK_WAIT_SECONDS",
    "Placeholder",
    "PlaceholderLease",
    "lease_placeholders",
    "merged",
]

_PLACEHOLDER_DIR_MODE = 0o755
_PLACEHOLDER_FILE_MODE = 0o644

# What a dot file holds: a path naming the directory the file is in.  git reads
# a ``commondir`` holding it as no common directory at all, and dies on an empty
# one.
DOT = b"."


class Placeholder(IntEnum):
    """What stands in for an absent protected path.

    The journal stores the number: 0 and 1 are what it held as a directory flag.
    """

    FILE = 0
    """An empty file."""
    DIRECTORY = 1
    """An empty directory."""
    DOT_FILE = 2
    """A file holding `DOT`, where a file must name a directory (git's commondir)."""


def merged(kind: Placeholder | None, other: Placeholder) -> Placeholder:
    """Return the placeholder for a path asked for as both `kind` and `other`.

    Each kind keeps the path and everything beneath it from being created; a
    directory is preferred to a file (the policy asked for one), and a dot file
    to either, as git needs what it holds.
    """
    return other if kind is None else max(kind, other)


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
        self,
        existing: Iterable[Path],
        absent: Iterable[tuple[Path, Placeholder]],
        kinds: Mapping[Path, Placeholder] | None = None,
    ) -> tuple[Path, ...]:
        """Hold every protected path that may be a placeholder; create the absent.

        An existing path that vanished or was replaced before it was held is
        treated as absent again, and stood in for by its kind in `kinds`, else
        the kind it was.  Returns every protected path, to bind.  Raises
        `WorkspaceError` when a placeholder cannot be created or held.
        """
        protected: list[Path] = []
        missing = list(absent)
        for path in existing:
            kind = self._hold_existing(path)
            if kind is None:
                protected.append(path)
            else:
                missing.append((path, (kinds or {}).get(path, kind)))
        if missing:
            with _locked(self.journal_lock, fcntl.LOCK_EX):
                journal = _read_journal(self.journal_path)
                try:
                    for path, kind in missing:
                        self._create(path, kind, journal)
                        protected.append(path)
                finally:
                    _write_journal(self.journal_path, journal)
        return tuple(protected)

    def _hold_existing(self, path: Path) -> Placeholder | None:
        """Hold `path` if it may be a placeholder; return its kind if it vanished."""
        try:
            info = path.lstat()
        except FileNotFoundError:
            return Placeholder.FILE  # any kind keeps the path from being created
        fd = _hold(path, info)
        if isinstance(fd, _Vanished):
            return _kind_it_was(info)
        if fd is not None:
            self.held.append(fd)
        return None

    def _create(
        self, path: Path, kind: Placeholder, journal: dict[str, list[int]]
    ) -> None:
        for _ in range(_MAX_HOLD_ATTEMPTS):
            info, created = _make_placeholder(path, kind)
            fd = _hold(path, info, made=created)
            if isinstance(fd, _Vanished):
                continue
            if fd is not None:
                self.held.append(fd)
            if created:
                journal[str(path)] = _entry(info, kind, fd)
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
        for path_text, entry in list(journal.items()):
            if _remove_placeholder(Path(path_text), entry):
                del journal[path_text]
        _write_journal(lease.journal_path, journal)


class _Vanished:
    """The path was removed or replaced before it could be held."""


_VANISHED = _Vanished()


def _hold(
    path: Path, info: os.stat_result, *, made: bool = False
) -> int | _Vanished | None:
    """Take a shared lock on `path` if it may be a placeholder of any kind.

    Returns the descriptor holding the lock, None when `path` cannot be a
    placeholder, `_VANISHED` when it is no longer the entry `info` describes.
    A placeholder this run `made` is held whatever it holds by now: a lock
    on it keeps nobody from anything but removing it.
    """
    if stat.S_ISDIR(info.st_mode):
        flags = _OPEN_DIR
    elif stat.S_ISREG(info.st_mode) and info.st_size in _PLACEHOLDER_SIZES:
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
        held = os.fstat(fd)
        if not made and _kind_of(fd, held) is None:
            os.close(fd)
            return None
        _lock_within(fd, fcntl.LOCK_SH, path)
        if not _is_same(held, path):
            os.close(fd)
            return _VANISHED
    except BaseException:
        os.close(fd)
        raise
    return fd


_PLACEHOLDER_SIZES = (0, len(DOT))


def _kind_of(fd: int, info: os.stat_result) -> Placeholder | None:
    """Return the kind of placeholder the open entry `fd` is like, None if none.

    `info` is what fstat says of `fd`.
    """
    if stat.S_ISDIR(info.st_mode):
        with os.scandir(fd) as entries:
            return Placeholder.DIRECTORY if next(entries, None) is None else None
    if not stat.S_ISREG(info.st_mode):
        return None
    if info.st_size == 0:
        return Placeholder.FILE
    if info.st_size == len(DOT) and os.pread(fd, len(DOT), 0) == DOT:
        return Placeholder.DOT_FILE
    return None


def _kind_it_was(info: os.stat_result) -> Placeholder:
    """Return the kind that stands in for the vanished entry `info` described."""
    if stat.S_ISDIR(info.st_mode):
        return Placeholder.DIRECTORY
    if stat.S_ISREG(info.st_mode) and info.st_size == len(DOT):
        return Placeholder.DOT_FILE
    return Placeholder.FILE


def _is_same(held: os.stat_result, path: Path) -> bool:
    """Tell whether `path` still names the entry `held` (an open one) describes."""
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


def _make_placeholder(path: Path, kind: Placeholder) -> tuple[os.stat_result, bool]:
    """Create a placeholder; return what is at `path` and whether we made it."""
    created = True
    try:
        if kind is Placeholder.DIRECTORY:
            path.mkdir(mode=_PLACEHOLDER_DIR_MODE)
        else:
            _create_file(path, DOT if kind is Placeholder.DOT_FILE else b"")
    except FileExistsError:
        created = False
    except OSError as exc:
        raise WorkspaceError(
            f"cannot create {path}, the placeholder that keeps this absent protected "
            f"path from being created: {exc.strerror}; corral creates it in "
            f"{path.parent}: make that directory writable by you, or create {path} "
            "yourself, and retry"
        ) from exc
    try:
        info = path.lstat()
    except FileNotFoundError as exc:
        raise WorkspaceError(
            f"protected path {path} was removed as soon as it was created; "
            "something keeps creating and removing it: stop that and retry"
        ) from exc
    if stat.S_ISLNK(info.st_mode):
        raise WorkspaceError(
            f"protected path {path} appeared as a symbolic link; remove it and retry"
        )
    return info, created


def _create_file(path: Path, content: bytes) -> None:
    """Create the file `path` holding `content`; raise FileExistsError if it exists.

    A file with content is written unnamed and then linked into place, so that
    no reader (git, on the host, at any moment) sees it empty; where the file
    system cannot, it is written just after it is created.
    """
    if content:
        directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if _link_new_file(directory, path.name, content):
                return
        finally:
            os.close(directory)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, _PLACEHOLDER_FILE_MODE)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)


def _link_new_file(directory: int, name: str, content: bytes) -> bool:
    """Link a new file holding `content` as `name`; False if unnamed files fail."""
    flags = os.O_WRONLY | os.O_TMPFILE | os.O_CLOEXEC
    try:
        fd = os.open(".", flags, _PLACEHOLDER_FILE_MODE, dir_fd=directory)
    except OSError as exc:
        if exc.errno in _NO_TMPFILE:
            return False
        raise
    try:
        os.write(fd, content)
        # A directory descriptor makes os.link call linkat(2), which follows
        # the descriptor's link in /proc to the unnamed file.
        os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=directory)
    finally:
        os.close(fd)
    return True


# What open(2) says when the file system cannot create unnamed files.
_NO_TMPFILE = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL)


def _entry(info: os.stat_result, kind: Placeholder, fd: int | None) -> list[int]:
    """What the journal keeps of a placeholder corral made: which file it is.

    Its device and inode number and, where the file system keeps it, when it
    was created (open at `fd`): file systems hand a freed inode number out
    again, to a file of the person's own.  Not its change time, which a chmod
    on the host moves.
    """
    born = None if fd is None else birth_time_ns(fd)
    return [info.st_dev, info.st_ino, int(kind), *([] if born is None else [born])]


def _remove_placeholder(path: Path, entry: list[int]) -> bool:
    """Remove a placeholder nobody holds if it is still the entry corral made.

    Returns False when another run holds it (keep its journal entry), True
    when it is gone or no longer corral's.
    """
    kind = Placeholder(entry[2])
    is_dir = kind is Placeholder.DIRECTORY
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
        if _entry(info, kind, fd)[: len(entry)] != entry or not _is_same(info, path):
            return True
        # rmdir(2) itself refuses a directory that is no longer empty.
        if not is_dir and _kind_of(fd, info) is not kind:
            return True
        with contextlib.suppress(OSError):
            if is_dir:
                path.rmdir()
            else:
                path.unlink()
    finally:
        os.close(fd)
    return True


def _read_journal(path: Path) -> dict[str, list[int]]:
    try:
        fd = open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise WorkspaceError(
            f"cannot open corral's placeholder journal {path}: {exc.strerror}; "
            "check corral's state directory permissions"
        ) from exc
    try:
        with os.fdopen(fd, "rb") as file:
            data = json.loads(file.read())
        return _journal_from(data)
    except (OSError, ValueError, RecursionError) as exc:
        raise WorkspaceError(
            f"corral's placeholder journal {path} is unreadable ({exc}); remove it "
            "after checking the workspace for empty protected paths, and retry"
        ) from exc


def _journal_from(data: object) -> dict[str, list[int]]:
    """The journal's entries; raise ValueError for anything corral did not write.

    An entry is `_entry`'s list: three items, or four with the birth time.
    """
    if not isinstance(data, dict):
        raise ValueError("not an object")  # noqa: TRY004 (reported as unreadable)
    kinds = {int(kind) for kind in Placeholder}
    for path, entry in data.items():
        if (
            not isinstance(entry, list)
            or len(entry) not in (3, 4)
            or not all(isinstance(x, int) for x in entry)
            or entry[2] not in kinds
        ):
            raise ValueError(f"the entry for {path} is not one corral writes")
    return {str(path): [int(x) for x in entry] for path, entry in data.items()}


def _write_journal(path: Path, journal: dict[str, list[int]]) -> None:
    if not journal:
        path.unlink(missing_ok=True)
        return
    temporary = path.with_suffix(".tmp")
    try:
        temporary.unlink(missing_ok=True)
        fd = open_regular(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        with os.fdopen(fd, "w") as file:
            file.write(json.dumps(journal, sort_keys=True))
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise WorkspaceError(
            f"cannot write corral's placeholder journal {path}: {exc.strerror}; "
            "free space in the file system of corral's state directory and retry"
        ) from exc


def _open_lock(path: Path) -> int:
    try:
        return open_regular(path, os.O_RDWR | os.O_CREAT)
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
