"""The vocabulary of approvals: decisions, categories, and what the parser sees.

The parser (`_parse`) turns shell text into `Script`s of `Invocation`s; the
classifier (`_classify`) turns each invocation into `Finding`s, one per thing
the command will do; the rules (`_decide`) turn findings into `Part`s with a
decision each, and the strictest part decides the command (`Verdict`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "Assignment",
    "Category",
    "Decision",
    "Finding",
    "Invocation",
    "Part",
    "Redirect",
    "Scope",
    "Script",
    "Verdict",
    "Word",
    "WordKind",
    "is_descriptor",
    "strictest",
]


class Decision(enum.StrEnum):
    """What happens to a command, most permissive first."""

    ALLOW = "allow"
    """Runs inside the sandbox without asking anyone."""
    PROMPT = "prompt"
    """Runs only once a person approves it; with no person, refused."""
    FORBID = "forbid"
    """Never runs."""


_ORDER = {Decision.ALLOW: 0, Decision.PROMPT: 1, Decision.FORBID: 2}


def strictest(*decisions: Decision) -> Decision:
    """Return the strictest of `decisions`; with none, raise ValueError.

    An empty set of decisions is not read as "allow": a command with no parts
    is a classifier fault, and the caller must say so.
    """
    if not decisions:
        raise ValueError("no decisions to combine")
    return max(decisions, key=_ORDER.__getitem__)


class Scope(enum.StrEnum):
    """How long a person's approval lasts."""

    ONCE = "once"
    SESSION = "session"
    ALWAYS = "always"
    """Written as a rule into the user's policy; never for a weaker boundary."""


class Category(enum.StrEnum):
    """What a part of a command does, as a security team would sort it."""

    READ = "read"
    """Read-only inspection: ls, cat, grep, rg, find without -exec, stat, diff."""
    TEST_BUILD = "test-build"
    """Tests, builds, linters and type checkers: pytest, make, npm test, cargo."""
    EXECUTE = "execute"
    """Runs code from the workspace or an interpreter: ./script, python x.py."""
    EDIT = "edit"
    """Writes inside the workspace: touch, mkdir, cp, mv, sed -i, > file."""
    PACKAGE_INSTALL = "package-install"
    """Installs or adds packages: pip install, npm install, cargo add."""
    GIT_READ = "git-read"
    """git commands that only read: status, diff, log, show, blame."""
    GIT_WRITE = "git-write"
    """git commands that change the repository: add, commit, branch, checkout."""
    GIT_REMOTE = "git-remote"
    """git commands that talk to a remote: fetch, pull, push, clone."""
    DESTRUCTIVE = "destructive"
    """History rewriting and destruction: reset --hard, push --force, rm -rf ~."""
    NETWORK = "network"
    """External network tools: curl, wget, ssh, scp, nc."""
    SECRET = "secret"  # noqa: S105 (a category name, not a credential)
    """Secret access: credential stores, hidden paths, password managers."""
    PRIVILEGE = "privilege"
    """Privilege changes: sudo, su, doas, setuid bits, namespaces, corral approve."""
    EXEC_OVERRIDE = "exec-override"
    """Options or environment that make a program run code they name.

    ``git -c``, ``--exec-path``, pagers and external diff tools, ``GIT_CONFIG_*``,
    ``LD_PRELOAD``, ``BASH_ENV``: what would otherwise be a read runs other code.
    """
    PROTECTED_WRITE = "protected-write"
    """A write into a protected path (``.git/hooks``, ``.corral``, ...)."""
    OUTSIDE_WRITE = "outside-write"
    """A write outside the workspace, the writable roots and the private /tmp."""
    UNKNOWN = "unknown"
    """A program corral has no entry for."""
    UNMODELLED = "unmodelled"
    """Something the parser cannot model: syntax errors, eval of dynamic text,
    a program name computed at run time.  Never allowed by a rule."""
    ESCALATION = "escalation"
    """A request for a weaker boundary (full-access, network online) for this
    command.  Only a person can allow it, for the exact command shown."""


class WordKind(enum.StrEnum):
    """How much of a shell word the parser knows before the shell runs."""

    LITERAL = "literal"
    """Fully known: quotes removed, escapes resolved, ``~`` expanded."""
    GLOB = "glob"
    """Known text with unquoted pattern characters (``*``, ``?``, ``[``)."""
    DYNAMIC = "dynamic"
    """Depends on run time: an expansion, a substitution, brace expansion."""


@dataclass(frozen=True)
class Word:
    """One shell word: its value if known, else its source text."""

    text: str
    """The value (LITERAL, GLOB) or the source text as written (DYNAMIC)."""
    kind: WordKind = WordKind.LITERAL

    @property
    def is_literal(self) -> bool:
        """Whether the shell will pass exactly `text` as this word."""
        return self.kind is WordKind.LITERAL


@dataclass(frozen=True)
class Assignment:
    """An inline environment assignment before a command: ``NAME=value cmd``."""

    name: str
    value: Word


def is_descriptor(text: str) -> bool:
    """Whether bash takes `text` as a file descriptor: ASCII digits only.

    ``str.isdigit`` also accepts ``²`` or ``٣``, which bash takes as file names.
    """
    return text.isascii() and text.isdigit()


@dataclass(frozen=True)
class Redirect:
    """One redirection of a simple command."""

    operator: str
    """As written: ``>``, ``>>``, ``<``, ``&>``, ``>|``, ``<>``, ``>&``, ``<<``."""
    target: Word
    """The file named, or the descriptor for ``>&N``; a here-document's body."""
    fd: int | None = None
    """The descriptor redirected when written (``2>``), else None."""

    @property
    def writes(self) -> bool:
        """Whether this redirection can create or change the file it names."""
        return self.operator in {">", ">>", "&>", "&>>", ">|", "<>"} or (
            self.operator == ">&" and not is_descriptor(self.target.text)
        )


@dataclass(frozen=True)
class Invocation:
    """One simple command as the shell will run it."""

    words: tuple[Word, ...]
    """Program name first; empty for a bare assignment or redirection."""
    assignments: tuple[Assignment, ...] = ()
    redirects: tuple[Redirect, ...] = ()
    stdin_text: Word | None = None
    """What the command reads on stdin when the script shows it: a here-document,
    a here-string, or the output of ``echo``/``printf`` piped into it."""
    source: str = ""
    """The command's text in the script, for showing to a person."""


@dataclass(frozen=True)
class Script:
    """Every simple command a piece of shell text can run, found anywhere in it.

    Commands inside substitutions, subshells, groups, loops, conditionals and
    function bodies are all here, flattened: each may run, so each is classified.
    """

    invocations: tuple[Invocation, ...]
    unmodelled: tuple[str, ...] = ()
    """What the parser could not model, one reason each (syntax error at 1:5)."""


@dataclass(frozen=True)
class Finding:
    """One thing a command will do, before the rules are applied."""

    argv: tuple[Word, ...]
    """The words of the part this finding is about (after unwrapping)."""
    category: Category
    reason: str
    """Why this category, in words a person reads (``git push talks to a remote``)."""
    scripts: tuple[str, ...] = ()
    """Workspace-relative files whose content decides what this part runs
    (package.json for npm test, Makefile for make, conftest.py for pytest)."""
    git_write: bool = False
    """Whether running this part needs the repository's git directory writable."""


@dataclass(frozen=True)
class Part:
    """A finding with the decision the rules gave it."""

    finding: Finding
    decision: Decision
    rule: str
    """Which rule decided: ``built-in: git-read`` or ``FILE: rules[2]``."""
    reason: str
    """The reason shown to the person and the agent: the rule's, else the finding's."""


@dataclass(frozen=True)
class Verdict:
    """The decision for a whole command, with every part that led to it."""

    decision: Decision
    parts: tuple[Part, ...] = field(default_factory=tuple)

    @property
    def deciding(self) -> tuple[Part, ...]:
        """The parts whose decision is the command's (the strictest ones)."""
        return tuple(p for p in self.parts if p.decision is self.decision)
