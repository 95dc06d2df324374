"""What corral counts as a git directory or protected path of a workspace.

Each case builds a real directory tree and asks `find_protected` or
`find_git_entries`, the functions every run relies on, what to guard.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from corral.errors import WorkspaceError
from corral.sandbox._placeholders import Placeholder
from corral.sandbox._protected import (
    find_git_entries,
    find_protected,
    pinned_ancestors,
)


def _git_dir(path: Path) -> Path:
    """Make `path` a bare git directory, as ``git init --bare`` does."""
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    return path


def _gitfile(directory: Path, gitdir: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    gitfile = directory / ".git"
    gitfile.write_text(f"gitdir: {gitdir}\n")
    return gitfile


def test_a_gitfile_reaching_its_git_directory_through_a_workspace_link_refuses(
    tmp_path: Path,
) -> None:
    """A command could repoint the link at a git directory it planted."""
    _git_dir(tmp_path / "store" / "real.git")
    (tmp_path / "link").symlink_to("store")
    gitfile = _gitfile(tmp_path / "wt", "../link/real.git")
    with pytest.raises(WorkspaceError, match="symbolic link") as raised:
        find_protected(tmp_path, [], [tmp_path])
    assert str(gitfile) in str(raised.value)
    assert str(tmp_path / "link") in str(raised.value)


def test_a_gitfile_naming_an_absent_git_directory_in_the_workspace_refuses(
    tmp_path: Path,
) -> None:
    """A command could create the git directory the host's git would use."""
    gitfile = _gitfile(tmp_path / "wt", f"{tmp_path}/store/real.git")
    with pytest.raises(WorkspaceError, match="does not exist") as raised:
        find_protected(tmp_path, [], [tmp_path])
    assert str(gitfile) in str(raised.value)


def test_a_gitfile_whose_path_runs_through_a_workspace_file_refuses(
    tmp_path: Path,
) -> None:
    """A command could replace the file with a directory holding a git directory."""
    (tmp_path / "store").write_text("not a directory\n")
    _gitfile(tmp_path / "wt", "../store/real.git")
    with pytest.raises(WorkspaceError, match="does not exist"):
        find_protected(tmp_path, [], [tmp_path])


def test_a_gitfile_path_is_read_as_git_reads_it(tmp_path: Path) -> None:
    """Only the line end is stripped: a trailing space names another directory."""
    _git_dir(tmp_path / "store" / "real.git")
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / ".git").write_text("gitdir: ../store/real.git \n")
    with pytest.raises(WorkspaceError, match="does not exist"):
        find_protected(tmp_path, [], [tmp_path])


def test_a_gitfile_outside_every_writable_root_may_point_anywhere(
    tmp_path: Path,
) -> None:
    """Paths outside the writable roots are read-only already."""
    outside = tmp_path / "outside"
    _git_dir(outside / "store" / "real.git")
    (outside / "link").symlink_to("store")
    workspace = tmp_path / "ws"
    _gitfile(workspace / "wt", f"{outside}/link/real.git")
    _gitfile(workspace / "gone", f"{outside}/absent.git")
    found = find_protected(workspace, [], [workspace])
    assert workspace / "wt" / ".git" in found.existing
    assert outside / "store" / "real.git" not in found.existing


def test_a_link_outside_the_roots_into_the_workspace_is_judged_past_it(
    tmp_path: Path,
) -> None:
    """Following a read-only link does not excuse a writable link after it."""
    workspace = tmp_path / "ws"
    _git_dir(workspace / "store" / "real.git")
    (workspace / "link").symlink_to("store")
    (tmp_path / "outside").symlink_to(workspace)
    _gitfile(workspace / "wt", f"{tmp_path}/outside/link/real.git")
    with pytest.raises(WorkspaceError, match=str(workspace / "link")):
        find_protected(workspace, [], [workspace])


def test_a_gitfile_target_and_its_common_directory_are_protected(
    tmp_path: Path,
) -> None:
    common = _git_dir(tmp_path / "store" / "main.git")
    admin = common / "worktrees" / "wt"
    admin.mkdir(parents=True)
    (admin / "HEAD").write_text("ref: refs/heads/main\n")
    (admin / "commondir").write_text("../..\n")
    _gitfile(tmp_path / "wt", str(admin))
    found = find_protected(tmp_path, [], [tmp_path])
    assert admin in found.existing
    assert common in found.existing


def test_a_common_directory_reached_through_a_workspace_link_refuses(
    tmp_path: Path,
) -> None:
    _git_dir(tmp_path / "store" / "main.git")
    (tmp_path / "link").symlink_to("store")
    admin = tmp_path / "admin"
    admin.mkdir()
    (admin / "HEAD").write_text("ref: refs/heads/main\n")
    (admin / "commondir").write_text(f"{tmp_path}/link/main.git\n")
    _gitfile(tmp_path / "wt", str(admin))
    with pytest.raises(WorkspaceError, match="commondir"):
        find_protected(tmp_path, [], [tmp_path])


def test_a_bare_repository_is_a_git_directory_and_is_not_searched(
    tmp_path: Path,
) -> None:
    bare = _git_dir(tmp_path / "sub" / "x.git")
    (bare / "nested").mkdir()
    (bare / "nested" / ".git").mkdir()
    assert list(find_git_entries(tmp_path)) == [bare]
    assert bare in find_protected(tmp_path, [], [tmp_path]).existing


def test_any_directory_with_head_objects_and_refs_is_a_git_directory(
    tmp_path: Path,
) -> None:
    made = tmp_path / "plain"
    (made / "objects").mkdir(parents=True)
    (made / "refs").mkdir()
    (made / "HEAD").write_text("ref: refs/heads/main\n")
    assert list(find_git_entries(tmp_path)) == [made]


def test_a_worktree_style_directory_with_head_and_commondir_is_a_git_directory(
    tmp_path: Path,
) -> None:
    """git looks for objects and refs in the common directory it names."""
    admin = tmp_path / "admin"
    admin.mkdir()
    (admin / "HEAD").write_text("ref: refs/heads/main\n")
    (admin / "commondir").write_text("../elsewhere.git\n")
    assert list(find_git_entries(tmp_path)) == [admin]


def test_a_directory_with_only_some_of_the_marks_is_searched_as_usual(
    tmp_path: Path,
) -> None:
    (tmp_path / "docs" / "refs").mkdir(parents=True)
    (tmp_path / "docs" / "HEAD").write_text("notes\n")
    (tmp_path / "docs" / "repo" / ".git").mkdir(parents=True)
    assert list(find_git_entries(tmp_path)) == [tmp_path / "docs" / "repo" / ".git"]


def test_a_bare_repository_in_the_workspace_has_its_parents_pinned(
    tmp_path: Path,
) -> None:
    bare = _git_dir(tmp_path / "a" / "b" / "x.git")
    found = find_protected(tmp_path, [], [tmp_path])
    assert pinned_ancestors(found.existing, [tmp_path]) == [
        tmp_path / "a",
        tmp_path / "a" / "b",
    ]
    assert bare in found.existing


def test_a_protected_path_under_a_missing_directory_holds_the_first_missing_one(
    tmp_path: Path,
) -> None:
    """Holding ``deploy/`` keeps ``deploy/secrets/`` from being created."""
    found = find_protected(tmp_path, ["deploy/secrets/", "deploy/keys"], [tmp_path])
    assert found.absent == ((tmp_path / "deploy", Placeholder.DIRECTORY),)


def test_an_absent_protected_path_under_an_existing_directory_is_held_itself(
    tmp_path: Path,
) -> None:
    (tmp_path / "deploy").mkdir()
    found = find_protected(tmp_path, ["deploy/secrets/", "deploy/key"], [tmp_path])
    assert found.absent == (
        (tmp_path / "deploy" / "secrets", Placeholder.DIRECTORY),
        (tmp_path / "deploy" / "key", Placeholder.FILE),
    )


def _repository(path: Path) -> Path:
    """Make `path` a repository with a work tree; return its git directory."""
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path / ".git"


def test_a_second_name_for_a_file_deep_in_a_git_directory_refuses(
    tmp_path: Path,
) -> None:
    """A command could rewrite the file through the name outside .git."""
    gitdir = _repository(tmp_path)
    (gitdir / "refs" / "heads" / "topic").mkdir()
    ref = gitdir / "refs" / "heads" / "topic" / "a"
    ref.write_text("0" * 40 + "\n")
    os.link(ref, tmp_path / "other-name")
    with pytest.raises(WorkspaceError, match="hard links") as raised:
        find_protected(tmp_path, [], [tmp_path])
    assert str(ref) in str(raised.value)


def test_a_second_name_for_an_object_is_not_refused(tmp_path: Path) -> None:
    """Objects are content-addressed data, shared by ``git clone --local``."""
    gitdir = _repository(tmp_path)
    (gitdir / "objects" / "ab").mkdir()
    blob = gitdir / "objects" / "ab" / "cdef"
    blob.write_bytes(b"data")
    os.link(blob, tmp_path / "other-name")
    assert gitdir in find_protected(tmp_path, [], [tmp_path]).existing


@pytest.mark.parametrize("name", ["objects", "lfs"])
def test_a_data_directory_linked_into_the_workspace_is_protected_unsearched(
    tmp_path: Path, name: str
) -> None:
    """History kept beside .git is history still; its shared objects are no error."""
    gitdir = _repository(tmp_path)
    store = tmp_path / "store"
    if (gitdir / name).exists():
        (gitdir / name).rename(store)
    (store / "ab").mkdir(parents=True)
    (store / "ab" / "cdef").write_bytes(b"data")
    os.link(store / "ab" / "cdef", tmp_path / "other-name")
    (gitdir / name).symlink_to("../store")
    found = find_protected(tmp_path, [], [tmp_path])
    assert {gitdir, store} <= set(found.existing)


def test_what_links_in_a_git_directory_lead_to_is_protected_in_turn(
    tmp_path: Path,
) -> None:
    """A link to a file, to a directory and a link beneath that directory."""
    gitdir = _repository(tmp_path)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "pre-commit").write_text("#!/bin/sh\n")
    (gitdir / "hooks" / "pre-commit").symlink_to("../../scripts/pre-commit")
    (tmp_path / "shared" / "deeper").mkdir(parents=True)
    (tmp_path / "notes").write_text("notes\n")
    (tmp_path / "shared" / "deeper" / "notes").symlink_to("../../notes")
    (gitdir / "shared").symlink_to("../shared")
    found = find_protected(tmp_path, [], [tmp_path])
    assert {
        tmp_path / "scripts" / "pre-commit",
        tmp_path / "shared",
        tmp_path / "notes",
    } <= set(found.existing)


def test_a_link_beneath_a_protected_directory_of_the_policy_is_followed(
    tmp_path: Path,
) -> None:
    (tmp_path / ".vscode").mkdir()
    (tmp_path / "tasks.json").write_text("{}\n")
    (tmp_path / ".vscode" / "tasks.json").symlink_to("../tasks.json")
    found = find_protected(tmp_path, [".vscode/"], [tmp_path])
    assert found.existing == (tmp_path / ".vscode", tmp_path / "tasks.json")


def test_a_protected_path_that_is_a_link_refuses(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / ".claude").symlink_to("real")
    with pytest.raises(WorkspaceError, match="symbolic link"):
        find_protected(tmp_path, [".claude/"], [tmp_path])


def test_pinned_ancestors_are_those_strictly_beneath_the_root_of_each_path(
    tmp_path: Path,
) -> None:
    """Not the root itself, nothing for a path outside every root, shallowest first."""
    first, second = tmp_path / "ws", tmp_path / "other"
    protected = [
        first / "a" / "b" / ".git",
        first / ".envrc",
        first,
        second / "x" / "y.git",
        tmp_path / "elsewhere" / "z" / ".git",
        first / "a" / ".git",
    ]
    assert pinned_ancestors(protected, [first, second]) == [
        second / "x",
        first / "a",
        first / "a" / "b",
    ]


def test_a_relative_hooks_path_of_the_users_config_is_held_in_every_repository(
    tmp_path: Path,
) -> None:
    """git reads the user's config for each repository, and each has its own top."""
    workspace = tmp_path / "ws"
    for top in (workspace, workspace / "a", workspace / "b"):
        _repository(top)
    user_config = tmp_path / "gitconfig"
    user_config.write_text("[core]\n\thooksPath = shared-hooks\n")
    found = find_protected(workspace, [], [workspace], user_configs=[user_config])
    assert {
        workspace / "shared-hooks",
        workspace / "a" / "shared-hooks",
        workspace / "b" / "shared-hooks",
    } <= {path for path, _ in found.absent}
