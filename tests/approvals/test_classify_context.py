"""The context a command is classified against: what is writable, protected and
hidden, resolved on this host as the sandbox will see it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from corral._state import state_dir
from corral.approvals._context import PRIVATE_DIRS, make_context, resolve_path
from corral.policy import Policy, load_policy
from tests.conftest import Home


@pytest.fixture
def policy(workspace: Path, home: Home) -> Policy:
    return load_policy(workspace, environ=home.env())


def test_the_home_comes_from_the_environment(
    policy: Policy, workspace: Path, home: Home
) -> None:
    context = make_context(policy, workspace, workspace, home.env())
    assert context.home == home.path


def test_writable_directories_are_the_workspace_roots_and_private_dirs(
    policy: Policy, workspace: Path, home: Home, tmp_path: Path
) -> None:
    (tmp_path / "cache").mkdir()
    (home.path / "build").mkdir()
    roots = (str(tmp_path / "cache"), "~/build")
    context = make_context(
        replace(policy, writable_roots=roots), workspace, workspace, home.env()
    )
    assert context.is_writable(workspace / "src" / "new.py")
    assert context.is_writable(tmp_path / "cache" / "x")
    assert context.is_writable(home.path / "build" / "x")
    for private in PRIVATE_DIRS:
        assert context.is_writable(Path(private) / "x")
    assert not context.is_writable(home.path / ".bashrc")
    assert not context.is_writable(Path("/etc/passwd"))
    assert not context.is_writable(workspace.parent / "sibling")


def test_protected_paths_are_the_policy_s_and_every_git_directory(
    policy: Policy, workspace: Path, home: Home
) -> None:
    context = make_context(policy, workspace, workspace, home.env())
    assert context.is_protected(workspace / ".git" / "hooks" / "pre-commit")
    assert context.is_protected(workspace / "vendor" / "lib" / ".git" / "config")
    assert context.is_protected(workspace / "deep" / "new" / ".git")
    assert context.is_protected(workspace / ".corral" / "policy.toml")
    assert context.is_protected(workspace / ".envrc")
    assert not context.is_protected(workspace / ".gitignore")
    assert not context.is_protected(workspace / "src" / ".envrc")
    assert not context.is_protected(workspace / "src" / "app.py")


def test_hidden_paths_are_the_policy_s_and_corral_s_state(
    policy: Policy, workspace: Path, home: Home
) -> None:
    environ = home.env()
    context = make_context(policy, workspace, workspace, environ)
    assert context.is_hidden(home.path / ".ssh" / "id_ed25519")
    assert context.is_hidden(home.path / ".aws")
    assert context.is_hidden(state_dir(environ) / "events.jsonl")
    assert not context.is_hidden(home.path / ".bashrc")
    assert not context.is_hidden(workspace / "README")


def test_a_hidden_path_is_hidden_by_the_name_it_links_to(
    policy: Policy, workspace: Path, home: Home, tmp_path: Path
) -> None:
    real = tmp_path / "kube-real"
    real.mkdir()
    (home.path / ".kube").symlink_to(real)
    context = make_context(policy, workspace, workspace, home.env())
    assert context.is_hidden(home.path / ".kube" / "config")
    assert context.is_hidden(real / "config")


def test_the_predicates_resolve_what_they_are_given(
    policy: Policy, workspace: Path, home: Home
) -> None:
    (workspace / "keys").symlink_to(home.path / ".ssh")
    (workspace / "hooks").symlink_to(workspace / ".git" / "hooks")
    context = make_context(policy, workspace, workspace, home.env())
    assert context.is_hidden(workspace / "keys" / "id_ed25519")
    assert context.is_protected(workspace / "hooks" / "pre-commit")
    assert context.is_protected("src/../.git/config")
    assert not context.is_writable(workspace / "keys" / "new")


def test_the_cwd_is_resolved(policy: Policy, workspace: Path, home: Home) -> None:
    (workspace / "link").symlink_to(workspace / "src")
    context = make_context(policy, workspace, workspace / "link", home.env())
    assert context.cwd == workspace / "src"


def test_paths_are_shown_as_a_person_reads_them(
    policy: Policy, workspace: Path, home: Home
) -> None:
    context = make_context(policy, workspace, workspace, home.env())
    assert context.shown(str(workspace / "src" / "app.py")) == "src/app.py"
    assert context.shown(str(workspace)) == "the workspace root"
    assert context.shown(str(home.path / ".ssh")) == "~/.ssh"
    assert context.shown("/etc/passwd") == "/etc/passwd"


def test_resolving_follows_links_of_the_existing_prefix(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "rel").symlink_to("real")
    base = str(tmp_path)
    assert resolve_path("link/new/file", base) == f"{base}/real/new/file"
    assert resolve_path("rel/x", base) == f"{base}/real/x"
    assert resolve_path("./a/../real/./x", base) == f"{base}/real/x"
    assert resolve_path("missing/../x", base) == f"{base}/x"
    assert resolve_path("/", base) == "/"
    assert resolve_path("/..", base) == "/"


def test_resolving_stops_at_a_link_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert resolve_path("a/x", str(tmp_path)).endswith("/x")
