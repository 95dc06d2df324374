"""git's subcommands that read history, list refs, or keep configuration.

``git log`` and ``git branch`` read (``git-read``), unless an option makes them
run a program or change what they list.  The repository's own config stays
read-only whatever is approved, so writing it (``git config``, ``remote add``,
``branch -u``) is a ``protected-write``.  `GitCall` is shared by every
subcommand's handler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from corral._record import Record
from corral.approvals._model import Category, Word
from corral.approvals.catalog._base import (
    Argv,
    Options,
    Parsed,
    Sink,
    parse_options,
    spec,
)

__all__ = [
    "CONFIG_READ_ONLY",
    "EVERYTHING",
    "READ_HANDLERS",
    "GitCall",
    "GitHandler",
    "fixed",
]

_READ = Category.GIT_READ
_WRITE = Category.GIT_WRITE
_REMOTE = Category.GIT_REMOTE
_DESTRUCTIVE = Category.DESTRUCTIVE
_OVERRIDE = Category.EXEC_OVERRIDE
_PROTECTED = Category.PROTECTED_WRITE
CONFIG_READ_ONLY = "writes the repository's config (.git/config), which stays read-only"
_CONFIG = CONFIG_READ_ONLY

EVERYTHING = frozenset({".", "./", ":/", ":(top)", "*", ":/*"})


class GitCall(Record):
    """One git command: its words, where the subcommand is, and ``-C DIR``."""

    __slots__ = ("sink", "argv", "at", "cwd")  # noqa: RUF023 (as their repr shows them)
    sink: Sink
    argv: Argv
    at: int
    cwd: Word | None

    def __init__(self, sink: Sink, argv: Argv, at: int, cwd: Word | None) -> None:
        self._init(sink=sink, argv=argv, at=at, cwd=cwd)

    @property
    def name(self) -> str:
        """The subcommand as written."""
        return self.argv[self.at].text

    @property
    def args(self) -> Argv:
        """The words after the subcommand."""
        return self.argv[self.at + 1 :]

    def emit(self, category: Category, what: str, *, git_write: bool = False) -> None:
        """Report ``git SUBCOMMAND what``."""
        self.sink.emit(
            self.argv, category, f"git {self.name} {what}", git_write=git_write
        )

    def parse(self, options: Options) -> Parsed:
        """The subcommand's options and operands."""
        return parse_options(self.args, options)

    def write(self, target: Word, *, verb: str = "writes") -> Category | None:
        """Judge a path the subcommand writes, from git's directory (``-C``)."""
        return self.sink.write(self.argv, target, verb=verb, cwd=self.cwd)

    def sub(self) -> str | None:
        """The first operand after the subcommand (``stash pop``), if any."""
        return next((w.text for w in self.args if not w.text.startswith("-")), None)


GitHandler = Callable[[GitCall], None]


def fixed(category: Category, what: str) -> GitHandler:
    """A subcommand that does one thing whatever its arguments."""
    git_write = category in (_WRITE, _DESTRUCTIVE)

    def handle(call: GitCall) -> None:
        call.emit(category, what, git_write=git_write)

    return handle


# -- reading history -----------------------------------------------------------

# diff, log, show: options that make them write a file or run a program.
_HISTORY = spec(
    "--output -O --format --pretty -L -G -S --grep --author --since --until",
    "",
    "--ext-diff --open-files-in-pager --textconv --no-textconv --color",
)


def _history(call: GitCall) -> None:
    """diff, log, show, grep: reads, unless told to run an external tool.

    ``--textconv`` is left a read: textconv drivers are named only in git
    config (read-only in the repository, outside the workspace otherwise), and
    ``git diff`` applies them by default already, so the option selects no
    program a command could name.
    """
    parsed = call.parse(_HISTORY)
    if parsed.has("--ext-diff"):
        call.emit(
            _OVERRIDE, "--ext-diff runs the external diff program configured or named"
        )
    if call.name == "grep" and parsed.has("-O", "--open-files-in-pager"):
        call.emit(
            _OVERRIDE, "-O opens the matches in a pager, which can be any program"
        )
    for target in parsed.values("--output"):
        call.write(target)
    call.emit(_READ, "reads the repository's history")


def _listing(
    *,
    writes: Mapping[str, tuple[Category, str]],
    lists: frozenset[str],
    options: Options,
    create: tuple[Category, str],
) -> GitHandler:
    """branch, tag: listing forms read; options that write say what they do."""

    def handle(call: GitCall) -> None:
        parsed = call.parse(options)
        names = {name for name, _ in parsed.options}
        for option, (category, what) in writes.items():
            if option in names:
                call.emit(category, what, git_write=category is not _PROTECTED)
                return
        if not parsed.operands or names & lists:
            call.emit(_READ, "lists what the repository holds")
        else:
            category, what = create
            call.emit(category, what, git_write=True)

    return handle


_BRANCH = spec(
    "--contains --no-contains --merged --no-merged --points-at --format --sort -u "
    "--set-upstream-to",
    "-d --delete -D -m --move -M -c --copy -C -f --force -l --list -a --all -r "
    "--remotes -v -vv --show-current --unset-upstream --edit-description "
    "--no-track --create-reflog -q --quiet -i --ignore-case",
    "-t --track --abbrev --color --column",
)
_branch = _listing(
    writes={
        "-D": (_DESTRUCTIVE, "-D deletes a branch whether or not it is merged"),
        "-f": (_DESTRUCTIVE, "-f resets a branch that exists, which can lose commits"),
        "--force": (
            _DESTRUCTIVE,
            "--force resets a branch that exists, which can lose commits",
        ),
        "-M": (_DESTRUCTIVE, "-M renames a branch over one that exists"),
        "-C": (_DESTRUCTIVE, "-C copies a branch over one that exists"),
        "-d": (_WRITE, "-d deletes a merged branch"),
        "--delete": (_WRITE, "--delete deletes a merged branch"),
        "-u": (_PROTECTED, f"-u {_CONFIG}"),
        "--set-upstream-to": (_PROTECTED, f"--set-upstream-to {_CONFIG}"),
        "--unset-upstream": (_PROTECTED, f"--unset-upstream {_CONFIG}"),
        "--edit-description": (_PROTECTED, f"--edit-description {_CONFIG}"),
        "-t": (_PROTECTED, f"--track {_CONFIG}"),
        "--track": (_PROTECTED, f"--track {_CONFIG}"),
        "-m": (_WRITE, "-m renames a branch"),
        "--move": (_WRITE, "--move renames a branch"),
        "-c": (_WRITE, "-c copies a branch"),
        "--copy": (_WRITE, "--copy copies a branch"),
    },
    lists=frozenset(
        {
            "-l",
            "--list",
            "-a",
            "--all",
            "-r",
            "--remotes",
            "--show-current",
            "--contains",
            "--no-contains",
            "--merged",
            "--no-merged",
            "--points-at",
        }
    ),
    options=_BRANCH,
    create=(_WRITE, "creates a branch"),
)

_TAG = spec(
    "-m --message -F --file -u --local-user --contains --no-contains --merged "
    "--no-merged --points-at --format --sort --cleanup",
    "-a --annotate -s --sign -d --delete -f --force -l --list -v --verify "
    "-i --ignore-case --no-sign -e --edit",
    "-n --column --color",
)
_tag = _listing(
    writes={
        "-d": (_DESTRUCTIVE, "-d deletes tags"),
        "--delete": (_DESTRUCTIVE, "--delete deletes tags"),
        "-f": (_DESTRUCTIVE, "-f moves a tag that exists"),
        "--force": (_DESTRUCTIVE, "--force moves a tag that exists"),
        "-v": (_READ, "-v verifies tags"),
        "--verify": (_READ, "--verify verifies tags"),
    },
    lists=frozenset(
        {
            "-l",
            "--list",
            "-n",
            "--contains",
            "--no-contains",
            "--merged",
            "--no-merged",
            "--points-at",
        }
    ),
    options=_TAG,
    create=(_WRITE, "creates a tag"),
)


def _by_sub(table: Mapping[str, tuple[Category, str]], default: str) -> GitHandler:
    """stash, notes, reflog, worktree, ...: the sub-subcommand decides."""

    def handle(call: GitCall) -> None:
        sub = call.sub() or default
        category, what = table.get(
            sub, (Category.UNKNOWN, f"{sub} is not one corral knows")
        )
        call.emit(category, what, git_write=category in (_WRITE, _DESTRUCTIVE, _REMOTE))

    return handle


_stash = _by_sub(
    {
        **dict.fromkeys(
            ("push", "save", "pop", "apply", "branch", "create", "store"),
            (_WRITE, "saves or restores uncommitted changes"),
        ),
        **dict.fromkeys(("list", "show"), (_READ, "lists saved changes")),
        **dict.fromkeys(
            ("drop", "clear"), (_DESTRUCTIVE, "deletes saved changes for good")
        ),
    },
    "push",
)
_notes = _by_sub(
    {
        **dict.fromkeys(
            ("add", "append", "copy", "edit", "merge", "remove", "prune"),
            (_WRITE, "changes notes"),
        ),
        **dict.fromkeys(("list", "show", "get-ref"), (_READ, "reads notes")),
    },
    "list",
)
_reflog = _by_sub(
    {
        **dict.fromkeys(("show", "list", "exists"), (_READ, "reads the reflog")),
        **dict.fromkeys(
            ("expire", "delete", "drop"),
            (_DESTRUCTIVE, "deletes reflog entries, which can lose commits"),
        ),
    },
    "show",
)
_sparse = _by_sub(
    {
        **dict.fromkeys(
            ("list", "check-rules"), (_READ, "reads the sparse-checkout patterns")
        ),
        **dict.fromkeys(
            ("init", "set", "add", "reapply", "disable"),
            (_WRITE, "changes which files are checked out"),
        ),
    },
    "list",
)
_lfs = _by_sub(
    {
        **dict.fromkeys(
            ("fetch", "pull", "push", "clone", "prune"),
            (_REMOTE, "transfers large files with a remote"),
        ),
        **dict.fromkeys(
            ("install", "uninstall", "update"),
            (_PROTECTED, "installs hooks into .git/hooks and changes git config"),
        ),
        **dict.fromkeys(
            ("track", "untrack"), (Category.EDIT, "changes .gitattributes")
        ),
        **dict.fromkeys(
            ("ls-files", "status", "env", "version", "logs", "pointer", "fsck"),
            (_READ, "reads large-file information"),
        ),
        "checkout": (_WRITE, "replaces pointers with large files"),
        "migrate": (_DESTRUCTIVE, "rewrites history"),
        "lock": (_REMOTE, "locks a file on the remote"),
        "unlock": (_REMOTE, "unlocks a file on the remote"),
    },
    "help",
)
_maintenance = _by_sub(
    {
        "run": (_WRITE, "repacks and tidies the repository"),
        **dict.fromkeys(
            ("start", "stop", "register", "unregister"),
            (Category.PRIVILEGE, "schedules maintenance that runs outside the sandbox"),
        ),
    },
    "run",
)


def _remote(call: GitCall) -> None:
    sub = call.sub()
    if sub is None or sub == "get-url":
        call.emit(_READ, "lists remotes")
    elif sub == "show":
        call.emit(_REMOTE, "show queries the remote")
    elif sub in ("update", "prune"):
        call.emit(
            _REMOTE, f"{sub} fetches from remotes and updates refs", git_write=True
        )
    elif sub in (
        "add",
        "rm",
        "remove",
        "rename",
        "set-url",
        "set-head",
        "set-branches",
    ):
        call.emit(_PROTECTED, f"{sub} {_CONFIG}")
    else:
        call.emit(Category.UNKNOWN, f"{sub} is not one corral knows")


def _worktree(call: GitCall) -> None:
    parsed = call.parse(
        spec("-b -B --reason --expire", "-f --force --detach --lock --orphan -q")
    )
    sub = parsed.operands[0].text if parsed.operands else "list"
    if sub == "list":
        call.emit(_READ, "lists worktrees")
    elif sub == "add":
        for target in parsed.operands[1:2]:
            call.write(target, verb="checks out into")
        call.emit(_WRITE, "add creates a worktree", git_write=True)
    elif sub == "remove" and parsed.has("-f", "--force"):
        call.emit(
            _DESTRUCTIVE,
            "remove --force deletes a worktree with its changes",
            git_write=True,
        )
    else:
        call.emit(_WRITE, f"{sub} changes worktrees", git_write=True)


_CONFIG_READS = frozenset(
    {
        "--get",
        "--get-all",
        "--get-regexp",
        "--get-urlmatch",
        "--get-color",
        "--get-colorbool",
        "-l",
        "--list",
    }
)
_CONFIG_WRITES = frozenset(
    {
        "--add",
        "--replace-all",
        "--unset",
        "--unset-all",
        "--rename-section",
        "--remove-section",
        "-e",
        "--edit",
    }
)
_CONFIG_OPTIONS = spec(
    "-f --file --blob --type --default --comment --value",
    " ".join(_CONFIG_READS | _CONFIG_WRITES)
    + " --global --system --local --worktree --show-origin --show-scope -z --null "
    "--name-only --includes --no-includes --bool --int --bool-or-int --path "
    "--expiry-date --fixed-value --all",
)


def _config(call: GitCall) -> None:
    """git config: a read, or a write of the config file it names."""
    parsed = call.parse(_CONFIG_OPTIONS)
    names = {name for name, _ in parsed.options}
    operands = [w.text for w in parsed.operands]
    verb = (
        operands[0]
        if operands
        and operands[0]
        in ("get", "list", "set", "unset", "rename-section", "remove-section", "edit")
        else None
    )
    reads = bool(names & _CONFIG_READS) or verb in ("get", "list")
    if reads or (verb is None and not names & _CONFIG_WRITES and len(operands) <= 1):
        call.emit(_READ, "reads configuration")
    elif "--global" in names:
        call.emit(
            Category.OUTSIDE_WRITE,
            "--global writes ~/.gitconfig, outside the workspace",
        )
    elif "--system" in names:
        call.emit(Category.OUTSIDE_WRITE, "--system writes the machine's git config")
    elif parsed.values("-f", "--file"):
        for target in parsed.values("-f", "--file"):
            call.write(target)
    else:
        call.emit(_PROTECTED, f"{_CONFIG} whatever is approved")


READ_HANDLERS: Mapping[str, GitHandler] = {
    **dict.fromkeys(
        ("diff", "log", "show", "grep", "whatchanged", "range-diff"), _history
    ),
    "branch": _branch,
    "tag": _tag,
    "stash": _stash,
    "notes": _notes,
    "reflog": _reflog,
    "sparse-checkout": _sparse,
    "lfs": _lfs,
    "maintenance": _maintenance,
    "remote": _remote,
    "worktree": _worktree,
    "config": _config,
}
"""Subcommands whose forms read, list or configure, with their handlers."""
