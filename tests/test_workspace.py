"""Resolving the workspace: the git top level, or the directory itself."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from corral._workspace import resolve_workspace
from corral.errors import WorkspaceError


def test_git_subdirectory_resolves_to_the_top_level(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "a" / "b").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)

    assert resolve_workspace(repo / "a" / "b") == repo.resolve()


def test_directory_outside_git_is_its_own_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    # A ceiling stops git from finding a repository above tmp_path.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))

    assert resolve_workspace(plain) == plain.resolve()


def test_without_git_the_directory_is_its_own_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))

    assert resolve_workspace(repo / "sub") == (repo / "sub").resolve()


def test_missing_directory_is_a_workspace_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="does not exist"):
        resolve_workspace(tmp_path / "absent")


def test_file_is_not_a_workspace(tmp_path: Path) -> None:
    file = tmp_path / "f"
    file.write_text("")

    with pytest.raises(WorkspaceError, match="is not a directory"):
        resolve_workspace(file)


def _plant_git(directory: Path, marker: Path) -> Path:
    """A fake git a sandboxed command could have written: it leaves `marker`."""
    bin_dir = directory / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    fake = bin_dir / "git"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\necho /\n")
    fake.chmod(0o755)
    return bin_dir


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A repository with a fake git in its .venv/bin: (repo, that bin, marker)."""
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    marker = tmp_path / "ran-on-the-host"
    return repo, _plant_git(repo, marker), marker


SYSTEM_PATH = os.environ.get("PATH", "/usr/bin:/bin")


def test_a_git_inside_the_workspace_is_never_run(
    planted: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, fake_bin, marker = planted
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{SYSTEM_PATH}")
    assert resolve_workspace(repo / "sub") == repo.resolve()
    assert not marker.exists()


def test_a_relative_path_entry_is_never_searched(
    planted: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _, marker = planted
    monkeypatch.chdir(repo)
    monkeypatch.setenv("PATH", f".venv/bin{os.pathsep}{SYSTEM_PATH}")
    assert resolve_workspace(repo) == repo.resolve()
    assert not marker.exists()


def test_when_the_only_git_lies_in_the_workspace_corral_refuses(
    planted: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, fake_bin, marker = planted
    monkeypatch.setenv("PATH", str(fake_bin))
    with pytest.raises(WorkspaceError, match="could have written it"):
        resolve_workspace(repo / "sub")
    assert not marker.exists()
