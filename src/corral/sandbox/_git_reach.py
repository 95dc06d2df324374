"""What a git directory makes git run or read, wherever it points.

A git directory names other files: the git directory a ``.git`` file points
to, a ``commondir``, the hooks directory and included files its config names,
the targets of links inside it, the other object stores its alternates name.
The host's git will use them all, so each is protected in turn; a path a
command could redirect (a link it can change, a missing part it can create)
stops the run.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from corral.errors import WorkspaceError
from corral.sandbox._gitconfig import HOOKS_PATH, expand_path, is_include, read_config
from corral.sandbox._placeholders import Placeholder, merged

__all__ = [
    "COMMONDIR",
    "Guard",
    "Reach",
    "git_reaches",
    "guard_config",
    "guard_data",
    "guard_user_configs",
    "read_alternates",
    "user_config_files",
]

# The file in a git directory that names the directory it shares objects with.
COMMONDIR = "commondir"


# What a ``.git`` file starts with; git reads the rest, up to the line end, as a path.
_GITFILE_PREFIX = b"gitdir: "


# The kernel follows at most this many links in one lookup, so no path git can
# use needs more; past it corral stops rather than guess.
_MAX_LINKS = 40


# The files git reads as a repository's configuration, in the git directory and
# in the common directory; worktree-specific ones included whether or not
# ``extensions.worktreeConfig`` turns them on, as a command could turn it on.
_CONFIG_FILES = ("config", "config.worktree")


# git's own include depth; past it git stops with an error, and so does corral.
_MAX_INCLUDE_DEPTH = 10


# The object store, and where in it git finds the other stores it reads from.
_OBJECTS = "objects"
_ALTERNATES = Path("info", "alternates")


# git's own depth for alternates of alternates: it reads the alternates file of
# a store this many steps from the repository's own, and ignores deeper ones.
_MAX_ALTERNATE_DEPTH = 5


# The directories of loose objects, named for their first two hex digits: git
# fills them with files of its own, and they are too many to list every run.
_FANOUT = frozenset(f"{byte:02x}" for byte in range(256))


# The escapes of a C-style quoted path, as git unquotes it; others are errors.
_C_ESCAPES = dict(zip(b'abfnrtv\\"', b'\a\b\f\n\r\t\v\\"', strict=True))


@dataclass
class Guard:
    """The protected paths found so far, and how to add what git reaches from them."""

    roots: tuple[Path, ...]
    existing: dict[Path, None]
    absent: dict[Path, Placeholder]
    reached: set[Path] = field(default_factory=set)
    """Every path added through `reach`: what configs and links name."""
    configs: dict[Path, list[tuple[str, str | None]] | None] = field(
        default_factory=dict
    )
    """What each config file read so far holds (None: not a file).  The user's
    and the system's are read for every repository: once is enough."""
    data: set[Path] = field(default_factory=set)
    """What `reach` protected as git's object data: not searched for hard links."""
    data_dirs: dict[Path, int] = field(default_factory=dict)
    """The data directories `guard_data` followed, with the least alternate depth."""

    def config(self, file: Path) -> list[tuple[str, str | None]] | None:
        """Return the entries of the config `file`, None if it is not a file.

        Raises `WorkspaceError` when the file is malformed.
        """
        if file not in self.configs:
            self.configs[file] = read_config(file) if file.is_file() else None
        return self.configs[file]

    def reach(
        self,
        source: Path,
        base: Path,
        written: str,
        *,
        is_dir: bool,
        data: bool = False,
    ) -> Path | None:
        """Protect where `written` (from `source`) leads; return it if it exists.

        An absent target a command could create is held by a placeholder; a
        `data` target is recorded in `data`.  Raises `WorkspaceError` when a
        command could change where it leads or the target is a writable root
        itself.
        """
        protected = (*self.existing, *self.absent)
        path, error, deeper = _walk(base, written, source, self.roots, protected)
        if error is None:
            if _changeable(path, self.roots, protected):
                _refuse_root(source, written, path, self.roots)
                self.existing[path] = None
                self.reached.add(path)
                if data:
                    self.data.add(path)
            return path
        if not _changeable(path.parent, self.roots, protected):
            return None
        if not isinstance(error, FileNotFoundError):
            raise _unreachable(source, written, path, error) from error
        kind = Placeholder.DIRECTORY if deeper or is_dir else Placeholder.FILE
        self.absent[path] = merged(self.absent.get(path), kind)
        self.reached.add(path)
        return None


def guard_config(
    guard: Guard,
    gitdir: Path,
    common: Path,
    top: Path | None,
    user_configs: Iterable[Path] = (),
) -> None:
    """Protect the hooks directory and included files a repository's config names.

    `user_configs` (see `user_config_files`) are read as git reads them for
    this repository, before its own: a relative hooks directory they name is
    this repository's.

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
    pending += [(file, file.parent, "", 0) for file in user_configs]
    bases = [(gitdir, "")] + ([(top, "")] if top is not None else [])
    _guard_configs(guard, pending, bases, gitdir=gitdir)


def guard_user_configs(guard: Guard, files: Iterable[Path]) -> None:
    """Protect what the user's and the system's git configs name, wherever git runs.

    git reads these for every repository on the host, so an included file or
    a hooks directory they name beneath a writable root is protected whether
    or not the workspace holds a repository; a relative ``core.hooksPath``
    there is taken from each repository, where `guard_config` finds it too.
    """
    files = list(files)
    for file in files:
        # The file itself, too: a ~/.gitconfig linked into a dotfiles checkout
        # that is the workspace, or a GIT_CONFIG_GLOBAL kept in it.
        guard.reach(file, file.parent, str(file), is_dir=False)
    pending = [(file, file.parent, "", 0) for file in files]
    _guard_configs(guard, pending, [], gitdir=None)


def _guard_configs(
    guard: Guard,
    pending: list[tuple[Path, Path, str, int]],
    bases: list[tuple[Path, str]],
    *,
    gitdir: Path | None,
) -> None:
    """Follow config files and their includes; protect what they make git use.

    Without a `gitdir` (configs git reads for every repository) only an
    absolute hooks directory is followed, and ``core.worktree`` is ignored.
    """
    hooks: list[tuple[Path, str]] = []
    read: set[Path] = set()
    while pending:
        file, base, prefix, depth = pending.pop()
        entries = None if file in read else guard.config(file)
        if entries is None:
            continue
        read.add(file)
        for key, value in entries:
            written = expand_path(value) if value else None
            if written is None:
                continue
            if key == HOOKS_PATH:
                if gitdir is not None or written.startswith("/"):
                    hooks.append((file, written))
            elif key == "core.worktree" and gitdir is not None:
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
        for base, prefix in bases or [(source.parent, "")]:
            guard.reach(source, base, str(Path(prefix) / written), is_dir=True)


def guard_data(guard: Guard, data_dir: Path, granted: Collection[Path] = ()) -> None:
    """Protect what git reads as object data through `data_dir`, wherever it leads.

    `data_dir` is a git directory's ``objects`` or ``lfs``, perhaps a link.
    What links there lead to is protected as data (see `Guard.data`): links
    among its entries and among the entries of its subdirectories other than
    the loose objects' ones (see `_FANOUT`).  An ``objects`` directory's
    alternates are protected in turn, as git reads them.  In a `granted` git
    directory, writable on purpose, only the alternates are: git writes none.
    Raises `WorkspaceError` when a command could change where one leads.
    """
    writable = _inside(data_dir, granted)
    directory: Path | None = data_dir
    if not writable and data_dir.is_symlink():
        written = str(data_dir.readlink())
        directory = guard.reach(
            data_dir, data_dir.parent, written, is_dir=True, data=True
        )
    pending = [(directory, 0)] if directory is not None else []
    while pending:
        directory, depth = pending.pop()
        known = guard.data_dirs.get(directory)
        if known is not None and known <= depth:
            continue
        guard.data_dirs[directory] = depth
        if known is None and not _inside(directory, granted):
            _guard_data_links(guard, directory)
        if data_dir.name != _OBJECTS or depth > _MAX_ALTERNATE_DEPTH:
            continue
        pending += [
            (alternate, depth + 1)
            for alternate in _guard_alternates(guard, directory, granted)
        ]


def _guard_data_links(guard: Guard, directory: Path) -> None:
    """Protect, as data, what links in `directory` and its subdirectories lead to."""
    pending = [(os.fspath(directory), True)]
    while pending:
        listed, top = pending.pop()
        try:
            with os.scandir(listed) as it:
                entries = list(it)
        except OSError:
            continue  # not a directory, or gone: git finds nothing there either
        # Every run lists every object store: the loose objects' directories,
        # most of its entries, cost one set lookup each.
        if top:
            others = [entry for entry in entries if entry.name not in _FANOUT]
            pending += [
                (entry.path, False)
                for entry in others
                if entry.is_dir(follow_symlinks=False)
            ]
        for entry in [entry for entry in entries if entry.is_symlink()]:
            path = Path(entry.path)
            listed_too = top and entry.name not in _FANOUT
            target = guard.reach(
                path,
                path.parent,
                str(path.readlink()),
                is_dir=top or entry.name in _FANOUT,
                data=True,
            )
            if listed_too and target is not None and target.is_dir():
                pending.append((os.fspath(target), False))


def _guard_alternates(
    guard: Guard, directory: Path, granted: Collection[Path]
) -> list[Path]:
    """Protect the alternate object directories `directory` names; return them.

    An alternate in a `granted` git directory is left writable, like the rest
    of it, but returned: what it names in turn is read all the same.
    """
    source = directory / _ALTERNATES
    named = read_alternates(source)
    if not named:
        return []
    # git takes a relative one from the store's real path.
    base = Path(os.path.realpath(directory))
    found: list[Path] = []
    for written in named:
        if granted:
            protected = (*guard.existing, *guard.absent)
            path, error, _ = _walk(base, written, source, guard.roots, protected)
            if _inside(path, granted):
                found += [path] if error is None else []
                continue
        target = guard.reach(source, base, written, is_dir=True, data=True)
        if target is not None:
            found.append(target)
    return found


def read_alternates(file: Path) -> list[str]:
    """Return the paths an ``objects/info/alternates`` file names, as git reads them.

    One a line, up to the first NUL; a line starting with ``#`` is a comment,
    one starting with a double quote a C-style quoted path (read as it is if
    the quoting is broken).  Nothing if the file cannot be read, as for git.
    """
    try:
        data = file.read_bytes()
    except OSError:
        return []
    data = data.split(b"\0", 1)[0]
    paths: list[str] = []
    start = 0
    while start < len(data):
        line_end = data.find(b"\n", start)
        end = len(data) if line_end < 0 else line_end
        entry = b"" if data.startswith(b"#", start) else data[start:end]
        if data.startswith(b'"', start):
            unquoted = _unquote_c_style(data, start)
            if unquoted is not None:
                entry, end = unquoted
        if entry:
            paths.append(os.fsdecode(entry))
        # git steps over one byte past each entry, whatever it is.
        start = end + 1
    return paths


def _unquote_c_style(data: bytes, start: int) -> tuple[bytes, int] | None:
    """Unquote the C-style quoted path at `start`; return it and where it ends.

    None if the quoting is broken.  Quoted, a path may hold a line end.
    """
    out = bytearray()
    pos = start + 1
    while pos < len(data):
        byte = data[pos]
        pos += 1
        if byte == ord('"'):
            return bytes(out), pos
        if byte != ord("\\"):
            out.append(byte)
            continue
        escape = data[pos : pos + 1]
        if escape and escape[0] in _C_ESCAPES:
            out.append(_C_ESCAPES[escape[0]])
            pos += 1
        elif len(octal := data[pos : pos + 3]) == 3 and _is_octal(octal):
            out.append(int(octal, 8))
            pos += 3
        else:
            return None
    return None


def _is_octal(digits: bytes) -> bool:
    return digits[0] in b"0123" and all(digit in b"01234567" for digit in digits)


class Reach(NamedTuple):
    paths: list[Path]
    """What git reads through the entry that lies inside a writable root."""
    gitdir: Path | None
    """The git directory git uses, None if it uses none."""
    common: Path
    """Its common directory (the git directory itself when it names none)."""


def git_reaches(
    git_path: Path, roots: tuple[Path, ...], protected: tuple[Path, ...]
) -> Reach:
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
            return Reach([], None, git_path)  # git refuses a .git file without one
        target = _follow(git_path.parent, written, git_path, roots, protected)
        if target is None:
            return Reach([], None, git_path)
        gitdir = target
        reached.append(target)

    common = gitdir
    commondir = gitdir / COMMONDIR
    if os.path.lexists(commondir):
        commondir_file = _follow(gitdir, COMMONDIR, commondir, roots, protected)
        if commondir_file is not None and commondir_file.is_file():
            reached.append(commondir_file)
            written = _read_path(commondir_file, b"")
            named = _follow(gitdir, written, commondir, roots, protected)
            if written and named is not None:
                common = named
                reached.append(named)
    return Reach([path for path in reached if _inside(path, roots)], gitdir, common)


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


def user_config_files(environ: Mapping[str, str]) -> tuple[Path, ...]:
    """The system's and the user's git config files, as git finds them in `environ`."""
    files: list[Path] = []
    if not environ.get("GIT_CONFIG_NOSYSTEM"):
        files.append(Path(environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig"))
    home = environ.get("HOME", "")
    if environ.get("GIT_CONFIG_GLOBAL"):
        files.append(Path(environ["GIT_CONFIG_GLOBAL"]))
    elif home.startswith("/"):
        xdg = environ.get("XDG_CONFIG_HOME") or f"{home}/.config"
        files += [Path(xdg, "git", "config"), Path(home, ".gitconfig")]
    return tuple(path for path in files if path.is_absolute())
