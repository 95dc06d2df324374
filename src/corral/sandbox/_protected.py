"""Find every protected path of a workspace: the policy's list and every git directory.

Protected paths stay read-only inside the sandbox by any name that reaches
them.  This module only finds them on the host and refuses layouts that would
let a command reach one through a name corral cannot cover (a symlink, a hard
link); `_git_reach` adds what each git directory names, and `_mounts` turns
the result into read-only binds.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from corral.errors import WorkspaceError
from corral.sandbox._git_reach import Guard, git_reaches, guard_config
from corral.sandbox._git_scan import MAX_SCANNED_DIRS, find_git_entries
from corral.sandbox._placeholders import Placeholder, merged

__all__ = [
    "MAX_SCANNED_DIRS",
    "ProtectedSet",
    "find_git_entries",
    "find_protected",
    "pinned_ancestors",
]

# Inside a git directory these hold content-addressed data, not instructions;
# they are still read-only, but are not searched for hard links.
_GIT_DATA_DIRS = frozenset({"objects", "lfs"})


@dataclass(frozen=True)
class ProtectedSet:
    """The protected paths of one workspace, as host paths."""

    existing: tuple[Path, ...]
    """Paths that exist now: bound read-only over themselves."""
    absent: tuple[tuple[Path, Placeholder], ...]
    """Paths that do not exist yet, with the placeholder that holds each."""


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
    roots = tuple(writable_roots)
    pinned: set[Path] = set()
    for path in protected:
        root = next((r for r in roots if path.is_relative_to(r) and path != r), None)
        if root is None:
            continue
        pinned.update(a for a in path.parents if a.is_relative_to(root) and a != root)
    return sorted(pinned, key=lambda ancestor: (len(ancestor.parts), str(ancestor)))


def find_protected(
    workspace: Path, entries: Iterable[str], writable_roots: Iterable[Path]
) -> ProtectedSet:
    """Resolve the policy's protected entries and every git directory in `workspace`.

    Raises `WorkspaceError` when a protected path is a symlink, reaches outside
    the workspace through one, or shares its inode with another name.
    """
    roots = tuple(writable_roots)
    existing: dict[Path, None] = {}
    absent: dict[Path, Placeholder] = {}

    for entry in entries:
        path = workspace / entry.rstrip("/")
        missing = _first_missing(workspace, path)
        if missing is None:
            existing[path] = None
        else:
            # A missing parent is held instead: while it cannot be created,
            # neither can anything beneath it.
            is_dir = missing != path or entry.endswith("/")
            kind = Placeholder.DIRECTORY if is_dir else Placeholder.FILE
            absent[missing] = merged(absent.get(missing), kind)

    git_paths = list(find_git_entries(workspace))
    existing.update(dict.fromkeys(git_paths))
    protected = tuple(existing)
    guard = Guard(roots, existing, absent)
    for git_path in git_paths:
        reach = git_reaches(git_path, roots, protected)
        existing.update(dict.fromkeys(reach.paths))
        if reach.gitdir is not None:
            top = git_path.parent if git_path.name == ".git" else None
            guard_config(guard, reach.gitdir, reach.common, top)

    # What a link beneath a protected path leads to is protected in turn,
    # until nothing new is reached.
    checked: set[Path] = set()
    while unchecked := [path for path in existing if path not in checked]:
        for path in unchecked:
            checked.add(path)
            for link in _check_files(path):
                guard.reach(link, link.parent, str(link.readlink()), is_dir=False)
    return ProtectedSet(existing=tuple(existing), absent=tuple(absent.items()))


def _first_missing(workspace: Path, path: Path) -> Path | None:
    """Return the first component of `path` that does not exist, refusing links."""
    current = workspace
    for part in path.relative_to(workspace).parts:
        current = current / part
        if current.is_symlink():
            raise WorkspaceError(
                f"protected path {current} is a symbolic link, so a command could "
                "redirect it; replace it with the real directory or file and retry"
            )
        if not current.exists():
            return current
    return None


def _check_files(path: Path) -> list[Path]:
    """Refuse hard links beneath `path`; return the symbolic links there."""
    links: list[Path] = []
    for file in _files_beneath(path):
        info = file.lstat()
        if stat.S_ISLNK(info.st_mode):
            links.append(file)
        elif stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
            raise WorkspaceError(
                f"protected file {file} has {info.st_nlink} names (hard links); a "
                "command could change it through another one; break the link "
                f"(cp {file} {file}.tmp && mv {file}.tmp {file}) and retry"
            )
    return links


def _files_beneath(path: Path) -> Iterator[Path]:
    if not path.is_dir() or path.is_symlink():
        yield path
        return
    for directory, dirnames, filenames in os.walk(path):
        here = Path(directory)
        if here == path:
            dirnames[:] = [d for d in dirnames if d not in _GIT_DATA_DIRS]
        for name in filenames:
            yield here / name
        # os.walk lists a link to a directory with the directories, unfollowed.
        yield from (here / name for name in dirnames if (here / name).is_symlink())
