"""git's subcommands that change the repository, talk to remotes, or destroy.

Changes to the repository are ``git-write`` (and need its git directory
writable, ``git_write``); talking to a remote is ``git-remote``; what loses
history or uncommitted work is ``destructive``.  `SUBCOMMANDS` maps every git
subcommand corral knows to its handler.
"""

from __future__ import annotations

from collections.abc import Mapping

from corral.approvals._model import Category, Word
from corral.approvals.catalog._base import Parsed, parse_options, spec
from corral.approvals.catalog._git_config import config_runs_programs
from corral.approvals.catalog._git_read import (
    CONFIG_READ_ONLY,
    EVERYTHING,
    READ_HANDLERS,
    GitCall,
    GitHandler,
    fixed,
)

__all__ = ["SUBCOMMANDS"]

_READ = Category.GIT_READ
_WRITE = Category.GIT_WRITE
_REMOTE = Category.GIT_REMOTE
_DESTRUCTIVE = Category.DESTRUCTIVE
_OVERRIDE = Category.EXEC_OVERRIDE
_PROTECTED = Category.PROTECTED_WRITE
_CONFIG = CONFIG_READ_ONLY


def _pathspecs(call: GitCall, parsed: Parsed) -> list[str]:
    texts = [w.text for w in call.args]
    after = texts[texts.index("--") + 1 :] if "--" in texts else []
    return after or [w.text for w in parsed.operands]


_CHECKOUT = spec(
    "-b -B --orphan --conflict --pathspec-from-file",
    "-f --force -m --merge -p --patch -q --quiet --detach --no-track --ours --theirs "
    "--overlay --no-overlay -l --progress",
    "-t --track --recurse-submodules",
)


def _checkout(call: GitCall) -> None:
    parsed = call.parse(_CHECKOUT)
    if parsed.has("-f", "--force"):
        call.emit(_DESTRUCTIVE, "--force discards uncommitted changes", git_write=True)
    elif set(_pathspecs(call, parsed)) & EVERYTHING and not parsed.has(
        "-b", "-B", "--orphan"
    ):
        call.emit(
            _DESTRUCTIVE,
            "-- . discards uncommitted changes to every file",
            git_write=True,
        )
    elif parsed.has("-t", "--track"):
        call.emit(_PROTECTED, f"--track {_CONFIG}")
    else:
        call.emit(_WRITE, "switches branches or restores files", git_write=True)


def _switch(call: GitCall) -> None:
    parsed = call.parse(
        spec(
            "-c --create -C --force-create --orphan --conflict",
            "-f --force --discard-changes -m --merge -d --detach --no-track -q "
            "--progress",
            "-t --track --guess --recurse-submodules",
        )
    )
    if parsed.has("-f", "--force", "--discard-changes"):
        call.emit(
            _DESTRUCTIVE,
            "--discard-changes discards uncommitted changes",
            git_write=True,
        )
    elif parsed.has("-t", "--track"):
        call.emit(_PROTECTED, f"--track {_CONFIG}")
    else:
        call.emit(_WRITE, "switches branches", git_write=True)


def _restore(call: GitCall) -> None:
    parsed = call.parse(
        spec(
            "-s --source --conflict --pathspec-from-file",
            "-S --staged -W --worktree -p --patch -q --ours --theirs -m --merge "
            "--overlay --no-overlay --ignore-unmerged",
        )
    )
    worktree = parsed.has("-W", "--worktree") or not parsed.has("-S", "--staged")
    if worktree and set(_pathspecs(call, parsed)) & EVERYTHING:
        call.emit(
            _DESTRUCTIVE, ". discards uncommitted changes to every file", git_write=True
        )
    else:
        call.emit(_WRITE, "restores files from the index or a commit", git_write=True)


def _reset(call: GitCall) -> None:
    if any(w.text == "--hard" for w in call.args):
        call.emit(
            _DESTRUCTIVE,
            "--hard discards uncommitted changes and moves the branch",
            git_write=True,
        )
    else:
        call.emit(_WRITE, "moves the branch or unstages changes", git_write=True)


def _clean(call: GitCall) -> None:
    parsed = call.parse(
        spec(
            "-e --exclude",
            "-d -f --force -i --interactive -n --dry-run -q --quiet -x -X",
        )
    )
    if parsed.has("-n", "--dry-run"):
        call.emit(_READ, "--dry-run lists untracked files")
    elif parsed.has("-f", "--force", "-i", "--interactive"):
        call.emit(
            _DESTRUCTIVE, "-f deletes untracked files, which git cannot bring back"
        )
    else:
        call.emit(
            _WRITE, "deletes untracked files where git is configured to without -f"
        )


_PUSH = spec(
    "--repo --receive-pack --exec -o --push-option",
    "--all --branches --mirror --tags --follow-tags --atomic -n --dry-run --porcelain "
    "--delete -d --prune -f --force -u --set-upstream -q -v --progress --no-verify "
    "--verify --thin --no-thin",
    "--force-with-lease --signed --recurse-submodules --force-if-includes",
)
_PUSH_DESTROYS = (
    "-f",
    "--force",
    "--force-with-lease",
    "--mirror",
    "--delete",
    "-d",
    "--prune",
)


def _push(call: GitCall) -> None:
    parsed = call.parse(_PUSH)
    for program in parsed.values("--receive-pack", "--exec"):
        call.emit(_OVERRIDE, f"--receive-pack runs {program.text} as the remote's git")
    refspecs = [w.text for w in parsed.operands[1:]]
    forced = [name for name, _ in parsed.options if name in _PUSH_DESTROYS]
    if forced:
        call.emit(
            _DESTRUCTIVE,
            f"{forced[0]} can overwrite or delete the remote's history",
            git_write=True,
        )
    elif any(r.startswith(("+", ":")) for r in refspecs):
        call.emit(
            _DESTRUCTIVE,
            "with a +ref or :ref refspec overwrites or deletes a remote branch",
            git_write=True,
        )
    if parsed.has("-u", "--set-upstream"):
        call.emit(_PROTECTED, f"-u {_CONFIG}")
    call.emit(
        _REMOTE,
        "sends commits to a remote",
        git_write=not parsed.has("-n", "--dry-run"),
    )


_FETCH = spec(
    "--upload-pack --depth --deepen --shallow-since --shallow-exclude --refmap -j "
    "--jobs --filter --negotiation-tip -o --server-option "
    "--recurse-submodules-default",
    "",
    "--recurse-submodules",
)


def _fetch(what: str) -> GitHandler:
    def handle(call: GitCall) -> None:
        parsed = call.parse(_FETCH)
        for program in parsed.values("--upload-pack"):
            call.emit(
                _OVERRIDE, f"--upload-pack runs {program.text} as the remote's git"
            )
        writes = call.name != "ls-remote" and not parsed.has("--dry-run", "-n")
        call.emit(_REMOTE, what, git_write=writes or call.name == "pull")

    return handle


_CLONE = spec(
    "--template -o --origin -b --branch -u --upload-pack --reference "
    "--reference-if-able --separate-git-dir --depth --shallow-since --shallow-exclude "
    "-c --config --server-option -j --jobs --filter --bundle-uri --ref-format",
    "",
    "--recurse-submodules",
)


def _clone(call: GitCall) -> None:
    """git clone URL [DIR]: a new repository, with its own config and hooks."""
    parsed = call.parse(_CLONE)
    for name, value in parsed.options:
        if name in ("--template", "-u", "--upload-pack"):
            call.emit(_OVERRIDE, f"{name} names what the new repository runs")
        elif (
            name in ("-c", "--config")
            and value is not None
            and config_runs_programs(value)
        ):
            key = value.text.partition("=")[0]
            call.emit(
                _OVERRIDE, f"{name} {key} sets configuration that can name programs"
            )
    operands = parsed.operands
    if operands and operands[0].text.startswith("ext::"):
        call.emit(_OVERRIDE, "ext:: runs a command as the transport")
    target = (
        operands[1]
        if len(operands) > 1
        else _clone_dir(operands[0])
        if operands
        else None
    )
    landed = call.write(target, verb="clones into") if target is not None else None
    what = "copies a repository from a remote"
    call.emit(_REMOTE, what, git_write=landed is Category.EDIT)


def _clone_dir(url: Word) -> Word:
    """The directory git clone makes for `url`: its last part, less ``.git``."""
    if not url.is_literal:
        return url
    name = url.text.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return Word(name.removesuffix(".git") or name)


def _rebase(call: GitCall) -> None:
    parsed = call.parse(
        spec(
            "-x --exec --onto -s --strategy -X --strategy-option --empty -C",
            "",
            "-S --gpg-sign --rebase-merges",
        )
    )
    for command in parsed.values("-x", "--exec"):
        call.emit(_OVERRIDE, "-x runs a command after each commit")
        call.sink.shell(call.argv, command, dialect="sh")
    call.emit(_WRITE, "rewrites commits onto another base", git_write=True)


def _bisect(call: GitCall) -> None:
    sub = call.sub() or "help"
    if sub in ("log", "view", "visualize", "terms", "help"):
        call.emit(_READ, f"{sub} reads the bisection")
        return
    call.emit(_WRITE, "moves HEAD to find a commit", git_write=True)
    if sub == "run":
        at = [w.text for w in call.args].index("run")
        inner = call.args[at + 1 :]
        if inner:
            call.sink.command(inner)


def _submodule(call: GitCall) -> None:
    parsed = call.parse(
        spec(
            "-b --branch --name --reference --depth -j --jobs",
            "--quiet -q --recursive --init --remote --force -f --cached",
        )
    )
    sub = parsed.operands[0].text if parsed.operands else "status"
    if sub in ("status", "summary"):
        call.emit(_READ, f"{sub} reads submodules")
    elif sub == "foreach":
        words = parsed.operands[1:]
        if words and all(w.is_literal for w in words):
            text = Word(" ".join(w.text for w in words))
            call.sink.shell(call.argv, text, dialect="sh")
        else:
            call.emit(Category.UNMODELLED, "foreach runs text only known at run time")
    elif sub == "update":
        if parsed.has("--init"):
            call.emit(_PROTECTED, f"update --init {_CONFIG}")
        call.emit(_REMOTE, "update fetches and checks out submodules", git_write=True)
    elif sub in (
        "init",
        "sync",
        "add",
        "deinit",
        "set-url",
        "set-branch",
        "absorbgitdirs",
    ):
        call.emit(_PROTECTED, f"{sub} {_CONFIG}")
    else:
        call.emit(Category.UNKNOWN, f"{sub} is not one corral knows")


def _apply(call: GitCall) -> None:
    texts = {w.text for w in call.args}
    if texts & {"--index", "--cached", "-3", "--3way", "--intent-to-add"}:
        call.emit(_WRITE, "applies a patch to the index", git_write=True)
    elif (
        texts & {"--check", "--stat", "--numstat", "--summary"}
        and "--apply" not in texts
    ):
        call.emit(_READ, "checks a patch")
    else:
        call.emit(Category.EDIT, "applies a patch to the work tree")


def _gc(call: GitCall) -> None:
    if any(
        w.text.startswith("--prune=") and w.text[8:] in ("now", "all")
        for w in call.args
    ):
        call.emit(
            _DESTRUCTIVE,
            "--prune=now deletes unreachable commits for good",
            git_write=True,
        )
    else:
        call.emit(_WRITE, "repacks the repository", git_write=True)


def _filter(call: GitCall) -> None:
    call.emit(_DESTRUCTIVE, "rewrites the repository's whole history", git_write=True)
    words = call.args
    for index, word in enumerate(words[:-1]):
        if word.text.endswith("-filter") and word.text.startswith("--"):
            call.sink.shell(call.argv, words[index + 1], dialect="sh")


def _when(
    flag: str, then: tuple[Category, str], otherwise: tuple[Category, str]
) -> GitHandler:
    """A subcommand that writes only with `flag` (``hash-object -w``)."""

    def handle(call: GitCall) -> None:
        category, what = then if any(w.text == flag for w in call.args) else otherwise
        call.emit(category, what, git_write=category in (_WRITE, _DESTRUCTIVE))

    return handle


def _output(what: str, *, stdout: str = "--stdout") -> GitHandler:
    """format-patch, archive, bundle: a file written where ``-o`` says."""

    def handle(call: GitCall) -> None:
        parsed = call.parse(
            spec("-o --output --output-directory --remote --exec --format --prefix")
        )
        if parsed.values("--remote"):
            call.emit(_REMOTE, "--remote reads an archive from a remote")
        for program in parsed.values("--exec"):
            call.emit(_OVERRIDE, f"--exec runs {program.text} as the remote's archiver")
        targets = parsed.values("-o", "--output", "--output-directory")
        for target in targets:
            call.write(target)
        if not targets and call.name == "format-patch" and not parsed.has(stdout):
            call.write(Word("."), verb="writes patch files into")
        call.emit(_READ, what)

    return handle


_BUNDLE_CREATE = spec("--version", "-q --quiet --progress --no-progress --all-progress")


def _bundle(call: GitCall) -> None:
    """bundle: ``create FILE REVS`` writes FILE (``-``: stdout); the rest read."""
    args = call.args
    if args[:1] and args[0].text == "create":
        operands = parse_options(args[1:], _BUNDLE_CREATE).operands
        if operands and operands[0].text != "-":
            call.write(operands[0])
    call.emit(_READ, "writes or reads a bundle")


def _init(call: GitCall) -> None:
    parsed = call.parse(
        spec(
            "--template --separate-git-dir -b --initial-branch --object-format "
            "--ref-format --shared",
            "-q --quiet --bare",
        )
    )
    if parsed.values("--template"):
        call.emit(_OVERRIDE, "--template names the hooks the new repository gets")
    for target in parsed.operands[:1]:
        call.write(target, verb="creates a repository in")
    call.emit(_WRITE, "creates a repository", git_write=True)


_READS = (
    "status blame annotate rev-parse rev-list ls-files ls-tree cat-file describe "
    "shortlog name-rev for-each-ref show-ref merge-base check-ignore check-attr "
    "check-ref-format check-mailmap version help var count-objects cherry "
    "show-branch diff-tree diff-files diff-index get-tar-commit-id column "
    "stripspace verify-commit verify-tag verify-pack patch-id show-index fast-export "
    "request-pull fsck"
)
_WRITES = (
    "add stage commit merge cherry-pick revert rm mv am update-index replace "
    "commit-tree mktree mktag read-tree write-tree unpack-objects index-pack "
    "pack-objects fast-import checkout-index rerere repack pack-refs prune-packed "
    "multi-pack-index commit-graph merge-tree merge-index gui citool"
)
_REMOTES = (
    "svn p4 http-fetch http-push upload-pack receive-pack fetch-pack "
    "send-pack upload-archive"
)

SUBCOMMANDS: Mapping[str, GitHandler] = {
    **dict.fromkeys(_READS.split(), fixed(_READ, "reads the repository")),
    **dict.fromkeys(_WRITES.split(), fixed(_WRITE, "changes the repository")),
    **dict.fromkeys(_REMOTES.split(), fixed(_REMOTE, "talks to a remote")),
    **READ_HANDLERS,
    "checkout": _checkout,
    "switch": _switch,
    "restore": _restore,
    "reset": _reset,
    "clean": _clean,
    "push": _push,
    "fetch": _fetch("fetches from a remote and updates refs"),
    "pull": _fetch("fetches from a remote and merges into the current branch"),
    "ls-remote": _fetch("lists a remote's refs"),
    "clone": _clone,
    "rebase": _rebase,
    "bisect": _bisect,
    "submodule": _submodule,
    "apply": _apply,
    "gc": _gc,
    "prune": _when(
        "-n",
        (_READ, "-n lists unreachable objects"),
        (_DESTRUCTIVE, "deletes unreachable objects for good"),
    ),
    "hash-object": _when(
        "-w", (_WRITE, "-w writes an object"), (_READ, "hashes a file")
    ),
    "update-ref": _when(
        "-d", (_DESTRUCTIVE, "-d deletes a ref"), (_WRITE, "moves a ref")
    ),
    "symbolic-ref": fixed(_WRITE, "reads or moves a symbolic ref"),
    "filter-branch": _filter,
    "filter-repo": _filter,
    "difftool": fixed(_OVERRIDE, "runs the diff tool configured or named"),
    "mergetool": fixed(_OVERRIDE, "runs the merge tool configured or named"),
    "format-patch": _output("writes commits as patch files"),
    "archive": _output("writes an archive of a tree"),
    "bundle": _bundle,
    "init": _init,
    "merge-file": fixed(Category.EDIT, "merges into a file"),
    "interpret-trailers": _when(
        "--in-place",
        (Category.EDIT, "--in-place edits a message file"),
        (_READ, "prints trailers"),
    ),
    "mailinfo": fixed(Category.EDIT, "writes a message and a patch file"),
    "mailsplit": fixed(Category.EDIT, "writes one file per message"),
    "credential": fixed(Category.SECRET, "reads or stores credentials"),
    "credential-store": fixed(Category.SECRET, "reads or stores credentials"),
    "credential-cache": fixed(Category.SECRET, "reads or stores credentials"),
    "send-email": fixed(Category.NETWORK, "sends patches by mail"),
    "daemon": fixed(Category.NETWORK, "serves repositories over the network"),
    "instaweb": fixed(Category.NETWORK, "serves the repository over HTTP"),
}
"""Every git subcommand corral knows, with its handler."""
