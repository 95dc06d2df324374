"""Approved git writes: git works on the repository, its instructions stay read-only.

Every case runs the real sandbox (bubblewrap, Landlock, seccomp) with
``git_write`` and checks the host's files afterwards, not the command's word.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from corral.policy import load_policy
from corral.sandbox import RunResult, Sandbox
from tests.conftest import Home

_IDENTITY = "[user]\n\tname = t\n\temail = t@example.invalid\n"


@pytest.fixture
def git_home(home: Home) -> Home:
    """The fake home, with the identity git needs to commit inside the sandbox."""
    (home.path / ".gitconfig").write_text(_IDENTITY)
    return home


def _sandbox(workspace: Path, home: Home, *, git_write: bool = True) -> Sandbox:
    env = home.env()
    policy = load_policy(workspace, environ=env)
    return Sandbox(workspace, policy, environ=env, git_write=git_write)


def _run(sandbox: Sandbox, script: str, cwd: Path | None = None) -> RunResult:
    return sandbox.run(["sh", "-c", script], cwd=cwd, capture=True)


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def _listing(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir()}


def _snapshot(gitdir: Path) -> dict[str, bytes]:
    """Return what the read-only parts of `gitdir` hold now, file by file."""
    files = [gitdir / "config", *(gitdir / "hooks").iterdir()]
    files += [*(gitdir / "info").iterdir()]
    return {str(file): file.read_bytes() for file in files}


def test_everyday_git_writes_succeed_and_reach_the_host(
    workspace: Path, git_home: Home
) -> None:
    result = _run(
        _sandbox(workspace, git_home),
        "set -e; echo more >> README; git add README; git commit -qm second; "
        "git checkout -qb topic; echo t > t.txt; git add t.txt; git commit -qm t; "
        "git tag v1; git checkout -q main; echo wip >> README; git stash -q; "
        "git merge -q --no-edit topic; git stash pop -q; git status --short",
    )
    assert result.exit_status == 0, result.stderr
    assert _git(workspace, "log", "--format=%s", "main").split() == [
        "t",
        "second",
        "first",
    ]
    assert _git(workspace, "tag").split() == ["v1"]
    assert "topic" in _git(workspace, "branch")
    assert "wip" in (workspace / "README").read_text()


def test_a_fetch_and_a_rebase_write_the_repository(
    workspace: Path, git_home: Home, tmp_path: Path
) -> None:
    upstream = tmp_path / "upstream"
    _git(tmp_path, "clone", "-q", str(workspace), str(upstream))
    (upstream / "up.txt").write_text("up\n")
    _git(upstream, "add", "up.txt")
    _git(upstream, "commit", "-qm", "upstream")
    result = _run(
        _sandbox(workspace, git_home),
        f"set -e; git fetch -q {upstream} main:upstream; echo mine > mine.txt; "
        "git add mine.txt; git commit -qm mine; git rebase -q upstream",
    )
    assert result.exit_status == 0, result.stderr
    assert _git(workspace, "log", "--format=%s").split() == [
        "mine",
        "upstream",
        "first",
    ]


def test_the_hooks_config_and_info_stay_read_only(
    workspace: Path, git_home: Home
) -> None:
    gitdir = workspace / ".git"
    before = _snapshot(gitdir)
    result = _run(
        _sandbox(workspace, git_home),
        "printf '#!/bin/sh\\ntouch pwned\\n' > .git/hooks/pre-commit; "
        "echo '[core] fsmonitor = touch pwned' >> .git/config; "
        "echo '* filter=evil' > .git/info/attributes; "
        "echo evil >> .git/info/exclude; "
        "git config user.name x; git config --add core.hooksPath /x; true",
    )
    assert result.exit_status == 0, result.stderr
    assert _snapshot(gitdir) == before
    assert not (gitdir / "info" / "attributes").exists()
    assert b"Read-only file system" in (result.stderr or b"")


def test_absent_parts_cannot_be_created_and_leave_nothing_behind(
    workspace: Path, git_home: Home
) -> None:
    """config.worktree, commondir, hooks/ and modules/ stay uncreatable."""
    gitdir = workspace / ".git"
    subprocess.run(["rm", "-rf", str(gitdir / "hooks")], check=True)
    before = _listing(gitdir)
    result = _run(
        _sandbox(workspace, git_home),
        "cat .git/commondir; echo; "
        "echo '[core] hooksPath = /x' > .git/config.worktree; "
        "echo ../evil > .git/commondir; mkdir -p .git/hooks; "
        "echo evil > .git/hooks/pre-commit; mkdir -p .git/modules/x; "
        "echo '[remote]' > .git/remotes/origin; git status --short >/dev/null",
    )
    assert result.exit_status == 0, result.stderr
    assert result.stdout == b".\n"  # the commondir placeholder: "no other directory"
    assert _listing(gitdir) == before
    assert not (gitdir / "hooks").exists()


def test_the_hosts_git_keeps_working_on_the_repository_during_a_run(
    workspace: Path, git_home: Home
) -> None:
    """The placeholders in the git directory are ones git reads as absent."""
    sandbox = _sandbox(workspace, git_home)
    ready = workspace / "ready"
    runner = threading.Thread(
        target=_run,
        args=(sandbox, "touch ready; while [ -e ready ]; do sleep 0.05; done"),
    )
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (workspace / ".git" / "commondir").read_bytes() == b"."
        assert _git(workspace, "log", "--format=%s").split() == ["first"]
        _git(workspace, "commit", "-q", "--allow-empty", "-m", "on the host")
    finally:
        ready.unlink(missing_ok=True)
        runner.join(timeout=60)
    assert not (workspace / ".git" / "commondir").exists()


def test_the_git_directory_and_its_read_only_parts_cannot_be_moved_or_replaced(
    workspace: Path, git_home: Home
) -> None:
    gitdir = workspace / ".git"
    before = _snapshot(gitdir)
    head = (gitdir / "HEAD").read_bytes()
    result = _run(
        _sandbox(workspace, git_home),
        "mv .git/hooks .git/hooks.old; rm -rf .git/hooks; rmdir .git/info; "
        "mv .git/config .git/config.old; rm -f .git/config; "
        "echo '[core] fsmonitor = evil' > cfg; mv -f cfg .git/config; "
        "ln -sfn /elsewhere .git/hooks; ln -sf ../cfg .git/config; "
        "ln -s ../evil .git/config.worktree; ln -s . .git/commondir; "
        "mv .git .git2 && mkdir .git; "
        "mkdir -p evil/.git/hooks && mv evil/.git .git; true",
    )
    assert result.exit_status == 0, result.stderr
    assert _snapshot(gitdir) == before
    assert (gitdir / "HEAD").read_bytes() == head
    assert not (workspace / ".git2").exists()
    assert not (gitdir / "hooks").is_symlink()
    assert not (gitdir / "config.worktree").exists()


def test_a_link_to_a_read_only_part_writes_nothing(
    workspace: Path, git_home: Home
) -> None:
    gitdir = workspace / ".git"
    before = _snapshot(gitdir)
    result = _run(
        _sandbox(workspace, git_home),
        "ln -s .git/hooks h && echo evil > h/pre-push; "
        "ln -s .git/config c && echo evil >> c; "
        f"echo evil > /proc/self/root{gitdir}/hooks/post-checkout; "
        "ln .git/config hard && echo evil >> hard; true",
    )
    assert result.exit_status == 0, result.stderr
    assert _snapshot(gitdir) == before


def test_a_nested_repository_gets_the_same_split(
    workspace: Path, git_home: Home
) -> None:
    nested = workspace / "vendor" / "lib"
    before = _snapshot(nested / ".git")
    result = _run(
        _sandbox(workspace, git_home),
        "set -e; cd vendor/lib; git add lib.py; git commit -qm lib; "
        "echo evil > .git/hooks/pre-commit || true; "
        "echo evil >> .git/config || true; "
        "mv .git .git.old || true; mv ../lib ../lib.old || true",
    )
    assert result.exit_status == 0, result.stderr
    assert _git(nested, "log", "--format=%s").split() == ["lib"]
    assert _snapshot(nested / ".git") == before
    assert not (nested / ".git.old").exists()
    assert not (workspace / "vendor" / "lib.old").exists()


def _add_submodule(workspace: Path, tmp_path: Path) -> Path:
    """Add a submodule at ``sub``, cloned without hard links, and commit it."""
    upstream = tmp_path / "sub-upstream"
    upstream.mkdir()
    _git(upstream, "init", "-q", "-b", "main")
    _git(upstream, "commit", "-q", "--allow-empty", "-m", "sub first")
    _git(
        workspace,
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        f"file://{upstream}",
        "sub",
    )
    _git(workspace, "commit", "-qm", "add sub")
    return workspace / ".git" / "modules" / "sub"


def test_a_submodule_git_directory_gets_the_same_split(
    workspace: Path, git_home: Home, tmp_path: Path
) -> None:
    module = _add_submodule(workspace, tmp_path)
    before = _snapshot(module)
    modules = _listing(workspace / ".git" / "modules")
    result = _run(
        _sandbox(workspace, git_home),
        "set -e; cd sub; echo s > s.txt; git add s.txt; git commit -qm sub; cd ..; "
        "echo evil > .git/modules/sub/hooks/post-checkout || true; "
        "echo evil >> .git/modules/sub/config || true; "
        "mv .git/modules/sub .git/modules/old || true; "
        "cp -a .git/modules/sub .git/modules/planted || true",
    )
    assert result.exit_status == 0, result.stderr
    log = _git(workspace / "sub", "log", "--format=%s").splitlines()
    assert log == ["sub", "sub first"]
    assert _snapshot(module) == before
    assert _listing(workspace / ".git" / "modules") == modules


def test_a_linked_worktree_in_the_workspace_commits_but_keeps_its_pointers(
    workspace: Path, git_home: Home
) -> None:
    """Its admin directory cannot be moved aside and replaced by a planted one."""
    _git(workspace, "worktree", "add", "-q", "wt", "-b", "side")
    admin = workspace / ".git" / "worktrees" / "wt"
    pointers = {name: (admin / name).read_bytes() for name in ("commondir", "gitdir")}
    result = _run(
        _sandbox(workspace, git_home),
        "set -e; cd wt; git commit -q --allow-empty -m side; cd ..; "
        "echo /evil > .git/worktrees/wt/commondir || true; "
        "echo /evil > .git/worktrees/wt/gitdir || true; "
        "mv .git/worktrees .git/worktrees.old || true; "
        "mv .git/worktrees/wt .git/worktrees/wt.old || true",
    )
    assert result.exit_status == 0, result.stderr
    assert _git(workspace, "log", "--format=%s", "side").split() == ["side", "first"]
    assert {name: (admin / name).read_bytes() for name in pointers} == pointers
    assert _listing(workspace / ".git" / "worktrees") == {"wt"}


def test_git_directories_outside_the_workspace_stay_read_only_and_are_named(
    workspace: Path, git_home: Home
) -> None:
    """A linked worktree as the workspace: its git directories lie elsewhere."""
    tree = workspace.parent / "outside-wt"
    _git(workspace, "worktree", "add", "-q", str(tree), "-b", "elsewhere")
    sandbox = _sandbox(tree, git_home)
    result = _run(sandbox, "git commit -q --allow-empty -m nope")
    assert result.exit_status != 0
    assert _git(workspace, "log", "--format=%s", "elsewhere").split() == ["first"]
    admin = workspace / ".git" / "worktrees" / "outside-wt"
    assert set(result.read_only_git_dirs) == {str(admin), str(workspace / ".git")}
    assert all(
        "outside the workspace" in why for why in result.read_only_git_dirs.values()
    )


def test_a_git_directory_with_linked_hooks_stays_read_only_and_is_named(
    workspace: Path, git_home: Home
) -> None:
    """A command could replace the link itself, which is no mount point."""
    hooks = workspace / ".git" / "hooks"
    subprocess.run(["rm", "-rf", str(hooks)], check=True)
    (workspace / "githooks").mkdir()
    hooks.symlink_to("../githooks")
    result = _run(_sandbox(workspace, git_home), "git commit -q --allow-empty -m x")
    assert result.exit_status != 0
    assert "hooks is a symbolic link" in result.read_only_git_dirs[str(hooks.parent)]
    assert _git(workspace, "log", "--format=%s").split() == ["first"]


def test_a_rebase_left_with_commands_to_run_is_named(
    workspace: Path, git_home: Home
) -> None:
    """``git rebase --continue`` on the host would run what its todo list says."""
    _git(workspace, "commit", "-q", "--allow-empty", "-m", "second")
    _git(workspace, "commit", "-q", "--allow-empty", "-m", "third")
    result = _run(
        _sandbox(workspace, git_home),
        "git rebase -q --exec false HEAD~2 >/dev/null 2>&1; true",
    )
    todo = workspace / ".git" / "rebase-merge" / "git-rebase-todo"
    assert "exec false" in todo.read_text()
    assert result.exec_todos == [str(todo)]


def test_without_git_write_a_commit_still_fails(
    workspace: Path, git_home: Home
) -> None:
    sandbox = _sandbox(workspace, git_home, git_write=False)
    result = _run(sandbox, "echo more >> README; git commit -qam second")
    assert result.exit_status != 0
    assert b"Read-only file system" in (result.stderr or b"")
    assert _git(workspace, "log", "--format=%s").split() == ["first"]
    assert result.profile["git_write"] is False


def test_the_profile_records_whether_git_writes_were_approved(
    workspace: Path, git_home: Home
) -> None:
    assert _sandbox(workspace, git_home).profile.summary()["git_write"] is True
    assert _run(_sandbox(workspace, git_home), "true").profile["git_write"] is True


def test_a_refused_write_names_the_read_only_part_not_the_whole_git_directory(
    workspace: Path, git_home: Home
) -> None:
    """The agent learns that git writes are open and only the hooks are not."""
    result = _run(_sandbox(workspace, git_home), "echo x > .git/hooks/pre-commit")
    assert result.exit_status != 0
    assert [(r.kind, r.path) for r in result.refusals] == [
        ("protected-write", ".git/hooks/pre-commit")
    ]
    assert "protected path .git/hooks," in result.refusals[0].message
