"""Find every protected path of a workspace: the policy's list and every git directory.

Protected paths stay read-only inside the sandbox by any name that reaches
them.  This module only finds them on the host and refuses layouts that would
let a command reach one through a name corral cannot cover (a symlink, a hard
link); `_git_reach` adds what each git directory names, `_git_write` what of a
git directory stays read-only when writes to it are approved, and `_mounts`
turns the result into binds.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from corral.errors import WorkspaceError
from corral.sandbox._git_reach import (
    Guard,
    git_reaches,
    guard_config,
    guard_data,
    guard_user_configs,
)
from corral.sandbox._git_scan import MAX_SCANNED_DIRS, find_git_entries
from corral.sandbox._git_write import GitWrites, plan_git_writes
from corral.sandbox._placeholders import Placeholder, merged

__all__ = [
    "MAX_SCANNED_DIRS",
    "ProtectedSet",
    "find_git_entries",
    "find_protected",
    "pinned_ancestors",
]

# Inside a git directory these hold content-addressed data, not instructions;
# they are still read-only, but are not searched for hard links (`guard_data`
# follows what they lead to).
_GIT_DATA_DIRS = ("objects", "lfs")


@dataclass(frozen=True)
class ProtectedSet:
    """The protected paths of one workspace, as host paths."""

    existing: tuple[Path, ...]
    """Paths that exist now: bound read-only over themselves."""
    absent: tuple[tuple[Path, Placeholder], ...]
    """Paths that do not exist yet, with the placeholder that holds each."""
    granted: tuple[Path, ...] = ()
    """Git directories bound writable under approved git writes; what of them
    stays read-only is in `existing` and `absent`."""
    read_only_git_dirs: tuple[tuple[Path, str], ...] = ()
    """Git directories kept read-only though git writes were approved, with why."""
    kinds: Mapping[Path, Placeholder] = field(default_factory=dict)
    """The placeholder for an existing path that vanishes before a run holds it."""


def pinned_ancestors(
    protected: Iterable[Path], writable_roots: Iterable[Path]
) -> list[Path]:
    """Return the directories between each protected path and its writable root.

    A bind mount follows its directory when an ancestor is renamed, so a
    command could move ``vendor/`` aside and put a fresh, writable
    ``vendor/lib/.git`` where the protected one was.  Binding every such
    ancestor over itself makes it a mount point, which cannot be renamed or
    removed.  Shallowest first, as they must be mounted.
    """
    # Compared as strings, lexically as Path.is_relative_to does: every run
    # asks this of each protected path.
    roots = [_beneath_prefix(root) for root in writable_roots]
    pinned: set[str] = set()
    for path in protected:
        text = os.fspath(path)
        prefix = next((r for r in roots if text.startswith(r)), None)
        if prefix is None:
            continue
        parent = text.rpartition("/")[0]
        while len(parent) >= len(prefix):
            pinned.add(parent)
            parent = parent.rpartition("/")[0]
    return [
        Path(ancestor)
        for ancestor in sorted(pinned, key=lambda text: (text.count("/"), text))
    ]


def _beneath_prefix(root: Path) -> str:
    """Return how the path of everything strictly beneath `root` starts."""
    return os.fspath(root).rstrip("/") + "/"


def find_protected(
    workspace: Path,
    entries: Iterable[str],
    writable_roots: Iterable[Path],
    *,
    git_write: bool = False,
    user_configs: Sequence[Path] = (),
) -> ProtectedSet:
    """Resolve the policy's protected entries and every git directory in `workspace`.

    With `git_write`, each git directory inside the workspace is granted instead
    (see `_git_write`), and only its read-only parts are protected.
    `user_configs` are the git configs the host's git reads for every
    repository (see `user_config_files`): what they name is protected too.  Raises
    `WorkspaceError` when a protected path is a symlink, reaches outside the
    workspace through one, or shares its inode with another name.
    """
    roots = tuple(writable_roots)
    policy = _PolicyPaths(workspace, tuple(entries))
    git_paths = list(find_git_entries(workspace))
    if not git_write:
        found = _resolve(policy, roots, git_paths, {}, user_configs)
        return found.protected_set(GitWrites())

    writes = plan_git_writes(workspace, _git_dirs(policy, roots, git_paths))
    # Granting a git directory changes what a command can change, and so what
    # configs and links reach: resolve again until nothing more is revoked.
    while True:
        found = _resolve(policy, roots, git_paths, writes.granted, user_configs)
        if not writes.revoke_covered(policy.existing, found.reached, git_paths):
            return found.protected_set(writes)


class _PolicyPaths:
    """The policy's protected entries as host paths, existing or to be held."""

    def __init__(self, workspace: Path, entries: tuple[str, ...]) -> None:
        self.existing: dict[Path, None] = {}
        self.absent: dict[Path, Placeholder] = {}
        for entry in entries:
            path = workspace / entry.rstrip("/")
            missing = _first_missing(workspace, path)
            if missing is None:
                self.existing[path] = None
                continue
            # A missing parent is held instead: while it cannot be created,
            # neither can anything beneath it.
            is_dir = missing != path or entry.endswith("/")
            kind = Placeholder.DIRECTORY if is_dir else Placeholder.FILE
            self.absent[missing] = merged(self.absent.get(missing), kind)


@dataclass
class _Found:
    existing: dict[Path, None]
    absent: dict[Path, Placeholder]
    kinds: dict[Path, Placeholder]
    reached: set[Path]
    """What configs and links name, and what they hold."""

    def protected_set(self, writes: GitWrites) -> ProtectedSet:
        return ProtectedSet(
            existing=tuple(self.existing),
            absent=tuple(self.absent.items()),
            granted=tuple(writes.granted),
            read_only_git_dirs=tuple(writes.kept.items()),
            kinds=self.kinds,
        )


def _git_dirs(
    policy: _PolicyPaths, roots: tuple[Path, ...], git_paths: list[Path]
) -> dict[Path, Path]:
    """Return the git directory each git path makes git use, with its common one."""
    protected = (*policy.existing, *policy.absent, *git_paths)
    found: dict[Path, Path] = {}
    for git_path in git_paths:
        reach = git_reaches(git_path, roots, protected)
        if reach.gitdir is not None:
            found[reach.gitdir] = reach.common
    return found


def _resolve(
    policy: _PolicyPaths,
    roots: tuple[Path, ...],
    git_paths: list[Path],
    granted: Mapping[Path, tuple[tuple[Path, Placeholder], ...]],
    user_configs: Sequence[Path] = (),
) -> _Found:
    """Find the protected paths when the git directories in `granted` are writable."""
    existing = {path: None for path in policy.existing if path not in granted}
    existing.update(dict.fromkeys(p for p in git_paths if p not in granted))
    absent = dict(policy.absent)
    kinds: dict[Path, Placeholder] = {}
    for parts in granted.values():
        for part, kind in parts:
            kinds[part] = kind
            if os.path.lexists(part):
                existing[part] = None
            else:
                absent[part] = merged(absent.get(part), kind)

    # Absent paths count: their placeholders keep them from being created.
    protected = (*existing, *absent)
    guard = Guard(roots, existing, absent)
    configured: set[Path] = set()
    for git_path in git_paths:
        reach = git_reaches(git_path, roots, protected)
        existing.update(dict.fromkeys(p for p in reach.paths if p not in granted))
        if reach.gitdir is not None:
            top = git_path.parent if git_path.name == ".git" else None
            guard_config(guard, reach.gitdir, reach.common, top, user_configs)
            configured.update((reach.gitdir, reach.common))
    # A submodule's git directory with no work tree checked out.
    for gitdir in granted.keys() - configured:
        guard_config(guard, gitdir, gitdir, None, user_configs)
    guard_user_configs(guard, user_configs)

    # The data of the git directories that are not searched below: those
    # outside the writable roots (a worktree's common directory elsewhere,
    # whose objects may lie in one) and those granted.
    unsearched = [path for path in (*configured, *granted) if path not in existing]
    for gitdir in dict.fromkeys(unsearched):
        for name in _GIT_DATA_DIRS:
            guard_data(guard, gitdir / name, granted.keys())

    _follow_links(guard, granted.keys())
    return _Found(existing, absent, kinds, guard.reached)


def _follow_links(guard: Guard, granted: Collection[Path]) -> None:
    """Protect what links beneath the protected paths lead to, in turn.

    Until nothing new is reached.  What a git data directory leads to
    (``objects`` linked beside ``.git``, its alternates) is protected as the
    directory is in place: read-only, not searched.
    """
    checked: set[Path] = set()
    while unchecked := [
        path
        for path in guard.existing
        if path not in checked and path not in guard.data
    ]:
        for path in unchecked:
            checked.add(path)
            links, data_dirs = _check_files(path, granted)
            for link in links:
                guard.reach(link, link.parent, str(link.readlink()), is_dir=False)
            for data_dir in data_dirs:
                guard_data(guard, data_dir, granted)


def _first_missing(workspace: Path, path: Path) -> Path | None:
    """Return the first component of `path` that does not exist, refusing links."""
    current = workspace
    for part in path.relative_to(workspace).parts:
        current = current / part
        try:
            info = current.lstat()
        except (FileNotFoundError, NotADirectoryError):
            return current
        if stat.S_ISLNK(info.st_mode):
            raise WorkspaceError(
                f"protected path {current} is a symbolic link, so a command could "
                "redirect it; replace it with the real directory or file and retry"
            )
    return None


def _check_files(
    path: Path, granted: Collection[Path]
) -> tuple[list[Path], list[Path]]:
    """Refuse hard links beneath `path`; return the symbolic links there.

    Returned apart, and not searched: the git data directories (``objects``,
    ``lfs``) at its top, real or linked.  The writable git directories in
    `granted` are not searched: a command may change what they hold anyway.
    """
    if not path.is_dir() or path.is_symlink():
        info = path.lstat()
        _refuse_hard_link(path, info)
        return ([path] if stat.S_ISLNK(info.st_mode) else []), []
    skipped = {os.fspath(p) for p in granted}
    links: list[Path] = []
    data_dirs: list[Path] = []
    # Every run walks every protected directory: plain strings, and a stat
    # only where the directory entry does not tell enough (a file's links).
    top = os.fspath(path)
    pending = [top]
    while pending:
        directory = pending.pop()
        # Replaced by a link since it was listed: a link, not to be followed.
        if directory != top and os.path.islink(directory):  # noqa: PTH114 (a Path per name costs every run)
            links.append(Path(directory))
            continue
        for entry in _entries(directory):
            if entry.is_symlink() and entry.path in skipped and _is_dir(entry):
                continue  # a link to a writable git directory: passed over with it
            if directory == top and entry.name in _GIT_DATA_DIRS and _is_data(entry):
                data_dirs.append(Path(entry.path))
            elif entry.is_symlink():
                links.append(Path(entry.path))
            elif _is_dir(entry):
                if entry.path not in skipped:
                    pending.append(entry.path)
            elif entry.is_file(follow_symlinks=False):
                info = entry.stat(follow_symlinks=False)
                _refuse_hard_link(entry.path, info)
                if stat.S_ISLNK(info.st_mode):  # a link now, though listed as a file
                    links.append(Path(entry.path))
    return links, data_dirs


def _refuse_hard_link(file: Path | str, info: os.stat_result) -> None:
    """Refuse a regular file `info` describes if it has more than one name."""
    if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
        raise WorkspaceError(
            f"protected file {file} has {info.st_nlink} names (hard links); a "
            "command could change it through another one; break the link "
            f"(cp {file} {file}.tmp && mv {file}.tmp {file}) and retry"
        )


def _entries(directory: str) -> list[os.DirEntry[str]]:
    """List `directory`; nothing if it cannot be listed (gone, or unreadable)."""
    try:
        with os.scandir(directory) as it:
            return list(it)
    except OSError:
        return []


def _is_data(entry: os.DirEntry[str]) -> bool:
    """Tell whether `entry`, named as a git data directory, is one or may become one.

    That is a directory, a link to one, or a link to nothing yet.
    """
    return _is_dir(entry) or not os.path.exists(entry.path)  # noqa: PTH110 (a Path per name costs every run)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """Tell whether `entry` is a directory or a link to one, as os.walk does."""
    try:
        return entry.is_dir()
    except OSError:
        return False
