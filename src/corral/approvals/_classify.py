"""Classify parsed commands: what each part of a command will do, as a `Finding`.

Every simple command the parser found is classified, wrappers and shell
strings are followed into the commands they run, ``cd`` is tracked so that
relative paths are judged where they point, and every word that names a
hidden path is reported.  The result is never empty: a command with no part
would read as "nothing to decide", which no caller may take for "allow".
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from types import MappingProxyType

from corral.approvals._context import Context
from corral.approvals._model import (
    Category,
    Finding,
    Invocation,
    Redirect,
    Script,
    Word,
    WordKind,
    is_descriptor,
)
from corral.approvals._paths import NETWORK_DEVICES, Cwds, Paths
from corral.approvals._wrappers import WRAPPERS, assignment
from corral.approvals.catalog._base import (
    Argv,
    Entry,
    Program,
    Table,
    about_only,
    name_of,
    parse_options,
    spec,
)
from corral.approvals.catalog._dev import DEV_PROGRAMS
from corral.approvals.catalog._env import conditional_override, override
from corral.approvals.catalog._files import FILE_PROGRAMS
from corral.approvals.catalog._git import GIT_PROGRAMS
from corral.approvals.catalog._net import NETWORK_PROGRAMS
from corral.approvals.catalog._pkg import PACKAGE_PROGRAMS
from corral.approvals.catalog._shell import (
    BUILTIN_NAMES,
    SHELL_PROGRAMS,
    dialect_problem,
    evaluates_text,
)
from corral.approvals.catalog._system import SYSTEM_PROGRAMS
from corral.approvals.shell import SHELL_CODE_MARKS

__all__ = [
    "MAX_CWDS",
    "MAX_NESTING",
    "PROGRAMS",
    "classify_argv",
    "classify_script",
    "classify_text",
]

# An option of declare/typeset/local that gives a variable the integer
# attribute (-i, -ai, -ig, ...); +i removes it.
# As text: `re` compiles it on first use, and keeps it.
_INTEGER_OPTION = r"\A-[a-zA-Z]*i[a-zA-Z]*\Z"

MAX_NESTING = 16
"""Wrappers and shell strings are followed this deep; deeper is unmodelled.
No command a person would approve nests this far, and it bounds the work."""

MAX_CWDS = 8
"""Directories a command may be in after ``cd``s (a ``cd`` can fail, or run in a
subshell, so each adds one); past this many, where it is counts as unknown."""


def _tables(*tables: Table) -> dict[str, Program]:
    merged: dict[str, Program] = {}
    for table in tables:
        merged.update(table)
    return merged


PROGRAMS = MappingProxyType(
    _tables(
        SHELL_PROGRAMS,
        WRAPPERS,
        FILE_PROGRAMS,
        DEV_PROGRAMS,
        PACKAGE_PROGRAMS,
        NETWORK_PROGRAMS,
        SYSTEM_PROGRAMS,
        GIT_PROGRAMS,
    )
)
"""Every program corral knows, by name."""

# python3.12, pip3, gcc-13, clang++-17: the program without its version.
# As text: `re` compiles it on first use, and keeps it.
_VERSIONED = r"^(.+?)[-.]?[0-9]+(?:\.[0-9]+)*$"
# Programs installed under versioned names; any other name is only itself.
_VERSIONED_FAMILIES = frozenset(
    {
        "python", "pip", "pypy", "ipython", "pytest", "node", "ruby", "gem",
        "perl", "php", "lua", "luajit", "java", "javac", "go", "gcc", "g++", "cc",
        "c++", "cpp", "clang", "clang++", "clang-format", "clang-tidy", "gfortran",
        "ld", "lld", "tclsh", "wish", "guile", "easy_install", "virtualenv",
    }
)  # fmt: skip
# Findings of a command that would otherwise only read.
_READS = frozenset({Category.READ, Category.GIT_READ})
# Writing through these removes or renames a link itself, not what it names.
_NO_FOLLOW = frozenset({"removes", "moves"})


def classify_script(script: Script, context: Context) -> tuple[Finding, ...]:
    """Return a finding for every part of `script`; never none."""
    classifier = _Classifier(context)
    classifier.script(script, ())
    if not classifier.findings:
        classifier.emit((), Category.READ, "the command is empty: nothing runs")
    return tuple(classifier.findings)


def classify_argv(argv: Sequence[str], context: Context) -> tuple[Finding, ...]:
    """Return a finding for every part of `argv`, exec'd without a shell."""
    words = tuple(Word(arg) for arg in argv)
    return classify_script(Script((Invocation(words, source=" ".join(argv)),)), context)


def classify_text(text: str, context: Context) -> tuple[Finding, ...]:
    """Parse `text` as bash would, and classify every part of it."""
    return classify_script(_parse(text, context), context)


def _parse(text: str, context: Context) -> Script:
    # Imported here: an argv with no shell text in it never loads tree-sitter.
    from corral.approvals.shell._parse import parse  # noqa: PLC0415

    home = str(context.home) if context.home is not None else None
    return parse(text, home=home)


class _Classifier:
    """One classification: the findings so far and what the shell state may be."""

    def __init__(self, context: Context) -> None:
        self._context = context
        self.paths = Paths(context)
        self.findings: list[Finding] = []
        self.cwds: Cwds = (str(context.cwd),)
        self.depth = 0
        self.stdin: Word | None = None
        self.cdpath = bool(context.environ.get("CDPATH"))
        self.home_moved = False
        """Whether the command sets HOME, so that a bare ``cd`` goes elsewhere."""
        self.exported: dict[str, str] = {}
        """Variables set earlier that change a reading program (PYTHONPATH)."""
        self._pending: list[tuple[str, str]] = []
        self._checked: set[tuple[Word, Cwds]] = set()

    @property
    def context(self) -> Context:
        return self._context

    # -- the sink that handlers report to --------------------------------------

    def emit(
        self,
        argv: Argv,
        category: Category,
        reason: str,
        *,
        scripts: tuple[str, ...] = (),
        git_write: bool = False,
    ) -> None:
        self.findings.append(Finding(argv, category, reason, scripts, git_write))

    def command(self, argv: Argv, *, cwd: Word | None = None) -> None:
        saved = self.cwds
        pending, self._pending = self._pending, []
        if cwd is not None:
            self.cwds = self._cd_targets(cwd, saved)
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                self.emit(
                    argv,
                    Category.UNMODELLED,
                    f"commands nested more than {MAX_NESTING} deep are not followed",
                )
                return
            start = len(self.findings)
            self._check_words(argv)
            self._program(argv)
            self._conditional(argv, start, pending)
        finally:
            self.depth -= 1
            if cwd is not None:
                self.cwds = saved

    def shell(
        self,
        argv: Argv,
        script: Word | None,
        *,
        fresh: bool = True,
        dialect: str = "bash",
    ) -> None:
        name = name_of(argv[0]) if argv else "the shell"
        if script is None:
            script = self.stdin
            if script is None:
                self.emit(
                    argv,
                    Category.UNMODELLED,
                    f"{name} reads commands from stdin, which the command hides",
                )
                return
        if not script.is_literal:
            self.emit(
                argv,
                Category.UNMODELLED,
                f"{name} runs text only known at run time: {script.text}",
            )
            return
        if self.depth >= MAX_NESTING:
            self.emit(
                argv,
                Category.UNMODELLED,
                f"shell text nested more than {MAX_NESTING} deep is not followed",
            )
            return
        problem = dialect_problem(script.text, dialect)
        if problem is not None:
            self.emit(argv, Category.UNMODELLED, problem)
        saved = (self.cwds, self.stdin, dict(self.exported))
        start = len(self.findings)
        self.depth += 1
        try:
            self.script(_parse(script.text, self._context), argv)
        finally:
            self.depth -= 1
            self.stdin = saved[1]
            if fresh:
                self.cwds, self.exported = saved[0], saved[2]
        if len(self.findings) == start:
            self.emit(argv, Category.READ, f"{name} runs an empty script")

    def write(
        self,
        argv: Argv,
        target: Word,
        *,
        verb: str = "writes",
        recursive: bool = False,
        cwd: Word | None = None,
    ) -> Category | None:
        cwds = self._cd_targets(cwd, self.cwds) if cwd is not None else self.cwds
        judged = self.paths.write(
            target, cwds, verb=verb, recursive=recursive, follow=verb not in _NO_FOLLOW
        )
        if judged is None:
            return None
        self.emit(argv, *judged)
        return judged[0]

    def scripts(
        self,
        names: Iterable[str],
        *,
        directory: Word | None = None,
        upward: bool = False,
    ) -> tuple[str, ...]:
        cwds = self.cwds
        if directory is not None:
            cwds = self._cd_targets(directory, cwds)
        if cwds is None:
            return ()
        workspace = str(self._context.workspace)
        found: dict[str, None] = {}
        wanted = list(names)
        for cwd in cwds:
            for folder in _folders(cwd, workspace, upward=upward):
                for name in wanted:
                    path = self.paths.resolve(name, folder)
                    if path.startswith(workspace + "/") and _exists(path):
                        found[path[len(workspace) + 1 :]] = None
        return tuple(found)

    def protected(self, target: Word) -> str | None:
        if not target.is_literal or self.cwds is None:
            return None
        text = self.paths.expand_home(target.text)
        for cwd in ("/",) if text.startswith("/") else self.cwds:
            path = self.paths.resolve(text, cwd)
            if self._context.protected_entry(path) is not None:
                return self._context.shown(path)
        return None

    def environment(self, argv: Argv, name: str, value: Word) -> None:
        what = override(name)
        if what is not None:
            self.emit(
                argv,
                Category.EXEC_OVERRIDE,
                f"{name} {what}",
            )
        elif conditional_override(name) is not None:
            self._pending.append((name, conditional_override(name) or ""))
        if value.is_literal and any(mark in value.text for mark in SHELL_CODE_MARKS):
            self.emit(
                argv,
                Category.UNMODELLED,
                f"{name} holds shell code, which arithmetic or an expansion can run",
            )
        if name == "CDPATH":
            self.cdpath = True
        if name == "HOME":
            self.home_moved = True
        hidden = self.paths.hidden(value, self.cwds)
        if hidden is not None:
            self.emit(argv, Category.SECRET, f"{name} names the hidden path {hidden}")

    # -- walking the script ----------------------------------------------------

    def script(self, script: Script, runner: Argv) -> None:
        for invocation in script.invocations:
            self._invocation(invocation)
        for reason in script.unmodelled:
            self.emit(runner, Category.UNMODELLED, reason)

    def _invocation(self, invocation: Invocation) -> None:
        start = len(self.findings)
        self.stdin = invocation.stdin_text
        argv = invocation.words
        for redirect in invocation.redirects:
            self._redirect(argv, redirect)
        if argv:
            for item in invocation.assignments:
                self.environment(argv, item.name, item.value)
            self.command(argv)
        else:
            for item in invocation.assignments:
                self._set_variable(item.name, item.value)
        if len(self.findings) == start and argv:
            # Every handler reports something; silence would be a gap in a table.
            reason = f"corral found nothing that {name_of(argv[0])} does"
            self.emit(argv, Category.UNKNOWN, reason)
        elif len(self.findings) == start:
            what = "only redirects" if invocation.redirects else "does nothing"
            self.emit(argv, Category.READ, f"the command {what}")

    def _redirect(self, argv: Argv, redirect: Redirect) -> None:
        operator, target = redirect.operator, redirect.target
        if operator.startswith("<<"):
            return
        shown = argv or (Word(operator + target.text),)
        text = self.paths.expand_known(target.text)
        if text.startswith(NETWORK_DEVICES):
            self.emit(
                shown,
                Category.NETWORK,
                f"the redirection to {target.text} opens a network connection",
            )
        elif operator in (">&", "<&") and (
            is_descriptor(target.text) or target.text == "-"
        ):
            return
        elif redirect.writes:
            self.write(shown, target)
        else:
            hidden = self.paths.hidden(target, self.cwds)
            if hidden is not None:
                self.emit(shown, Category.SECRET, f"reads the hidden path {hidden}")

    def _set_variable(self, name: str, value: Word) -> None:
        """A bare ``NAME=value``: it changes the environment of what follows when
        NAME is exported, as PATH and most variables that matter are."""
        shown = (Word(f"{name}={value.text}"),)
        start = len(self.findings)
        self.environment(shown, name, value)
        for pending, what in self._pending:
            self.exported[pending] = what
        self._pending = []
        if len(self.findings) == start:
            self.emit(shown, Category.READ, f"sets the shell variable {name}")

    def _check_words(self, argv: Argv) -> None:
        """Report each word that names a hidden path (once per word and place)."""
        for word in argv:
            key = (word, self.cwds)
            if key in self._checked:
                continue
            self._checked.add(key)
            hidden = self.paths.hidden(word, self.cwds)
            if hidden is not None:
                self.emit(
                    argv,
                    Category.SECRET,
                    f"{name_of(argv[0])} names the hidden path {hidden}",
                )

    def _conditional(
        self, argv: Argv, start: int, pending: list[tuple[str, str]]
    ) -> None:
        """Variables such as PYTHONPATH matter to a command that would only read."""
        changes = [*self.exported.items(), *pending]
        if not changes or argv[0].text in _BUILTIN_NAMES:
            return
        own = self.findings[start:]
        if own and all(f.category in _READS for f in own):
            for name, what in changes:
                self.emit(argv, Category.EXEC_OVERRIDE, f"{name} {what}")

    # -- one program -----------------------------------------------------------

    def _program(self, argv: Argv) -> None:
        first = argv[0]
        if first.kind is WordKind.DYNAMIC:
            self.emit(
                argv,
                Category.UNMODELLED,
                f"the program name {first.text} is only known at run time",
            )
            return
        if first.kind is WordKind.GLOB:
            self.emit(
                argv,
                Category.UNMODELLED,
                f"the program name {first.text} is a glob pattern",
            )
            return
        if "/" in first.text and self._runs_own_file(argv):
            return
        self._by_name(argv, name_of(first))

    def _runs_own_file(self, argv: Argv) -> bool:
        """A program named by path: a file a command could write runs as code.

        Return whether it was; it is then also classified by its name, when
        corral knows that name, since it may be what its name says.
        """
        text = self.paths.expand_home(argv[0].text)
        if text.startswith("/"):
            places = [self.paths.resolve(text, "/")]
        elif self.cwds is None:
            places = []
        else:
            places = [self.paths.resolve(text, cwd) for cwd in self.cwds]
        writable = [p for p in places if self._context.writable_root(p) is not None]
        if places and not writable:
            return False
        where = writable[0] if writable else text
        workspace = str(self._context.workspace)
        inside = where.startswith(workspace + "/")
        what = "from the workspace" if inside else ", a file commands can write"
        shown = self._context.shown(where)
        reason = f"runs {shown} {what}".replace(" ,", ",")
        self.emit(argv, Category.EXECUTE, reason, scripts=self.scripts([text]))
        if _lookup(name_of(argv[0])) is not None:
            self._by_name(argv, name_of(argv[0]))
        return True

    def _by_name(self, argv: Argv, name: str) -> None:
        stateful = _STATEFUL.get(name)
        if stateful is not None:
            stateful(self, argv)
            return
        program = _lookup(name)
        if program is None:
            self.emit(
                argv, Category.UNKNOWN, f"{name} is a program corral has no entry for"
            )
        elif about_only(argv):
            self.emit(argv, Category.READ, f"{name} {argv[1].text} prints about itself")
        elif isinstance(program, Entry):
            self.emit(argv, program.category, f"{name} {program.what}")
        else:
            program(self, argv)

    # -- builtins that change the shell's state --------------------------------

    def _cd(self, argv: Argv) -> None:
        parsed = parse_options(argv[1:], _CD)
        name = argv[0].text
        target = parsed.operands[0] if parsed.operands else None
        if name == "popd" or (target is not None and target.text[:1] in "+-"):
            if target is not None and target.text == "-":
                self.cwds = None
            self.emit(argv, Category.READ, f"{name} changes the working directory")
            return
        if target is None:
            home = None if self.home_moved else self._context.home
            found: Cwds = (str(home),) if home is not None else None
        else:
            found = self._cd_targets(target, self.cwds, searched=self.cdpath)
        self.cwds = _merge(self.cwds, found)
        self.emit(argv, Category.READ, f"{name} changes the working directory")

    def _cd_targets(self, target: Word, cwds: Cwds, *, searched: bool = False) -> Cwds:
        """Where ``cd TARGET`` leads from each of `cwds`; None when not known."""
        if not target.is_literal:
            return None
        text = self.paths.expand_home(target.text)
        if text.startswith("/"):
            return (self.paths.resolve(text, "/"),)
        if cwds is None or (searched and not text.startswith(".")):
            return None
        return tuple(dict.fromkeys(self.paths.resolve(text, cwd) for cwd in cwds))

    def _declare(self, argv: Argv) -> None:
        """export, declare, local, ...: each ``NAME=value`` sets a variable."""
        if evaluates_text(self, argv):
            return
        if any(re.match(_INTEGER_OPTION, word.text) for word in argv[1:]):
            # What is later assigned to an integer variable is evaluated as
            # arithmetic, where a value such as a[$(cmd)] runs cmd.
            self.emit(
                argv,
                Category.UNMODELLED,
                f"{argv[0].text} -i makes assignments arithmetic, which can run "
                "commands held in the values",
            )
            return
        found = False
        for word in argv[1:]:
            pair = assignment(word) or _appending(word)
            if pair is not None:
                self._set_variable(*pair)
                found = True
        if not found:
            self.emit(argv, Category.READ, f"{argv[0].text} lists or marks variables")

    def _shopt(self, argv: Argv) -> None:
        texts = {word.text for word in argv[1:]}
        if not all(word.is_literal for word in argv[1:]):
            self.emit(
                argv, Category.UNMODELLED, "shopt sets options only known at run time"
            )
        elif "-s" in texts and "expand_aliases" in texts:
            self.emit(
                argv,
                Category.UNMODELLED,
                "shopt -s expand_aliases makes aliases expand, which corral cannot "
                "follow",
            )
        else:
            if "-s" in texts and "dotglob" in texts:
                self.paths.dotglob = True
            self.emit(argv, Category.READ, "shopt sets shell options")

    def _enable(self, argv: Argv) -> None:
        parsed = parse_options(argv[1:], _ENABLE)
        if parsed.has("-f"):
            self.emit(
                argv,
                Category.EXEC_OVERRIDE,
                "enable -f loads a shared object into the shell as a builtin",
            )
            self.emit(
                argv, Category.UNMODELLED, "what a loaded builtin does is not known"
            )
        else:
            self.emit(argv, Category.READ, "enable turns shell builtins on or off")

    def _hash(self, argv: Argv) -> None:
        parsed = parse_options(argv[1:], _HASH)
        if parsed.has("-p"):
            self.emit(
                argv,
                Category.EXEC_OVERRIDE,
                "hash -p makes a command name run the file it names",
            )
        else:
            self.emit(argv, Category.READ, "hash lists or forgets remembered programs")


_CD = spec("", "-L -P -e -@ -n", permute=False)
_ENABLE = spec("-f", "-a -d -n -p -s")
_HASH = spec("-p", "-d -l -r -t")

_STATEFUL = {
    "cd": _Classifier._cd,
    "pushd": _Classifier._cd,
    "popd": _Classifier._cd,
    "chdir": _Classifier._cd,
    "export": _Classifier._declare,
    "declare": _Classifier._declare,
    "typeset": _Classifier._declare,
    "local": _Classifier._declare,
    "readonly": _Classifier._declare,
    "shopt": _Classifier._shopt,
    "enable": _Classifier._enable,
    "hash": _Classifier._hash,
}

# The shell's own commands, which no variable such as PYTHONPATH changes.
_BUILTIN_NAMES = BUILTIN_NAMES | frozenset(_STATEFUL)


def _lookup(name: str) -> Program | None:
    found = PROGRAMS.get(name)
    if found is None:
        versioned = re.match(_VERSIONED, name)
        if versioned is not None and versioned.group(1) in _VERSIONED_FAMILIES:
            found = PROGRAMS.get(versioned.group(1))
    return found


def _appending(word: Word) -> tuple[str, Word] | None:
    """Return ``(name, value)`` for ``NAME+=value``, whose value depends on NAME's."""
    name, plus, rest = word.text.partition("+=")
    pair = assignment(Word(name + "=", word.kind)) if plus else None
    if pair is None:
        return None
    return pair[0], Word(rest, WordKind.DYNAMIC)


def _merge(old: Cwds, new: Cwds) -> Cwds:
    """The directories a command may be in after a ``cd`` that may not happen."""
    if old is None or new is None:
        return None
    merged = tuple(dict.fromkeys((*old, *new)))
    return merged if len(merged) <= MAX_CWDS else None


def _folders(cwd: str, workspace: str, *, upward: bool) -> list[str]:
    """`cwd`, and with `upward` each parent up to the workspace root."""
    folders = [cwd]
    while upward and cwd.startswith(workspace + "/"):
        cwd = cwd.rsplit("/", 1)[0]
        folders.append(cwd)
    return folders


def _exists(path: str) -> bool:
    return os.path.exists(path)  # noqa: PTH110 - a str, checked per named file
