"""The commit a workspace's repository is at, read from its files without running git.

The workspace is the command's to write, so nothing read here is executed or
followed out of the repository: a value that is not a ref or an object id is
reported as unreadable rather than recorded.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

__all__ = ["git_head"]

_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_REF = re.compile(r"refs/[A-Za-z0-9._/-]{1,240}")
# HEAD, a ref and a gitdir line are one short line; packed-refs can be long.
_SMALL_FILE = 4096
_PACKED_REFS_LIMIT = 16 * 1024 * 1024


def git_head(workspace: Path) -> dict[str, str | None] | None:
    """Return ``{"ref": ..., "commit": ...}`` for `workspace`, or None outside git.

    `ref` is the branch HEAD names (None when detached); `commit` is the
    object id it points at (None on a branch with no commit yet).  A
    repository whose files cannot be read as git writes them gives
    ``{"ref": None, "commit": None, "unreadable": why}``.
    """
    git = workspace / ".git"
    try:
        gitdir = _git_dir(git)
        if gitdir is None:
            return None
        head = _read(gitdir / "HEAD", _SMALL_FILE).strip()
        if _OBJECT_ID.fullmatch(head):
            return {"ref": None, "commit": head}
        if not head.startswith("ref: ") or not _REF.fullmatch(head[5:]):
            return _unreadable("HEAD is neither a ref nor a commit")
        ref = head[5:]
        return {"ref": ref, "commit": _resolve(gitdir, ref)}
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return _unreadable(str(exc))


def _git_dir(git: Path) -> Path | None:
    """The repository directory `git` (a ``.git`` entry) stands for, or None."""
    try:
        info = git.lstat()
    except FileNotFoundError:
        return None
    if git.is_dir() and not git.is_symlink():
        return git
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(".git is neither a directory nor a gitdir file")
    line = _read(git, _SMALL_FILE).strip()
    if not line.startswith("gitdir: "):
        raise ValueError(".git file does not name a gitdir")
    target = Path(line[8:])
    return target if target.is_absolute() else git.parent / target


def _resolve(gitdir: Path, ref: str) -> str | None:
    """The object id `ref` points at: its loose file, else packed-refs."""
    common = gitdir
    with_common = gitdir / "commondir"
    if with_common.exists():
        named = Path(_read(with_common, _SMALL_FILE).strip())
        common = named if named.is_absolute() else gitdir / named
    for base in dict.fromkeys((gitdir, common)):
        try:
            value = _read(base / ref, _SMALL_FILE).strip()
        except FileNotFoundError:
            continue
        if not _OBJECT_ID.fullmatch(value):
            raise ValueError(f"{ref} does not hold an object id")
        return value
    try:
        packed = _read(common / "packed-refs", _PACKED_REFS_LIMIT)
    except FileNotFoundError:
        return None
    for line in packed.splitlines():
        commit, _, name = line.partition(" ")
        if name == ref and _OBJECT_ID.fullmatch(commit):
            return commit
    return None


def _read(path: Path, limit: int) -> str:
    """Read a regular file, not through a link in its last component."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path.name} is not a regular file")
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError(f"{path.name} is larger than git writes it")
    return data.decode()


def _unreadable(why: str) -> dict[str, str | None]:
    return {"ref": None, "commit": None, "unreadable": why}
