"""git is sorted by what each subcommand does to the repository, and by the
options and configuration that make it run other programs."""

from __future__ import annotations

import pytest

from corral.approvals import Category
from tests.approvals.classify_support import Classifier, case, check, only, shown

C = Category


READS = [
    "status",
    "diff",
    "diff --stat HEAD~1",
    "diff --cached",
    "log --oneline -5",
    "log -p --textconv",
    "show HEAD",
    "blame README",
    "grep main",
    "rev-parse HEAD",
    "ls-files",
    "ls-tree HEAD",
    "cat-file -p HEAD",
    "describe --tags",
    "shortlog -sn",
    "reflog",
    "reflog show",
    "branch",
    "branch -a",
    "branch --list 'f*'",
    "branch -vv",
    "branch --show-current",
    "tag",
    "tag -l 'v*'",
    "stash list",
    "stash show -p",
    "remote",
    "remote -v",
    "remote get-url origin",
    "worktree list",
    "config --get user.name",
    "config --list",
    "config -l --show-origin",
    "config user.name",
    "config get user.name",
    "for-each-ref refs/heads",
    "show-ref",
    "merge-base HEAD main",
    "check-ignore x",
    "version",
    "help log",
    "-C vendor/lib status",
    "--no-pager log",
    "-P diff",
    "--no-optional-locks status",
    "--literal-pathspecs status",
    "--git-dir=.git log",
    "--work-tree=. status",
    "--namespace=x log",
    "-c color.ui=always diff",
    "-c core.quotepath=off status",
    "-c pager.log=false log",
    "submodule status",
    "notes list",
    "sparse-checkout list",
    "clean -n",
    "apply --check x.patch",
]


@pytest.mark.parametrize("args", READS, ids=[f"git {a} reads" for a in READS])
def test_git_reads(classifier: Classifier, args: str) -> None:
    findings = classifier.text(f"git {args}")
    assert {f.category for f in findings} == {C.GIT_READ}, shown(findings)
    assert not any(f.git_write for f in findings)


WRITES = [
    "add .",
    "stage README",
    "commit -m 'a change'",
    "commit --amend --no-edit",
    "-c user.name=t -c user.email=t@x commit -m x",
    "checkout -b feature",
    "checkout main",
    "checkout -- README",
    "switch feature",
    "switch -c feature",
    "restore README",
    "restore --staged .",
    "branch feature",
    "branch -m old new",
    "branch -d merged",
    "merge feature",
    "rebase main",
    "rebase -i HEAD~3",
    "tag v1",
    "tag -a v1 -m release",
    "stash",
    "stash push -m x",
    "stash pop",
    "stash apply",
    "cherry-pick abc",
    "revert abc",
    "rm README",
    "mv README R",
    "init",
    "am x.patch",
    "apply --index x.patch",
    "apply --cached x.patch",
    "notes add -m x",
    "update-index --assume-unchanged README",
    "gc",
    "sparse-checkout set src",
    "reset HEAD~1",
    "reset --soft HEAD~1",
    "worktree add wt",
    "bisect start",
    "update-ref refs/heads/x HEAD",
]


@pytest.mark.parametrize("args", WRITES, ids=[f"git {a} writes" for a in WRITES])
def test_git_writes(classifier: Classifier, args: str) -> None:
    findings = classifier.text(f"git {args}")
    writes = [f for f in findings if f.category is C.GIT_WRITE]
    assert writes, shown(findings)
    assert all(f.git_write for f in writes), shown(findings)
    assert not {f.category for f in findings} & {C.EXEC_OVERRIDE, C.DESTRUCTIVE}


REMOTES = [
    ("fetch", True),
    ("fetch --all --prune", True),
    ("pull", True),
    ("pull --rebase origin main", True),
    ("push", True),
    ("push origin main", True),
    ("clone https://example.invalid/r.git", True),
    ("clone https://example.invalid/r.git sub/dir", True),
    ("ls-remote origin", False),
    ("ls-remote --upload-pack=x origin", False),
    ("remote update", True),
    ("remote show origin", False),
    ("submodule update", True),
    ("fetch --dry-run", False),
]


@pytest.mark.parametrize(
    ("args", "git_write"),
    REMOTES,
    ids=[f"git {a} talks to a remote" for a, _ in REMOTES],
)
def test_git_remotes(classifier: Classifier, args: str, git_write: bool) -> None:
    findings = classifier.text(f"git {args}")
    remote = [f for f in findings if f.category is C.GIT_REMOTE]
    assert remote, shown(findings)
    assert remote[0].git_write is git_write, shown(findings)


def test_a_clone_outside_the_workspace_writes_outside(classifier: Classifier) -> None:
    findings = classifier.text("git clone https://example.invalid/r.git /opt/r")
    assert C.OUTSIDE_WRITE in {f.category for f in findings}, shown(findings)
    assert not any(f.git_write for f in findings if f.category is C.GIT_REMOTE)


OTHERS = [
    case("git reset --hard HEAD~3", C.DESTRUCTIVE, why="reset --hard"),
    case("git clean -f", C.DESTRUCTIVE, why="clean -f"),
    case("git clean -fdx", C.DESTRUCTIVE, why="clean -fdx"),
    case("git clean -xdf", C.DESTRUCTIVE, why="clean -xdf"),
    case("git push --force", C.DESTRUCTIVE, C.GIT_REMOTE, why="push --force"),
    case("git push -f origin main", C.DESTRUCTIVE, why="push -f"),
    case("git push --force-with-lease", C.DESTRUCTIVE, why="push --force-with-lease"),
    case("git push --mirror", C.DESTRUCTIVE, why="push --mirror"),
    case("git push --delete origin x", C.DESTRUCTIVE, why="push --delete"),
    case("git push origin :x", C.DESTRUCTIVE, why="push :ref deletes"),
    case("git push origin +main", C.DESTRUCTIVE, why="push +ref forces"),
    case("git branch -D x", C.DESTRUCTIVE, why="branch -D"),
    case("git branch -df x", C.DESTRUCTIVE, why="branch -d -f"),
    case("git checkout -f main", C.DESTRUCTIVE, why="checkout -f"),
    case("git checkout -- .", C.DESTRUCTIVE, why="checkout -- ."),
    case("git checkout .", C.DESTRUCTIVE, why="checkout ."),
    case("git restore .", C.DESTRUCTIVE, why="restore ."),
    case("git switch --discard-changes main", C.DESTRUCTIVE, why="switch discarding"),
    case("git filter-branch --tree-filter 'rm x' HEAD", C.DESTRUCTIVE, why="filter"),
    case("git filter-repo --path x", C.DESTRUCTIVE, why="filter-repo"),
    case("git reflog expire --expire=now --all", C.DESTRUCTIVE, why="reflog expire"),
    case("git reflog delete HEAD@{1}", C.DESTRUCTIVE, why="reflog delete"),
    case("git stash drop", C.DESTRUCTIVE, why="stash drop"),
    case("git stash clear", C.DESTRUCTIVE, why="stash clear"),
    case("git update-ref -d refs/heads/x", C.DESTRUCTIVE, why="update-ref -d"),
    case("git tag -d v1", C.DESTRUCTIVE, why="tag -d"),
    case("git gc --prune=now", C.DESTRUCTIVE, why="gc --prune=now"),
    case("git -c core.pager=sh log", C.EXEC_OVERRIDE, C.GIT_READ, why="-c core.pager"),
    case("git -c core.pager='sh -c id' log", C.EXEC_OVERRIDE, why="-c a pager command"),
    case("git -c 'alias.x=!sh' x", C.EXEC_OVERRIDE, why="-c an alias"),
    case("git -c core.sshCommand=x fetch", C.EXEC_OVERRIDE, why="-c core.sshCommand"),
    case("git -c include.path=x status", C.EXEC_OVERRIDE, why="-c include.path"),
    case("git -c pager.log=less log", C.EXEC_OVERRIDE, why="-c pager.log=command"),
    case("git --config-env=core.pager=P log", C.EXEC_OVERRIDE, why="--config-env"),
    case("git --exec-path=/tmp/x status", C.EXEC_OVERRIDE, why="--exec-path=PATH"),
    case("git diff --ext-diff", C.EXEC_OVERRIDE, why="diff --ext-diff"),
    case("git log -p --ext-diff", C.EXEC_OVERRIDE, why="log --ext-diff"),
    case("git difftool", C.EXEC_OVERRIDE, why="difftool"),
    case("git mergetool", C.EXEC_OVERRIDE, why="mergetool"),
    case("git grep -O foo", C.EXEC_OVERRIDE, why="grep -O"),
    case("git grep --open-files-in-pager foo", C.EXEC_OVERRIDE, why="grep pager"),
    case("git rebase -x 'make test' main", C.EXEC_OVERRIDE, C.TEST_BUILD, why="-x"),
    case("git rebase --exec 'sudo id' main", C.PRIVILEGE, why="rebase --exec inner"),
    case("git fetch --upload-pack=x", C.EXEC_OVERRIDE, why="fetch --upload-pack"),
    case("git clone --template=t u", C.EXEC_OVERRIDE, why="clone --template"),
    case("git clone -u x u", C.EXEC_OVERRIDE, why="clone -u"),
    case("git clone -c core.hooksPath=h u", C.EXEC_OVERRIDE, why="clone -c"),
    case("git clone 'ext::sh -c x' d", C.EXEC_OVERRIDE, why="clone ext::"),
    case("git config user.name x", C.PROTECTED_WRITE, why="config writes the repo's"),
    case("git config --local a.b c", C.PROTECTED_WRITE, why="config --local"),
    case("git config --add a.b c", C.PROTECTED_WRITE, why="config --add"),
    case("git config --unset a.b", C.PROTECTED_WRITE, why="config --unset"),
    case("git config set a.b c", C.PROTECTED_WRITE, why="config set"),
    case("git config -f .git/config a.b c", C.PROTECTED_WRITE, why="config -f .git"),
    case("git remote add o u", C.PROTECTED_WRITE, why="remote add"),
    case("git remote set-url origin u", C.PROTECTED_WRITE, why="remote set-url"),
    case("git branch -u origin/x", C.PROTECTED_WRITE, why="branch -u"),
    case("git push -u origin x", C.PROTECTED_WRITE, C.GIT_REMOTE, why="push -u"),
    case("git checkout --track origin/x", C.PROTECTED_WRITE, why="checkout --track"),
    case("git submodule init", C.PROTECTED_WRITE, why="submodule init"),
    case("git submodule update --init", C.PROTECTED_WRITE, why="submodule --init"),
    case("git lfs install", C.PROTECTED_WRITE, why="lfs install"),
    case("git config --global a.b c", C.OUTSIDE_WRITE, why="config --global"),
    case("git config --system a.b c", C.OUTSIDE_WRITE, why="config --system"),
    only("git config -f other.cfg a.b c", C.EDIT, why="config -f a workspace file"),
    case(
        "git worktree add ../wt", C.OUTSIDE_WRITE, C.GIT_WRITE, why="worktree outside"
    ),
    case("git frobnicate", C.UNKNOWN, why="a subcommand that may be an alias"),
    case("git --frob status", C.UNKNOWN, why="a global option corral does not know"),
    case("git $SUB", C.UNMODELLED, why="a subcommand computed at run time"),
    case("git submodule foreach 'sudo id'", C.PRIVILEGE, why="submodule foreach"),
    case("git bisect run sudo id", C.PRIVILEGE, C.GIT_WRITE, why="bisect run"),
    case("git maintenance start", C.PRIVILEGE, why="maintenance scheduling"),
    case("git credential fill", C.SECRET, why="credential fill"),
    case("git format-patch -o /etc HEAD~1", C.OUTSIDE_WRITE, why="format-patch -o"),
    case("git bundle create /etc/b HEAD", C.OUTSIDE_WRITE, why="bundle create"),
    case(
        "git bundle create -q .git/hooks/x HEAD",
        C.PROTECTED_WRITE,
        why="bundle create into a protected path",
    ),
    case("git bundle create b HEAD", C.EDIT, why="bundle create in the workspace"),
    only("git bundle verify b", C.GIT_READ, why="bundle verify reads"),
    case("git log --output=/etc/x", C.OUTSIDE_WRITE, why="log --output"),
    case("git apply x.patch", C.EDIT, why="apply to the work tree"),
    case("git -C /tmp/x init", C.GIT_WRITE, why="init with -C"),
]


@pytest.mark.parametrize(("line", "has", "without"), OTHERS)
def test_git_subcommands_and_options(
    classifier: Classifier,
    line: str,
    has: frozenset[Category],
    without: frozenset[Category],
) -> None:
    check(classifier.text(line), has, without)


def test_git_push_says_what_it_does(classifier: Classifier) -> None:
    (finding,) = classifier.text("git push")
    assert finding.reason == "git push sends commits to a remote"


def test_a_config_write_says_the_config_stays_read_only(classifier: Classifier) -> None:
    (finding,) = classifier.text("git config core.hooksPath x")
    assert "stays read-only" in finding.reason
