"""What corral counts as a git directory or protected path of a workspace.

Each case builds a real directory tree and asks `find_protected` or
`find_git_entries`, the functions every run relies on, what to guard.
"""

from __future__ import annotations

import itertools
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

# git on the host, with an identity for commits (the test user may have none).
_IDENTIFIED = ("git", "-c", "user.name=t", "-c", "user.email=t@example.invalid")


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


def _store_with_shared_object(store: Path, other_name: Path) -> None:
    """Give `store` a loose object that has a second name, as clones share them."""
    (store / "ab").mkdir(parents=True, exist_ok=True)
    (store / "ab" / "cdef").write_bytes(b"data")
    os.link(store / "ab" / "cdef", other_name)


@pytest.mark.parametrize(
    "name", ["objects/pack", "objects/info", "objects/12", "lfs/objects"]
)
def test_a_directory_of_a_data_directory_linked_into_the_workspace_is_data(
    tmp_path: Path, name: str
) -> None:
    """git reads packs, alternates and loose objects through the link."""
    gitdir = _repository(tmp_path)
    store = tmp_path / "store"
    linked = gitdir / name
    linked.parent.mkdir(exist_ok=True)
    if linked.exists():
        linked.rename(store)
    _store_with_shared_object(store, tmp_path / "other-name")
    linked.symlink_to(os.path.relpath(store, linked.parent))
    found = find_protected(tmp_path, [], [tmp_path])
    assert {gitdir, store} <= set(found.existing)


def test_a_file_in_a_pack_directory_linked_into_the_workspace_is_protected(
    tmp_path: Path,
) -> None:
    """A pack kept beside .git is read as a pack, newest first."""
    gitdir = _repository(tmp_path)
    kept = tmp_path / "kept.pack"
    kept.write_bytes(b"PACK")
    (gitdir / "objects" / "pack" / "pack-1.pack").symlink_to(kept)
    assert kept in find_protected(tmp_path, [], [tmp_path]).existing


def test_links_in_a_data_directory_kept_beside_git_are_followed_too(
    tmp_path: Path,
) -> None:
    gitdir = _repository(tmp_path)
    (gitdir / "objects").rename(tmp_path / "store")
    (gitdir / "objects").symlink_to("../store")
    (tmp_path / "store" / "pack").rename(tmp_path / "packs")
    (tmp_path / "store" / "pack").symlink_to("../packs")
    (tmp_path / "packs" / "pack-1.idx").symlink_to("../idx")
    (tmp_path / "idx").write_bytes(b"idx")
    found = find_protected(tmp_path, [], [tmp_path])
    assert {
        tmp_path / "store",
        tmp_path / "packs",
        tmp_path / "idx",
    } <= set(found.existing)


def test_a_link_deeper_in_a_data_directory_is_not_looked_for(
    tmp_path: Path,
) -> None:
    """Loose objects are not listed: git makes no links there, and they are many."""
    gitdir = _repository(tmp_path)
    (gitdir / "objects" / "ab").mkdir()
    (tmp_path / "blob").write_bytes(b"data")
    (gitdir / "objects" / "ab" / "cdef").symlink_to("../../../blob")
    assert tmp_path / "blob" not in find_protected(tmp_path, [], [tmp_path]).existing


def test_a_dangling_object_store_link_is_held_by_a_directory(tmp_path: Path) -> None:
    """So that git in the run finds no object store, not a file where one should be."""
    gitdir = _repository(tmp_path)
    (gitdir / "objects").rename(tmp_path / "elsewhere")
    (gitdir / "objects").symlink_to("../store")
    found = find_protected(tmp_path, [], [tmp_path])
    assert (tmp_path / "store", Placeholder.DIRECTORY) in found.absent


def _alternates(gitdir: Path, text: str) -> None:
    (gitdir / "objects" / "info" / "alternates").write_text(text)


def _object_store(path: Path) -> Path:
    (path / "info").mkdir(parents=True)
    (path / "pack").mkdir()
    return path


@pytest.mark.parametrize("relative", [False, True])
def test_an_alternate_object_directory_in_the_workspace_is_data(
    tmp_path: Path, relative: bool
) -> None:
    """git reads objects there, relative ones from the objects directory."""
    gitdir = _repository(tmp_path)
    store = _object_store(tmp_path / "altobj")
    _store_with_shared_object(store, tmp_path / "other-name")
    _alternates(gitdir, "../../altobj\n" if relative else f"{store}\n")
    found = find_protected(tmp_path, [], [tmp_path])
    assert store in found.existing


def test_alternates_are_read_as_git_reads_them(tmp_path: Path) -> None:
    """Comments and empty lines are skipped; a quoted path is unquoted."""
    gitdir = _repository(tmp_path)
    plain = _object_store(tmp_path / "plain")
    quoted = _object_store(tmp_path / "a\tb")
    commented = _object_store(tmp_path / "commented")
    _alternates(gitdir, f'# {commented}\n\n{plain}\n"{tmp_path}/a\\tb"\n')
    found = set(find_protected(tmp_path, [], [tmp_path]).existing)
    assert {plain, quoted} <= found
    assert commented not in found


def test_alternates_of_alternates_are_followed_as_deep_as_git_does(
    tmp_path: Path,
) -> None:
    """git reads alternates files five deep past the repository's own."""
    gitdir = _repository(tmp_path)
    stores = [_object_store(tmp_path / f"alt{depth}") for depth in range(1, 9)]
    _alternates(gitdir, f"{stores[0]}\n")
    for store, deeper in itertools.pairwise(stores):
        (store / "info" / "alternates").write_text(f"../{deeper.name}\n")
    found = set(find_protected(tmp_path, [], [tmp_path]).existing)
    assert set(stores[:6]) <= found
    assert not set(stores[6:]) & found


def test_an_absent_alternate_object_directory_is_held_by_a_directory(
    tmp_path: Path,
) -> None:
    """git skips it now, but would read what a command puts there."""
    gitdir = _repository(tmp_path)
    _alternates(gitdir, f"{tmp_path}/later/objects\n")
    found = find_protected(tmp_path, [], [tmp_path])
    assert (tmp_path / "later", Placeholder.DIRECTORY) in found.absent


def test_an_alternate_reached_through_a_workspace_link_refuses(
    tmp_path: Path,
) -> None:
    gitdir = _repository(tmp_path)
    _object_store(tmp_path / "real")
    (tmp_path / "via").symlink_to("real")
    _alternates(gitdir, f"{tmp_path}/via\n")
    with pytest.raises(WorkspaceError, match="symbolic link"):
        find_protected(tmp_path, [], [tmp_path])


def test_an_alternate_outside_the_roots_leading_back_is_followed(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    gitdir = _repository(workspace)
    outside = _object_store(tmp_path / "outside")
    store = _object_store(workspace / "store")
    _alternates(gitdir, f"{outside}\n")
    (outside / "info" / "alternates").write_text(f"{store}\n")
    found = set(find_protected(workspace, [], [workspace]).existing)
    assert store in found
    assert outside not in found


def test_the_data_of_a_main_repository_outside_the_roots_is_followed_back(
    tmp_path: Path,
) -> None:
    """A worktree in the workspace of a repository whose objects live in it."""
    main = tmp_path / "main"
    subprocess.run(["git", "init", "-q", str(main)], check=True)
    subprocess.run(
        [*_IDENTIFIED, "-C", str(main), "commit", "-q", "--allow-empty", "-m", "x"],
        check=True,
    )
    workspace = tmp_path / "ws"
    subprocess.run(
        ["git", "-C", str(main), "worktree", "add", "-q", str(workspace / "wt")],
        check=True,
    )
    store = workspace / "store"
    (main / ".git" / "objects").rename(store)
    (main / ".git" / "objects").symlink_to(store)
    alternate = _object_store(workspace / "alternate")
    (store / "info" / "alternates").write_text(f"{alternate}\n")
    (main / ".git" / "lfs").mkdir()
    (main / ".git" / "lfs" / "objects").symlink_to(workspace / "lfs")
    (workspace / "lfs").mkdir()
    found = set(find_protected(workspace, [], [workspace]).existing)
    assert {store, alternate, workspace / "lfs"} <= found


def test_with_git_writes_an_alternate_outside_the_granted_directory_is_read_only(
    tmp_path: Path,
) -> None:
    """git writes no alternate, and another repository may read the same one."""
    gitdir = _repository(tmp_path)
    store = _object_store(tmp_path / "altobj")
    _alternates(gitdir, f"{store}\n")
    found = find_protected(tmp_path, [], [tmp_path], git_write=True)
    assert gitdir in found.granted
    assert store in found.existing


def test_with_git_writes_an_alternate_in_another_granted_directory_stays_writable(
    tmp_path: Path,
) -> None:
    """A clone borrowing from a sibling must not stop commits in the sibling."""
    first = _repository(tmp_path / "first")
    second = _repository(tmp_path / "second")
    _alternates(second, f"{first}/objects\n")
    found = find_protected(tmp_path, [], [tmp_path], git_write=True)
    assert {first, second} <= set(found.granted)
    assert first / "objects" not in found.existing
