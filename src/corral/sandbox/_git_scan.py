"""Find the git directories of a workspace: by name (``.git``) and by layout.

git uses a directory as a git directory whatever its name when it has the
right files, so every directory of the workspace is looked at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from corral.errors import WorkspaceError
from corral.sandbox._git_reach import COMMONDIR

__all__ = ["MAX_SCANNED_DIRS", "find_git_entries", "is_git_directory"]

# Every directory of the workspace is visited to find nested git directories.
# Past this many, corral stops rather than guard a workspace it has not seen.
MAX_SCANNED_DIRS = 200_000

# git takes a directory for a git directory when it holds HEAD and, in it or in
# the common directory its ``commondir`` file names, objects and refs.
_HEAD = "HEAD"
_OBJECT_STORES = frozenset({"objects", "refs"})


def find_git_entries(workspace: Path) -> Iterator[Path]:
    """Yield every git directory and ``.git`` file in `workspace`, the top included.

    Besides entries named ``.git``, any directory git would use as a git
    directory (a bare repository) counts; none of them is searched further.
    Raises `WorkspaceError` when a directory cannot be listed.
    """
    # Every run walks the whole workspace, twice: plain strings, not Path
    # objects, for the directories passed through.
    pending = [os.fspath(workspace)]
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
        if is_git_directory({entry.name for entry in entries}):
            yield Path(directory)
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
                pending.append(entry.path)


def is_git_directory(names: set[str]) -> bool:
    """Tell whether a directory listing `names` is one git would take for a git dir."""
    return _HEAD in names and (COMMONDIR in names or names >= _OBJECT_STORES)
