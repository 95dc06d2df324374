"""Find every protected path of a workspace: the policy's list and every git directory.

Protected paths stay read-only inside the sandbox by any name that reaches
them.  This module only finds them on the host and refuses layouts that would
let a command reach one through a name corral cannot cover (a symlink, a hard
link); `_mounts` turns the result into read-only binds.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from corral.errors import WorkspaceError
from corral.sandbox._gitconfig import HOOKS_PATH, expand_path, is_include, read_config

__all__ = [
    "MAX_SCANNED_DIRS",
    "ProtectedSet",
    "find_git_entries",
    "find_protected",
    "pinned_ancestors",
]

# Every directory of the workspace is visited to find nested git directories.
# Past this many, corral stops rather than guard a workspace it has not seen.
MAX_SCANNED_DIRS = 200_000

# Inside a git directory these hold content-addressed data, not instructions;
# they are still read-only, but are not searched for hard links.
_GIT_DATA_DIRS = frozenset({"objects", "lfs"})

# What a ``.git`` file starts with; git reads the rest, up to the line end, as a path.
_GITFILE_PREFIX = b"gitdir: "

# git takes a directory for a git directory when it holds HEAD and, in it or in
# the common directory its ``commondir`` file names, objects and refs.
_HEAD = "HEAD"
_COMMONDIR = "commondir"
_OBJECT_STORES = frozenset({"objects", "refs"})

# The kernel follows at most this many links in one lookup, so no path git can
# use needs more; past it corral stops rather than guess.
_MAX_LINKS = 40

# The files git reads as a repository's configuration, in the git directory and
# in the common directory; worktree-specific ones included whether or not
# ``extensions.worktreeConfig`` turns them on, as a command could turn it on.
_CONFIG_FILES = ("config", "config.worktree")

# git's own include depth; past it git stops with an error, and so does corral.
_MAX_INCLUDE_DEPTH = 10


@dataclass(frozen=True)
class ProtectedSet:
    """The protected paths of one workspace, as host paths."""

    existing: tuple[Path, ...]
    """Paths that exist now: bound read-only over themselves."""
    absent: tuple[tuple[Path, bool], ...]
    """Policy paths that do not exist yet, with whether each is a directory."""


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
    absent: dict[Path, bool] = {}

    for entry in entries:
        path = workspace / entry.rstrip("/")
        missing = _first_missing(workspace, path)
        if missing is None:
            existing[path] = None
        else:
            # A missing parent is held instead: while it cannot be created,
            # neither can anything beneath it.
            is_dir = missing != path or entry.endswith("/")
            absent[missing] = absent.get(missing, False) or is_dir

    git_paths = list(find_git_entries(workspace))
    existing.update(dict.fromkeys(git_paths))
    protected = tuple(existing)
    guard = _Guard(roots, existing, absent)
    for git_path in git_paths:
        reach = _git_reaches(git_path, roots, protected)
        existing.update(dict.fromkeys(reach.paths))
        if reach.gitdir is not None:
            top = git_path.parent if git_path.name == ".git" else None
            _guard_config(guard, reach.gitdir, reach.common, top)

    # What a link beneath a protected path leads to is protected in turn,
    # until nothing new is reached.
    checked: set[Path] = set()
    while unchecked := [path for path in existing if path not in checked]:
        for path in unchecked:
            checked.add(path)
            for link in _check_files(path):
                guard.reach(link, link.parent, str(link.readlink()), is_dir=False)
    return ProtectedSet(existing=tuple(existing), absent=tuple(absent.items()))


@dataclass
class _Guard:
    """The protected paths found so far, and how to add what git reaches from them."""

    roots: tuple[Path, ...]
    existing: dict[Path, None]
    absent: dict[Path, bool]

    def reach(
        self, source: Path, base: Path, written: str, *, is_dir: bool
    ) -> Path | None:
        """Protect where `written` (from `source`) leads; return it if it exists.

        An absent target a command could create is held by a placeholder.
        Raises `WorkspaceError` when a command could change where it leads or
        the target is a writable root itself.
        """
        protected = (*self.existing, *self.absent)
        path, error, deeper = _walk(base, written, source, self.roots, protected)
        if error is None:
            if _changeable(path, self.roots, protected):
                _refuse_root(source, written, path, self.roots)
                self.existing[path] = None
            return path
        if not _changeable(path.parent, self.roots, protected):
            return None
        if not isinstance(error, FileNotFoundError):
            raise _unreachable(source, written, path, error) from error
        self.absent[path] = self.absent.get(path, False) or deeper or is_dir
        return None


def _guard_config(guard: _Guard, gitdir: Path, common: Path, top: Path | None) -> None:
    """Protect the hooks directory and included files a repository's config names.

    Relative include paths are taken from the including file's directory as
    git names it; a relative ``core.hooksPath`` from where git runs hooks: the
    worktree top, or the git directory (bare repositories, and the hooks a push
    runs), or ``core.worktree``.
    """
    pending = [
        (directory / name, directory, "", 0)
        for directory in dict.fromkeys((gitdir, common))
        for name in _CONFIG_FILES
    ]
    hooks: list[tuple[Path, str]] = []
    bases = [(gitdir, "")] + ([(top, "")] if top is not None else [])
    read: set[Path] = set()
    while pending:
        file, base, prefix, depth = pending.pop()
        if file in read or not file.is_file():
            continue
        read.add(file)
        for key, value in read_config(file):
            written = expand_path(value) if value else None
            if written is None:
                continue
            if key == HOOKS_PATH:
                hooks.append((file, written))
            elif key == "core.worktree":
                bases.append((gitdir, written))
            elif is_include(key):
                if depth >= _MAX_INCLUDE_DEPTH:
                    raise WorkspaceError(
                        f"{file} includes config files more than {_MAX_INCLUDE_DEPTH} "
                        "deep, which git refuses; shorten the chain and retry"
                    )
                named = str(Path(prefix) / written)
                target = guard.reach(file, base, named, is_dir=False)
                if target is not None:
                    pending.append((target, base, str(Path(named).parent), depth + 1))
    for source, written in hooks:
        for base, prefix in bases:
            guard.reach(source, base, str(Path(prefix) / written), is_dir=True)


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


def find_git_entries(workspace: Path) -> Iterator[Path]:
    """Yield every git directory and ``.git`` file in `workspace`, the top included.

    Besides entries named ``.git``, any directory git would use as a git
    directory (a bare repository) counts; none of them is searched further.
    Raises `WorkspaceError` when a directory cannot be listed.
    """
    pending = [workspace]
    visited = 0
    while pending:
        directory = pending.pop()
        visited += 1
        if visited > MAX_SCANNED_DIRS:
            raise WorkspaceError(
                f"{workspace} has more than {MAX_SCANNED_DIRS} directories; corral "
                "must see every nested git directory before it runs a command; "
                "choose a smaller workspace with -C"
            )
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except FileNotFoundError:
            continue  # removed while corral looked: nothing left to protect there
        except OSError as exc:
            raise WorkspaceError(
                f"cannot list {directory}: {exc.strerror}; corral must see every "
                "directory of the workspace to protect the git directories in it; "
                f"make it readable (chmod u+rx {directory}) and retry"
            ) from exc
        if _is_git_directory({entry.name for entry in entries}):
            yield directory
            continue
        for entry in entries:
            if entry.name == ".git":
                if entry.is_symlink():
                    raise WorkspaceError(
                        f"{entry.path} is a symbolic link; a git directory reached "
                        "through a link cannot be protected; replace it and retry"
                    )
                yield Path(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))


def _is_git_directory(names: set[str]) -> bool:
    """Tell whether a directory listing `names` is one git would take for a git dir."""
    return _HEAD in names and (_COMMONDIR in names or names >= _OBJECT_STORES)


class _Reach(NamedTuple):
    paths: list[Path]
    """What git reads through the entry that lies inside a writable root."""
    gitdir: Path | None
    """The git directory git uses, None if it uses none."""
    common: Path
    """Its common directory (the git directory itself when it names none)."""


def _git_reaches(
    git_path: Path, roots: tuple[Path, ...], protected: tuple[Path, ...]
) -> _Reach:
    """Return what git reads through `git_path`, and the git directory it uses.

    That is the git directory a ``.git`` file names, then the ``commondir``
    file of the git directory and the common directory it names.  Raises
    `WorkspaceError` when a command could change where either leads.
    """
    reached: list[Path] = []
    gitdir = git_path
    if git_path.name == ".git" and git_path.is_file():
        written = _read_path(git_path, _GITFILE_PREFIX)
        if not written:
            return _Reach([], None, git_path)  # git refuses a .git file without one
        target = _follow(git_path.parent, written, git_path, roots, protected)
        if target is None:
            return _Reach([], None, git_path)
        gitdir = target
        reached.append(target)

    common = gitdir
    commondir = gitdir / _COMMONDIR
    if os.path.lexists(commondir):
        commondir_file = _follow(gitdir, _COMMONDIR, commondir, roots, protected)
        if commondir_file is not None and commondir_file.is_file():
            reached.append(commondir_file)
            written = _read_path(commondir_file, b"")
            named = _follow(gitdir, written, commondir, roots, protected)
            if written and named is not None:
                common = named
                reached.append(named)
    return _Reach([path for path in reached if _inside(path, roots)], gitdir, common)


def _read_path(file: Path, prefix: bytes) -> str:
    """Return the path `file` holds after `prefix`, cut as git cuts it ("" if none)."""
    try:
        data = file.read_bytes()
    except OSError:
        return ""  # git cannot read it either, and stops
    if not data.startswith(prefix):
        return ""
    # git strips only line ends, and reads the path as a C string.
    data = data[len(prefix) :].rstrip(b"\r\n").split(b"\0", 1)[0]
    return os.fsdecode(data)


def _follow(
    base: Path,
    written: str,
    source: Path,
    roots: tuple[Path, ...],
    protected: tuple[Path, ...],
) -> Path | None:
    """Return the real path `written` (relative to `base`) leads to, or None if absent.

    Raises `WorkspaceError` when a command could change where it leads: a
    symbolic link on the way, or the place where it is absent, lies inside a
    writable root and outside every protected path.
    """
    path, error, _ = _walk(base, written, source, roots, protected)
    if error is None:
        return path
    if _changeable(path.parent, roots, protected):
        raise _unreachable(source, written, path, error) from error
    return None


def _walk(
    base: Path,
    written: str,
    source: Path,
    roots: tuple[Path, ...],
    protected: tuple[Path, ...],
) -> tuple[Path, OSError | None, bool]:
    """Walk `written` from `base` as the kernel does; return where it stops.

    That is the real path and None when it exists, else its first missing
    component, why it could not be looked at, and whether more components
    follow.  Raises `WorkspaceError` on a symbolic link a command could change.
    """
    pending = list(reversed(Path(written).parts))
    current = base
    links = 0
    while pending:
        part = pending.pop()
        if part.startswith("/"):  # the anchor of an absolute path
            current = Path("/")
            continue
        if part == "..":
            current = current.parent
            continue
        candidate = current / part
        try:
            info = candidate.lstat()
        except OSError as exc:
            return candidate, exc, bool(pending)
        if not stat.S_ISLNK(info.st_mode):
            current = candidate
            continue
        links += 1
        if _changeable(candidate, roots, protected) or links > _MAX_LINKS:
            raise _linked(source, written, candidate)
        try:
            pending.extend(reversed(candidate.readlink().parts))
        except OSError as exc:  # removed while corral looked
            raise _unreachable(source, written, candidate, exc) from exc
    return current, None, False


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def _changeable(
    path: Path, roots: tuple[Path, ...], protected: tuple[Path, ...]
) -> bool:
    """Tell whether a command may change or create `path` (inside a root, unguarded)."""
    return _inside(path, roots) and not _inside(path, protected)


def _linked(source: Path, written: str, link: Path) -> WorkspaceError:
    return WorkspaceError(
        f"{source} names {written}, which goes through the symbolic link {link} "
        f"(to {os.path.realpath(link)}); a command could repoint it at files "
        "of its own, and the host's git would run or read them; write the path "
        f"without the link in {source} and retry"
    )


def _unreachable(
    source: Path, written: str, missing: Path, exc: OSError
) -> WorkspaceError:
    why = (
        "does not exist"
        if isinstance(exc, FileNotFoundError | NotADirectoryError)
        else f"cannot be checked ({exc.strerror})"
    )
    return WorkspaceError(
        f"{source} names {written}, but {missing} {why}; a command could create "
        "it for the host's git to run or read; restore what it names, or remove "
        f"{source} if that is gone (for a worktree: git worktree prune), and retry"
    )


def _refuse_root(source: Path, written: str, path: Path, roots: Iterable[Path]) -> None:
    """Refuse a target that is, or holds, a writable root: it cannot be read-only."""
    for root in roots:
        if root.is_relative_to(path):
            raise WorkspaceError(
                f"{source} names {written}, which is {path}; the host's git runs or "
                f"reads what it holds, but the writable root {root} cannot be kept "
                f"read-only; point {source} at a directory of its own and retry"
            )


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
