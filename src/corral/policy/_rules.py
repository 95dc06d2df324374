"""Command rules: the ``[[rules]]`` tables of a policy file, parsed and checked.

A `Rule` names which parts of a command it matches (a program, a prefix of
argument patterns, a category) and the decision it gives them; how rules
combine with each other and with the built-in defaults is `corral.approvals._decide`.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from corral.approvals._model import Category, Decision
from corral.errors import PolicyError
from corral.policy._model import LayerKind
from corral.policy._values import ValueReader

__all__ = ["NEVER_ALLOWED_REASONS", "Rule", "parse_rules"]

_KEYS = ("program", "args", "exact", "category", "decision", "reason")

NEVER_ALLOWED_REASONS = {
    Category.UNMODELLED: "what the parser cannot model is never allowed by a rule; "
    "a person approves each such command as it is shown",
    Category.ESCALATION: "only a person can approve a weaker boundary, for the "
    "exact command shown",
}
"""The categories no rule may allow, whichever layer it is in, and why."""

# What makes an fnmatch pattern more than stars around a literal.
_GLOB_CHARS = frozenset("*?[")

# How one argument pattern is compared, chosen once per rule: most patterns are
# a literal word or stars around one, and need no regular expression at all.
_EXACT, _ANY, _PREFIX, _SUFFIX, _INFIX, _GLOB = range(6)


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One command rule from a policy file, and where it was written."""

    program: str | None = None
    """A basename (``git``), or an absolute path matched against argv[0] whole."""
    args: tuple[str, ...] = ()
    """``fnmatch`` patterns for the words after the program, compared as a prefix."""
    exact: bool = False
    """Whether the words after the program are exactly `args`: no more, no fewer."""
    category: Category | None = None
    """Match only parts of this category."""
    decision: Decision
    reason: str
    """Shown to the person and the agent whenever this rule decides a part."""
    origin: str
    """``FILE: rules[N]``, N counted from 0 in the order the file lists them."""
    layer: LayerKind
    _patterns: tuple[tuple[int, str], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.program is None and self.category is None:
            raise ValueError("a rule without program or category would match all")
        if (self.args or self.exact) and self.program is None:
            raise ValueError("a rule's args are compared after its program")
        object.__setattr__(self, "_patterns", tuple(map(_compile, self.args)))

    def program_fits(self, text: str) -> bool:
        """Whether `text`, the first word of a command, names this rule's program.

        A program with a ``/`` must be the whole word; any other is compared
        with the word's basename.  A rule without a program fits any word.
        """
        program = self.program
        if program is None:
            return True
        if "/" in program:
            return text == program
        return text.rpartition("/")[2] == program

    def arg_fits(self, position: int, text: str) -> bool:
        """Whether `text` fits ``args[position]``, as `fnmatch.fnmatchcase` says."""
        how, core = self._patterns[position]
        if how == _EXACT:
            return text == core
        if how == _ANY:
            return True
        if how == _PREFIX:
            return text.startswith(core)
        if how == _SUFFIX:
            return text.endswith(core)
        if how == _INFIX:
            return core in text
        # fnmatch keeps each compiled pattern, so this compiles once per process.
        return fnmatch.fnmatchcase(text, core)


def _compile(pattern: str) -> tuple[int, str]:
    core = pattern.strip("*")
    if any(char in _GLOB_CHARS for char in core):
        return _GLOB, pattern
    if not pattern.startswith("*") and not pattern.endswith("*"):
        return _EXACT, pattern
    if not core:
        return _ANY, ""
    if pattern.startswith("*") and pattern.endswith("*"):
        return _INFIX, core
    return (_SUFFIX, core) if pattern.startswith("*") else (_PREFIX, core)


def parse_rules(value: object, origin: str, kind: LayerKind) -> tuple[Rule, ...]:
    """Validate the ``rules`` array of one policy file.

    Raises PolicyError naming the file, the rule (``rules[2]``), the key and
    the fix, for anything that is not a well-formed rule this layer may write.
    """
    if not isinstance(value, list):
        found = "one [rules] table" if isinstance(value, dict) else repr(value)
        raise PolicyError(
            f"{origin}: rules must be an array of tables, not {found}; write "
            "each rule under its own [[rules]] header"
        )
    return tuple(
        _parse_rule(entry, origin, f"rules[{index}]", kind)
        for index, entry in enumerate(value)
    )


def _parse_rule(entry: object, origin: str, where: str, kind: LayerKind) -> Rule:
    if not isinstance(entry, dict):
        raise PolicyError(
            f"{origin}: {where} must be a table under [[rules]], not {entry!r}"
        )
    for key in entry:
        if key not in _KEYS:
            raise PolicyError(
                f"{origin}: unknown key {where}.{key}; a rule has the keys "
                f"{', '.join(_KEYS)}"
            )
    read = ValueReader(origin, {f"{where}.{key}": v for key, v in entry.items()})
    program = _program(read, where, entry.get("program"))
    args = _args(read, where, entry.get("args"))
    exact = _exact(read, where, entry.get("exact"))
    category = read.choice(f"{where}.category", Category)
    decision = _decision(read, where)
    reason = _reason(read, where, entry.get("reason"))

    if (args or exact) and program is None:
        raise read.fail(
            f"{where}.{'args' if args else 'exact'}",
            "needs a program: the patterns are compared with the words after "
            'it; add program = "..."',
        )
    if program is None and category is None:
        raise PolicyError(
            f"{origin}: {where} names neither program nor category: an empty "
            'rule would match every command; add program = "..." or '
            'category = "..."'
        )
    _check_allowed(read, where, kind, decision, category)
    return Rule(
        program=program,
        args=args,
        exact=exact,
        category=category,
        decision=decision,
        reason=reason,
        origin=f"{origin}: {where}",
        layer=kind,
    )


def _program(read: ValueReader, where: str, value: object) -> str | None:
    key = f"{where}.program"
    if value is None:
        return None
    if not isinstance(value, str):
        raise read.fail(key, f"must be a string, not {value!r}")
    if not value.strip() or "\0" in value:
        raise read.fail(
            key, "is empty; name the program (git) or its absolute path (/usr/bin/git)"
        )
    if "/" in value and (not value.startswith("/") or value.endswith("/")):
        raise read.fail(
            key,
            f"= {value!r} is neither a name nor an absolute path; write the "
            "name (git) to match it wherever it lies, or the absolute path "
            "(/usr/bin/git) to match that file only",
        )
    if "*" in value or "?" in value or ("[" in value and "]" in value):
        raise read.fail(
            key,
            f"= {value!r} is compared exactly, not as a pattern; write one rule "
            "per program, or match by category",
        )
    return value


def _args(read: ValueReader, where: str, value: object) -> tuple[str, ...]:
    key = f"{where}.args"
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise read.fail(key, f"must be a list of strings, not {value!r}")
    if any("\0" in pattern for pattern in value):
        raise read.fail(key, "must not contain NUL, which no argument can hold")
    return tuple(value)


def _exact(read: ValueReader, where: str, value: object) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise read.fail(f"{where}.exact", f"must be true or false, not {value!r}")
    return value


def _decision(read: ValueReader, where: str) -> Decision:
    decision = read.choice(f"{where}.decision", Decision)
    if decision is None:
        raise PolicyError(
            f"{read.origin}: {where} has no decision; add decision = "
            '"allow", "prompt" or "forbid"'
        )
    return decision


def _reason(read: ValueReader, where: str, value: object) -> str:
    why = "it is shown to the person and the agent whenever the rule decides"
    if value is None:
        raise PolicyError(
            f'{read.origin}: {where} has no reason; add reason = "...": {why}'
        )
    if not isinstance(value, str):
        raise read.fail(f"{where}.reason", f"must be a string, not {value!r}")
    if not value.strip():
        raise read.fail(f"{where}.reason", f"is empty; say why the rule exists: {why}")
    if not value.isprintable():
        raise read.fail(
            f"{where}.reason",
            f"must be one line of printable text, without control characters: {why}",
        )
    return value


def _check_allowed(
    read: ValueReader,
    where: str,
    kind: LayerKind,
    decision: Decision,
    category: Category | None,
) -> None:
    if decision is not Decision.ALLOW:
        return
    if kind is LayerKind.PROJECT:
        raise read.fail(
            f"{where}.decision",
            "= 'allow' cannot be set by a project policy: a project policy may "
            "only tighten (prompt or forbid), since the repository may come from "
            "anyone; to allow this, write the rule in your user policy",
        )
    why = None if category is None else NEVER_ALLOWED_REASONS.get(category)
    if category is not None and why is not None:
        raise read.fail(
            f"{where}.decision",
            f"= 'allow' for category {category.value!r}: {why}; use prompt or "
            "forbid, or remove the rule",
        )
