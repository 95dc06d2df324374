"""Approved git writes: which git directories a command may write, and what stays.

When a person approves a command that writes to the repository, each git
directory inside the workspace is bound writable, except the parts a tool
outside the sandbox later reads as configuration or runs as code.  Those stay
read-only, and the absent ones are held by placeholders like every protected
path, so that they cannot be created either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from corral.sandbox._git_reach import COMMONDIR
from corral.sandbox._git_scan import find_git_entries, is_git_directory
from corral.sandbox._placeholders import Placeholder

__all__ = [
    "LINKED_PARTS",
    "READ_ONLY_PARTS",
    "GitWrites",
    "find_exec_todos",
    "plan_git_writes",
    "read_only_parts",
]

_MODULES = "modules"

# What of a git directory stays read-only when writes to it are approved, with
# the placeholder that holds each one absent.
READ_ONLY_PARTS: tuple[tuple[str, Placeholder], ...] = (
    ("hooks", Placeholder.DIRECTORY),  # run as code by the host's git
    ("config", Placeholder.FILE),  # aliases, fsmonitor, pager, drivers: code
    ("config.worktree", Placeholder.FILE),  # likewise, once a config enables it
    # Names the directory holding config, hooks and objects; an empty one makes
    # git stop, so a dot file (the directory itself) holds it.
    (COMMONDIR, Placeholder.DOT_FILE),
    # attributes turn on the filter and diff drivers a config names; exclude
    # and sparse-checkout decide what git reads and writes in the work tree.
    ("info", Placeholder.DIRECTORY),
    # Submodule git directories: git adopts one it finds there, hooks and all,
    # so only the existing ones are opened, each split the same way.
    (_MODULES, Placeholder.DIRECTORY),
    ("remotes", Placeholder.DIRECTORY),  # old-style remotes: where fetch and push go
    ("branches", Placeholder.DIRECTORY),  # likewise
)

# And in the git directory of a linked worktree (``worktrees/NAME``), which git
# tells apart by its commondir naming another directory.
LINKED_PARTS: tuple[tuple[str, Placeholder], ...] = (
    ("gitdir", Placeholder.FILE),  # where the worktree is: git worktree prune, move
)

# The todo lists that ``git rebase --continue`` or ``git cherry-pick --continue``
# works through, and the commands in them that run a shell command.
_TODO_LISTS = ("rebase-merge/git-rebase-todo", "sequencer/todo")
_EXEC_COMMANDS = frozenset({"exec", "x"})


@dataclass
class GitWrites:
    """The git directories a command may write, and those kept read-only."""

    granted: dict[Path, tuple[tuple[Path, Placeholder], ...]] = field(
        default_factory=dict
    )
    """Each writable git directory, with its read-only parts and their placeholders."""
    kept: dict[Path, str] = field(default_factory=dict)
    """Git directories that stay read-only though writes were approved, with why."""

    def revoke_covered(
        self, policy: Iterable[Path], reached: Iterable[Path], git: Iterable[Path]
    ) -> bool:
        """Keep read-only each granted git directory that lies in a read-only path.

        That is a protected path of the policy other than a granted git
        directory, a path a config or link names, a git entry in `git` or a git
        directory in `kept` not granted, or a read-only part of another granted
        directory (a submodule's in ``modules`` excepted).  Returns whether any
        was revoked, so that the caller resolves again.
        """
        holders = _Holders(tuple(policy), tuple(reached), tuple(git))
        revoked = False
        for gitdir in sorted(self.granted, key=lambda path: len(path.parts)):
            why = _covered(gitdir, holders, self)
            if why is not None:
                del self.granted[gitdir]
                self.kept[gitdir] = why
                revoked = True
        return revoked


def plan_git_writes(workspace: Path, git_dirs: Mapping[Path, Path]) -> GitWrites:
    """Return which of `git_dirs` (each mapped to its common directory) may be written.

    The common directories count too, and so do the submodule git directories
    in the ``modules`` of each one granted.  Raises `WorkspaceError` when a
    ``modules`` directory cannot be listed.
    """
    writes = GitWrites()
    pending = [*dict.fromkeys((*git_dirs, *git_dirs.values()))]
    pending.reverse()
    while pending:
        gitdir = pending.pop()
        if gitdir in writes.granted or gitdir in writes.kept:
            continue
        why = _why_read_only(gitdir, workspace)
        if why is _NOT_GIT:
            continue  # git would not use it: nothing of it to write
        if why is not None:
            writes.kept[gitdir] = why
            continue
        linked = git_dirs.get(gitdir, gitdir) != gitdir
        writes.granted[gitdir] = read_only_parts(gitdir, linked=linked)
        pending.extend(_module_git_dirs(gitdir))
    return writes


def read_only_parts(
    gitdir: Path, *, linked: bool
) -> tuple[tuple[Path, Placeholder], ...]:
    """Return the parts of `gitdir` that stay read-only, with their placeholders."""
    parts = READ_ONLY_PARTS + (LINKED_PARTS if linked else ())
    return tuple((gitdir / name, kind) for name, kind in parts)


def find_exec_todos(gitdirs: Iterable[Path]) -> list[Path]:
    """Return the todo lists in `gitdirs` that name a shell command to run.

    A command may leave a rebase or cherry-pick stopped with ``exec`` lines in
    its todo list; ``git rebase --continue`` on the host would run them there.
    """
    found: list[Path] = []
    for gitdir in gitdirs:
        for name in _TODO_LISTS:
            todo = gitdir / name
            try:
                lines = todo.read_bytes().decode(errors="replace").splitlines()
            except OSError:
                continue
            if any(_runs_a_command(line) for line in lines):
                found.append(todo)
    return found


def _runs_a_command(line: str) -> bool:
    words = line.split(maxsplit=1)
    return bool(words) and words[0] in _EXEC_COMMANDS


_NOT_GIT = "it is not a git directory git would use"


def _why_read_only(gitdir: Path, workspace: Path) -> str | None:
    """Say why `gitdir` cannot be written, or None when it can."""
    if not gitdir.is_relative_to(workspace):
        return (
            f"it lies outside the workspace {workspace}; a command may write only "
            "the git directories inside it"
        )
    try:
        names = {path.name for path in gitdir.iterdir()}
    except OSError:
        names = set()
    if not is_git_directory(names):
        return _NOT_GIT
    for name, _ in READ_ONLY_PARTS + LINKED_PARTS:
        if (gitdir / name).is_symlink():
            return (
                f"its {name} is a symbolic link, which a command could replace; "
                f"make {gitdir / name} a file or directory of its own to write here"
            )
    return None


def _module_git_dirs(gitdir: Path) -> list[Path]:
    """Return the submodule git directories beneath ``modules`` in `gitdir`."""
    modules = gitdir / _MODULES
    if modules.is_symlink() or not modules.is_dir():
        return []
    return [path for path in find_git_entries(modules) if path.is_dir()]


class _Holders(NamedTuple):
    policy: tuple[Path, ...]
    reached: tuple[Path, ...]
    git: tuple[Path, ...]


def _covered(gitdir: Path, holders: _Holders, writes: GitWrites) -> str | None:
    """Say which read-only path holds `gitdir`, or None when none does."""
    for path in holders.policy:
        # The policy's ".git/" names a git directory: the approval is for it.
        if path not in writes.granted and gitdir.is_relative_to(path):
            return f"it lies in the protected path {path}"
    for path in holders.reached:
        if gitdir.is_relative_to(path):
            return f"it lies in {path}, which a git config or link names"
    # Shallowest first, so a directory revoked just now holds what it contains.
    for other in (*holders.git, *writes.kept):
        if other not in writes.granted and gitdir.is_relative_to(other):
            return f"it lies in the git directory {other}, which stays read-only"
    for other, parts in writes.granted.items():
        for part, _ in parts:
            in_modules = part.name == _MODULES and gitdir != part
            if other != gitdir and gitdir.is_relative_to(part) and not in_modules:
                return f"it lies in {part}, which stays read-only"
    return None
