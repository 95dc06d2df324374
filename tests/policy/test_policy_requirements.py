"""The managed requirements file is read only when an administrator owns it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corral.errors import PolicyError
from corral.policy import Policy, SandboxMode, load_policy

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(
    not IS_ROOT, reason="needs root to create a root-owned requirements file"
)

REQUIREMENTS = "[sandbox]\nmode = 'read-only'\nallowed_modes = ['read-only']\n"


def managed_dir(tmp_path: Path, mode: int = 0o755) -> Path:
    directory = tmp_path / "etc-corral"
    directory.mkdir()
    directory.chmod(mode)
    return directory


def write_requirements(directory: Path, mode: int = 0o644) -> Path:
    path = directory / "requirements.toml"
    path.write_text(REQUIREMENTS)
    path.chmod(mode)
    return path


def load(tmp_path: Path, requirements: Path) -> Policy:
    workspace = tmp_path / "ws"
    workspace.mkdir(exist_ok=True)
    return load_policy(
        workspace,
        requirements_path=requirements,
        environ={"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "HOME": str(tmp_path)},
    )


def test_missing_requirements_file_means_no_managed_bounds(tmp_path: Path) -> None:
    policy = load(tmp_path, tmp_path / "absent" / "requirements.toml")

    assert policy.sources == ()


def test_requirements_file_not_owned_by_root_is_refused(tmp_path: Path) -> None:
    path = write_requirements(managed_dir(tmp_path))
    if IS_ROOT:
        os.chown(path, 1000, 1000)

    with pytest.raises(PolicyError, match=rf"{path}: refused as managed .*not root"):
        load(tmp_path, path)


@pytest.mark.parametrize("mode", [0o664, 0o646])
def test_requirements_file_writable_by_others_is_refused(
    tmp_path: Path, mode: int
) -> None:
    path = write_requirements(managed_dir(tmp_path), mode)

    with pytest.raises(PolicyError, match=rf"{path}: refused as managed"):
        load(tmp_path, path)


@needs_root
def test_requirements_file_mode_is_named_when_refused(tmp_path: Path) -> None:
    path = write_requirements(managed_dir(tmp_path), 0o664)

    with pytest.raises(PolicyError, match=r"writable by group or others \(mode 0664\)"):
        load(tmp_path, path)


@needs_root
@pytest.mark.parametrize("mode", [0o775, 0o757, 0o1777])
def test_requirements_in_a_directory_others_can_write_is_refused(
    tmp_path: Path, mode: int
) -> None:
    path = write_requirements(managed_dir(tmp_path, mode))

    with pytest.raises(PolicyError, match=r"the directory is writable by group"):
        load(tmp_path, path)


@needs_root
def test_requirements_in_a_directory_root_does_not_own_is_refused(
    tmp_path: Path,
) -> None:
    directory = managed_dir(tmp_path)
    path = write_requirements(directory)
    os.chown(directory, 1000, 1000)

    with pytest.raises(PolicyError, match=r"the directory is owned by uid 1000"):
        load(tmp_path, path)


@needs_root
def test_requirements_through_a_symbolic_link_are_refused(tmp_path: Path) -> None:
    directory = managed_dir(tmp_path)
    target = write_requirements(directory)
    link = directory / "link.toml"
    link.symlink_to(target)

    with pytest.raises(PolicyError, match=r"it is a symbolic link"):
        load(tmp_path, link)


@needs_root
def test_root_owned_requirements_are_accepted_and_bound(tmp_path: Path) -> None:
    path = write_requirements(managed_dir(tmp_path))

    policy = load(tmp_path, path)

    assert policy.sandbox_mode is SandboxMode.READ_ONLY
    assert policy.sources == (str(path),)
    assert policy.origins["sandbox.mode"] == str(path)


@needs_root
def test_root_owned_requirements_refuse_a_looser_user_choice(tmp_path: Path) -> None:
    path = write_requirements(managed_dir(tmp_path))
    user = tmp_path / "cfg" / "corral" / "policy.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[sandbox]\nmode = 'full-access'\n")

    with pytest.raises(PolicyError, match=rf"{user}: sandbox\.mode .* \({path}: "):
        load(tmp_path, path)
