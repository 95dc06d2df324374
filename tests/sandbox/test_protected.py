"""What corral counts as a git directory or protected path of a workspace.

Each case builds a real directory tree and asks `find_protected` or
`find_git_entries`, the functions every run relies on, what to guard.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from corral.sandbox._protected import (
    find_git_entries,
    find_protected,
    pinned_ancestors,
)


def _git_dir(path: Path) -> Path:
    """Make `path` a bare git directory, as ``git init --bare`` does."""
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    return path


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
