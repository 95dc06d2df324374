"""Which git directories approved writes open, what of them stays read-only, and why.

Each case builds a real directory tree and asks `find_protected`, which every
run relies on, with ``git_write``; `ordered_binds` says how that is mounted.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from corral.errors import WorkspaceError
from corral.sandbox._git_write import find_exec_todos
from corral.sandbox._mounts import View, ordered_binds
from corral.sandbox._placeholders import Placeholder
from corral.sandbox._protected import ProtectedSet, find_protected


def _repo(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path / ".git"


def _find(workspace: Path, entries: tuple[str, ...] = (".git/",)) -> ProtectedSet:
    return find_protected(workspace, entries, [workspace], git_write=True)


def test_a_git_directory_is_granted_and_only_its_instructions_protected(
    tmp_path: Path,
) -> None:
    gitdir = _repo(tmp_path)
    found = _find(tmp_path)
    assert found.granted == (gitdir,)
    assert gitdir not in found.existing
    assert {gitdir / "config", gitdir / "hooks", gitdir / "info"} <= set(found.existing)
    assert (gitdir / "objects") not in found.existing
    assert dict(found.absent) == {
        gitdir / "config.worktree": Placeholder.FILE,
        gitdir / "commondir": Placeholder.DOT_FILE,
        gitdir / "modules": Placeholder.DIRECTORY,
        gitdir / "remotes": Placeholder.DIRECTORY,
    }


def test_without_git_write_the_whole_git_directory_is_protected(
    tmp_path: Path,
) -> None:
    gitdir = _repo(tmp_path)
    found = find_protected(tmp_path, [".git/"], [tmp_path])
    assert found.granted == ()
    assert found.existing == (gitdir,)
    assert found.absent == ()


def test_a_linked_worktrees_git_directory_keeps_its_gitdir_too(
    tmp_path: Path,
) -> None:
    gitdir = _repo(tmp_path)
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    git = ["git", "-C", str(tmp_path), *identity]
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    subprocess.run([*git, "worktree", "add", "-q", "wt"], check=True)
    admin = gitdir / "worktrees" / "wt"
    found = _find(tmp_path)
    assert set(found.granted) == {gitdir, admin}
    assert {admin / "commondir", admin / "gitdir", tmp_path / "wt" / ".git"} <= set(
        found.existing
    )


def test_a_git_directory_inside_a_protected_path_stays_read_only(
    tmp_path: Path,
) -> None:
    """The policy's other entries win: ``vendor/`` covers what it holds."""
    nested = _repo(tmp_path / "vendor" / "lib")
    found = _find(tmp_path, (".git/", "vendor/"))
    assert nested not in found.granted
    assert "protected path" in dict(found.read_only_git_dirs)[nested]
    assert tmp_path / "vendor" in found.existing


def test_a_git_directory_inside_a_hooks_directory_stays_read_only(
    tmp_path: Path,
) -> None:
    gitdir = _repo(tmp_path)
    nested = _repo(tmp_path / "tools" / "hooks-repo")
    subprocess.run(
        ["git", "-C", str(tmp_path), "config", "core.hooksPath", "tools"], check=True
    )
    found = _find(tmp_path)
    assert gitdir in found.granted
    assert "git config or link names" in dict(found.read_only_git_dirs)[nested]


def test_a_hooks_path_inside_a_writable_git_directory_is_held(
    tmp_path: Path,
) -> None:
    """git runs hooks from the git directory too (pushes into this repository)."""
    gitdir = _repo(tmp_path)
    subprocess.run(
        ["git", "-C", str(tmp_path), "config", "core.hooksPath", ".husky"],
        check=True,
    )
    found = _find(tmp_path)
    assert dict(found.absent)[gitdir / ".husky"] is Placeholder.DIRECTORY
    assert dict(found.absent)[tmp_path / ".husky"] is Placeholder.DIRECTORY


def test_submodule_git_directories_are_granted_at_any_depth(
    tmp_path: Path,
) -> None:
    """Also without a work tree checked out, and nested under a name with a slash."""
    gitdir = _repo(tmp_path)
    module = gitdir / "modules" / "libs" / "a"
    subprocess.run(["git", "init", "-q", "--bare", str(module)], check=True)
    inner = module / "modules" / "b"
    subprocess.run(["git", "init", "-q", "--bare", str(inner)], check=True)
    found = _find(tmp_path)
    assert set(found.granted) == {gitdir, module, inner}
    assert {gitdir / "modules", module / "config", module / "modules"} <= set(
        found.existing
    )


def test_a_symlinked_part_keeps_its_git_directory_read_only(tmp_path: Path) -> None:
    gitdir = _repo(tmp_path)
    (tmp_path / "info-elsewhere").mkdir()
    subprocess.run(["rm", "-rf", str(gitdir / "info")], check=True)
    (gitdir / "info").symlink_to("../info-elsewhere")
    found = _find(tmp_path)
    assert found.granted == ()
    assert "info is a symbolic link" in dict(found.read_only_git_dirs)[gitdir]
    assert gitdir in found.existing


def test_hard_links_only_in_the_writable_part_are_accepted(tmp_path: Path) -> None:
    """A command may change those files anyway; not a protected config."""
    gitdir = _repo(tmp_path)
    (gitdir / "refs" / "heads" / "a").write_text("0" * 40 + "\n")
    os.link(gitdir / "refs" / "heads" / "a", gitdir / "refs" / "heads" / "b")
    assert _find(tmp_path).granted == (gitdir,)
    os.link(gitdir / "config", tmp_path / "cfg")
    with pytest.raises(WorkspaceError, match="hard links"):
        _find(tmp_path)


def test_a_policy_path_inside_a_writable_git_directory_stays_read_only(
    tmp_path: Path,
) -> None:
    gitdir = _repo(tmp_path)
    found = _find(tmp_path, (".git/", ".git/refs/"))
    assert found.granted == (gitdir,)
    assert gitdir / "refs" in found.existing


def test_binds_come_after_what_holds_them_and_read_only_wins() -> None:
    root = Path("/w")
    view = View(
        protected=(root / ".git/modules", root / ".git/hooks", root / ".corral"),
        hidden=(),
        sockets=(),
        pinned=(root / ".git", root / ".corral/x", root / ".git/modules/a"),
        granted=(root / ".git", root / ".git/modules/a/b"),
    )
    assert ordered_binds(view) == [
        (root / ".corral", False),
        (root / ".git", True),
        (root / ".git/hooks", False),
        (root / ".git/modules", False),
        (root / ".git/modules/a/b", True),
    ]


def test_todo_lists_that_would_run_commands_are_found(tmp_path: Path) -> None:
    rebase = tmp_path / "a" / "rebase-merge"
    rebase.mkdir(parents=True)
    (rebase / "git-rebase-todo").write_text("pick 1234 x\n  x make deploy\n")
    sequencer = tmp_path / "b" / "sequencer"
    sequencer.mkdir(parents=True)
    (sequencer / "todo").write_text("pick 1234 exec is only a word here\n")
    found = find_exec_todos([tmp_path / "a", tmp_path / "b", tmp_path / "c"])
    assert found == [rebase / "git-rebase-todo"]
