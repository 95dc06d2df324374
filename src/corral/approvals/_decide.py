"""Turn findings into decisions: the built-in defaults, then the policy's rules.

For each finding, in order:

- base: the built-in default for its category (`DEFAULT_DECISIONS`);
- managed rules that match replace the base (the strictest of them), then user
  rules that match replace it again (the strictest of them): a user may loosen a
  default, or a managed allow;
- floors: project rules that match, and managed prompt and forbid rules that
  match; the part's decision is the strictest of the base and the floors, so no
  user rule undoes a managed prompt or forbid, and a project only tightens.

The command's decision is the strictest of its parts'.  Each part names the rule
that decided it (``built-in: CATEGORY``, else the rule's ``FILE: rules[N]``;
among equals, a rule before a default and an earlier rule before a later one)
and shows that rule's reason, else the finding's.

Matching, where quoting cannot slip past a rule:

- ``program`` is compared with the basename of argv[0], or with all of it when
  the rule's program holds a ``/``; ``args`` is a prefix: pattern N is compared
  by `fnmatch.fnmatchcase` with word N after the program, and words past the
  last pattern are not looked at.  A missing word compares as the empty string,
  so ``["push", "*"]`` matches ``git push`` as well as ``git push origin``.
  With ``exact = true`` the words after the program must be exactly as many as
  the patterns.  ``category`` must equal the finding's.  A rule with both needs
  both.
- Quotes are gone before matching: ``git "push"`` is the literal word ``push``.
- An allow rule matches only words that are surely what they say: argv[0] and
  every word up to the last compared position must be LITERAL.  An unquoted
  expansion or glob can become several words (or none) and shift the rest, so
  ``git $X`` does not match allow ``git status``.
- A prompt or forbid rule matches words that could be what they say: a word that
  is not LITERAL matches any pattern (or program), and everything after it
  matches too, so ``git $X`` matches forbid ``git push``.
- No allow rule ever matches an ``unmodelled`` or ``escalation`` finding: what
  the parser cannot model, and a weaker boundary, only a person approves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

from corral.approvals._model import (
    Category,
    Decision,
    Finding,
    Part,
    Verdict,
    Word,
    strictest,
)
from corral.policy._model import LayerKind

if TYPE_CHECKING:
    # Only a type here: the policy package imports this package's vocabulary.
    from corral.policy._rules import Rule

__all__ = ["DEFAULT_DECISIONS", "NEVER_ALLOWED", "decide", "matches"]

DEFAULT_DECISIONS: Mapping[Category, Decision] = MappingProxyType(
    {
        # Reading changes nothing, and what is secret is hidden by the sandbox.
        Category.READ: Decision.ALLOW,
        # Tests and builds are the agent's daily work, and run inside the sandbox.
        Category.TEST_BUILD: Decision.ALLOW,
        # Workspace code runs inside the same boundary as everything else.
        Category.EXECUTE: Decision.ALLOW,
        # Writing the workspace is the job; git keeps what was there before.
        Category.EDIT: Decision.ALLOW,
        # Reading the repository's history changes nothing.
        Category.GIT_READ: Decision.ALLOW,
        # New packages are code from outside, run at install time and later.
        Category.PACKAGE_INSTALL: Decision.PROMPT,
        # Commits, branches and checkouts change what a person will review.
        Category.GIT_WRITE: Decision.PROMPT,
        # Talking to a remote publishes work or brings in someone else's.
        Category.GIT_REMOTE: Decision.PROMPT,
        # Lost history or files may not come back.
        Category.DESTRUCTIVE: Decision.PROMPT,
        # Data can leave the machine, or code come in, over the network.
        Category.NETWORK: Decision.PROMPT,
        # A read that runs code it names is not a read.
        Category.EXEC_OVERRIDE: Decision.PROMPT,
        # Writes outside the workspace reach what the workspace does not own.
        Category.OUTSIDE_WRITE: Decision.PROMPT,
        # corral cannot say what a program it does not know will do.
        Category.UNKNOWN: Decision.PROMPT,
        # What the parser cannot model could be anything.
        Category.UNMODELLED: Decision.PROMPT,
        # A weaker boundary for one command is a person's choice.
        Category.ESCALATION: Decision.PROMPT,
        # Credentials are never the agent's to read.
        Category.SECRET: Decision.FORBID,
        # Privilege changes would step outside the boundary, or try to.
        Category.PRIVILEGE: Decision.FORBID,
        # Protected paths are read later, outside the sandbox, as code.
        Category.PROTECTED_WRITE: Decision.FORBID,
    }
)
"""The decision for each category when no rule matches."""

NEVER_ALLOWED = frozenset({Category.UNMODELLED, Category.ESCALATION})
"""Categories that no allow rule matches, whatever else it says."""


def matches(rule: Rule, finding: Finding) -> bool:
    """Tell whether `rule` applies to `finding` (see the module docstring)."""
    if rule.category is not None and rule.category is not finding.category:
        return False
    if rule.decision is Decision.ALLOW:
        if finding.category in NEVER_ALLOWED:
            return False
        return rule.program is None or _surely(rule, finding.argv)
    return rule.program is None or _possibly(rule, finding.argv)


def _surely(rule: Rule, argv: tuple[Word, ...]) -> bool:
    """Every compared word is LITERAL and fits."""
    if not argv or not argv[0].is_literal or not rule.program_fits(argv[0].text):
        return False
    if rule.exact and len(argv) - 1 != len(rule.args):
        return False
    for position in range(len(rule.args)):
        text = ""
        if position + 1 < len(argv):
            word = argv[position + 1]
            if not word.is_literal:
                return False
            text = word.text
        if not rule.arg_fits(position, text):
            return False
    return True


def _possibly(rule: Rule, argv: tuple[Word, ...]) -> bool:
    """Every compared word fits, up to the first that is not LITERAL."""
    if not argv:
        return False
    if not argv[0].is_literal:
        return True
    known_length = all(word.is_literal for word in argv)
    if not rule.program_fits(argv[0].text) or (
        rule.exact and known_length and len(argv) - 1 != len(rule.args)
    ):
        return False
    for position in range(len(rule.args)):
        text = ""
        if position + 1 < len(argv):
            word = argv[position + 1]
            if not word.is_literal:
                return True
            text = word.text
        if not rule.arg_fits(position, text):
            return False
    return True


def decide(findings: Sequence[Finding], rules: Sequence[Rule]) -> Verdict:
    """Give each finding a decision under `rules`; the strictest decides.

    `rules` are in merge order (managed, user, project), as `Policy.rules`.
    Raises ValueError when there are no findings: a command with no parts is a
    classifier fault, never read as allow.
    """
    if not findings:
        raise ValueError("no findings to decide: the classifier found no parts")
    parts = tuple(_decide_one(finding, rules) for finding in findings)
    return Verdict(strictest(*(part.decision for part in parts)), parts)


def _decide_one(finding: Finding, rules: Sequence[Rule]) -> Part:
    managed: list[int] = []
    user: list[int] = []
    floors: list[int] = []
    for index, rule in enumerate(rules):
        if not matches(rule, finding):
            continue
        if rule.layer is LayerKind.MANAGED:
            managed.append(index)
            if rule.decision is not Decision.ALLOW:
                floors.append(index)
        elif rule.layer is LayerKind.USER:
            user.append(index)
        else:
            # A project's rules, and any other layer's, can only tighten.
            floors.append(index)

    base = _strictest_rule(user or managed, rules)
    if base is None:
        decision, candidates = DEFAULT_DECISIONS[finding.category], floors
    else:
        decision, candidates = rules[base].decision, sorted({base, *floors})
    decision = strictest(decision, *(rules[i].decision for i in floors))

    # Among equally strict candidates, a rule says more than a default, and an
    # earlier layer's rule more than a later one's.
    deciding = next((i for i in candidates if rules[i].decision is decision), None)
    if deciding is None:
        return Part(finding, decision, f"built-in: {finding.category}", finding.reason)
    return Part(finding, decision, rules[deciding].origin, rules[deciding].reason)


def _strictest_rule(indices: list[int], rules: Sequence[Rule]) -> int | None:
    """The first of the strictest rules at `indices`, or None when there are none."""
    if not indices:
        return None
    top = strictest(*(rules[index].decision for index in indices))
    return next(index for index in indices if rules[index].decision is top)
