"""Deciding findings: built-in defaults, rules by layer, and matching that quoting
cannot slip past."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.approvals._decide import DEFAULT_DECISIONS, NEVER_ALLOWED, decide, matches
from corral.approvals._model import (
    Category,
    Decision,
    Finding,
    Verdict,
    Word,
    WordKind,
    strictest,
)
from corral.errors import PolicyError
from corral.policy import LayerKind
from corral.policy._merge import merge_layers
from corral.policy._rules import NEVER_ALLOWED_REASONS, Rule
from corral.policy._schema import PolicyLayer, parse_layer

ALLOW, PROMPT, FORBID = Decision.ALLOW, Decision.PROMPT, Decision.FORBID
MANAGED, USER, PROJECT = LayerKind.MANAGED, LayerKind.USER, LayerKind.PROJECT


def lit(text: str) -> Word:
    return Word(text)


def dyn(text: str) -> Word:
    return Word(text, WordKind.DYNAMIC)


def glob(text: str) -> Word:
    return Word(text, WordKind.GLOB)


def words(line: str) -> tuple[Word, ...]:
    """Split on spaces; ``$...`` is DYNAMIC, text with ``*`` or ``?`` is GLOB."""
    out = []
    for text in line.split():
        if text.startswith("$"):
            out.append(dyn(text))
        elif "*" in text or "?" in text:
            out.append(glob(text))
        else:
            out.append(lit(text))
    return tuple(out)


def finding(
    line: str | tuple[Word, ...], category: Category = Category.GIT_REMOTE
) -> Finding:
    argv = words(line) if isinstance(line, str) else line
    return Finding(argv=argv, category=category, reason=f"finding: {category}")


_counter = iter(range(1_000_000))


def make_rule(
    decision: Decision,
    program: str | None = None,
    args: tuple[str, ...] = (),
    category: Category | None = None,
    layer: LayerKind = USER,
) -> Rule:
    return Rule(
        program=program,
        args=args,
        category=category,
        decision=decision,
        reason=f"rule says {decision}",
        origin=f"/{layer.name.lower()}.toml: rules[{next(_counter)}]",
        layer=layer,
    )


# --- built-in defaults -------------------------------------------------------


def test_every_category_has_a_default() -> None:
    assert set(DEFAULT_DECISIONS) == set(Category)


@pytest.mark.parametrize(
    ("category", "decision"),
    [
        *[(c, ALLOW) for c in ("read", "test-build", "execute", "edit", "git-read")],
        *[
            (c, PROMPT)
            for c in (
                "package-install",
                "git-write",
                "git-remote",
                "destructive",
                "network",
                "exec-override",
                "outside-write",
                "unknown",
                "unmodelled",
                "escalation",
            )
        ],
        *[(c, FORBID) for c in ("secret", "privilege", "protected-write")],
    ],
)
def test_built_in_default_is_as_planned(category: str, decision: Decision) -> None:
    assert DEFAULT_DECISIONS[Category(category)] is decision


def test_the_defaults_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        DEFAULT_DECISIONS[Category.SECRET] = ALLOW  # type: ignore[index]


def test_never_allowed_categories_agree_with_the_policy_checks() -> None:
    assert set(NEVER_ALLOWED_REASONS) == NEVER_ALLOWED


def test_without_rules_each_part_has_its_default_and_the_finding_reason() -> None:
    verdict = decide([finding("git status", Category.GIT_READ)], [])

    [part] = verdict.parts
    assert verdict.decision is ALLOW
    assert part.decision is ALLOW
    assert part.rule == "built-in: git-read"
    assert part.reason == "finding: git-read"


def test_no_findings_is_a_classifier_fault_not_an_allow() -> None:
    with pytest.raises(ValueError, match="no findings"):
        decide([], [make_rule(ALLOW, "git")])


def test_the_strictest_part_decides_the_command() -> None:
    findings = [
        finding("ls", Category.READ),
        finding("cat ~/.ssh/id_rsa", Category.SECRET),
        finding("curl x", Category.NETWORK),
    ]

    verdict = decide(findings, [])

    assert verdict.decision is FORBID
    assert [p.decision for p in verdict.parts] == [ALLOW, FORBID, PROMPT]
    assert [p.finding for p in verdict.deciding] == [findings[1]]


# --- matching ----------------------------------------------------------------

# Each case: the rule, the finding, and whether the rule matches it.
R, F = make_rule, finding
C = Category
MATCHING = [
    # program
    (R(FORBID, "git"), F("git push"), True, "program-by-name"),
    (R(FORBID, "git"), F("/usr/bin/git push"), True, "name-matches-a-path-basename"),
    (
        R(ALLOW, "git"),
        F("./git st", C.GIT_READ),
        True,
        "name-matches-relative-basename",
    ),
    (R(FORBID, "git"), F("gitk", C.READ), False, "name-is-not-a-prefix"),
    (
        R(FORBID, "/usr/bin/git"),
        F("/usr/bin/git"),
        True,
        "absolute-path-matches-itself",
    ),
    (R(FORBID, "/usr/bin/git"), F("git push"), False, "absolute-path-needs-whole-word"),
    (R(FORBID, "/bin/git"), F("/usr/bin/git"), False, "absolute-path-is-not-a-suffix"),
    # args as a prefix
    (R(FORBID, "git", ("push",)), F("git push origin"), True, "args-are-a-prefix"),
    (R(FORBID, "git", ("push",)), F("git status"), False, "args-must-fit"),
    (R(FORBID, "git", ("push",)), F("git"), False, "missing-word-misfits-a-literal"),
    (R(FORBID, "git", ("push", "*")), F("git push"), True, "missing-word-fits-a-star"),
    (
        R(ALLOW, "git", ("status", "*")),
        F("git status", C.GIT_READ),
        True,
        "missing-word-fits-a-star-in-an-allow-rule",
    ),
    (
        R(FORBID, "git", ("push", "--force*")),
        F("git push --force-with-lease", C.DESTRUCTIVE),
        True,
        "patterns-are-fnmatch",
    ),
    (
        R(FORBID, "git", ("push", "-[fF]")),
        F("git push -F"),
        True,
        "bracket-patterns-are-fnmatch",
    ),
    (R(FORBID, "git", ("PUSH",)), F("git push"), False, "patterns-are-case-sensitive"),
    (R(FORBID, "rm", ("*",)), F("rm /etc/x"), True, "a-star-matches-slashes"),
    # category
    (R(FORBID, None, (), C.NETWORK), F("curl x", C.NETWORK), True, "category-alone"),
    (R(FORBID, None, (), C.NETWORK), F("ls", C.READ), False, "category-must-be-equal"),
    (
        R(FORBID, "git", (), C.GIT_REMOTE),
        F("git status", C.GIT_READ),
        False,
        "program-and-category-need-both",
    ),
    (
        R(FORBID, "git", (), C.GIT_REMOTE),
        F("git push"),
        True,
        "program-and-category-both-fit",
    ),
    (R(FORBID, "git"), F("", C.EDIT), False, "no-words-no-program-match"),
    (R(FORBID, None, (), C.EDIT), F("", C.EDIT), True, "no-words-category-match"),
    # quoting and expansions
    (
        R(ALLOW, "git", ("push",)),
        F((lit("git"), lit("push"))),
        True,
        "quoted-word-is-literal-and-matches-allow",
    ),
    (
        R(FORBID, "git", ("push",)),
        F((lit("git"), lit("push"))),
        True,
        "quoted-word-is-literal-and-matches-forbid",
    ),
    (R(ALLOW, "git", ("status",)), F("git $X"), False, "expansion-defeats-allow"),
    (R(FORBID, "git", ("push",)), F("git $X"), True, "expansion-matches-forbid"),
    (
        R(FORBID, "git", ("push", "origin")),
        F("git $X"),
        True,
        "expansion-makes-later-positions-match-forbid",
    ),
    (
        R(PROMPT, "git", ("push", "origin")),
        F("git push $X"),
        True,
        "expansion-at-a-later-position-matches-prompt",
    ),
    (
        R(FORBID, "git", ("push", "*")),
        F("git status $X"),
        False,
        "literal-misfit-before-an-expansion-still-misfits",
    ),
    (
        R(ALLOW, "git", ("status",)),
        F("git status $X"),
        True,
        "expansion-after-the-prefix-does-not-defeat-allow",
    ),
    (
        R(ALLOW, "git", ("status", "*")),
        F("git status $X"),
        False,
        "expansion-at-a-compared-star-defeats-allow",
    ),
    (R(ALLOW, "git"), F("$G status"), False, "expanded-program-defeats-allow"),
    (
        R(FORBID, "git", ("push",)),
        F("$G push"),
        True,
        "expanded-program-matches-forbid",
    ),
    (R(ALLOW, "git", ("push",)), F("git pu*"), False, "glob-defeats-allow"),
    (R(FORBID, "git", ("push",)), F("git pu*"), True, "glob-matches-forbid"),
    (R(FORBID, "/usr/bin/git"), F("/usr/*/git"), True, "glob-program-matches-forbid"),
    # what no allow rule matches
    (R(ALLOW, "eval"), F("eval x", C.UNMODELLED), False, "allow-never-unmodelled"),
    (R(ALLOW, "git"), F("git push", C.ESCALATION), False, "allow-never-escalation"),
    (R(FORBID, "eval"), F("eval x", C.UNMODELLED), True, "forbid-matches-unmodelled"),
]


@pytest.mark.parametrize(
    ("rule", "found", "expected"),
    [pytest.param(*case[:3], id=case[3]) for case in MATCHING],
)
def test_matching(rule: Rule, found: Finding, expected: bool) -> None:
    assert matches(rule, found) is expected


# --- layers ------------------------------------------------------------------

# Each case: the finding's category, the rules (decision, layer, category), and
# the part's decision.
LAYERS = [
    pytest.param("git-remote", [], PROMPT, id="no-rule-gives-the-default"),
    pytest.param(
        "git-remote", [(ALLOW, USER)], ALLOW, id="user-allow-loosens-a-default"
    ),
    pytest.param(
        "secret", [(ALLOW, USER)], ALLOW, id="user-allow-loosens-even-a-forbid-default"
    ),
    pytest.param("read", [(FORBID, USER)], FORBID, id="user-forbid-tightens-a-default"),
    pytest.param(
        "git-remote",
        [(ALLOW, USER), (FORBID, PROJECT)],
        FORBID,
        id="project-forbid-tightens-a-user-allow",
    ),
    pytest.param(
        "read", [(PROMPT, PROJECT)], PROMPT, id="project-prompt-tightens-a-default"
    ),
    pytest.param(
        "git-remote",
        [(ALLOW, PROJECT)],
        PROMPT,
        id="a-project-allow-built-by-hand-loosens-nothing",
    ),
    pytest.param(
        "git-remote",
        [(FORBID, MANAGED), (ALLOW, USER)],
        FORBID,
        id="managed-forbid-is-not-undone-by-a-user-allow",
    ),
    pytest.param(
        "git-remote",
        [(PROMPT, MANAGED), (ALLOW, USER)],
        PROMPT,
        id="managed-prompt-is-a-floor-under-a-user-allow",
    ),
    pytest.param(
        "git-remote",
        [(ALLOW, MANAGED)],
        ALLOW,
        id="managed-allow-replaces-the-default",
    ),
    pytest.param(
        "git-remote",
        [(ALLOW, MANAGED), (FORBID, USER)],
        FORBID,
        id="user-forbid-tightens-a-managed-allow",
    ),
    pytest.param(
        "read",
        [(FORBID, MANAGED), (ALLOW, MANAGED)],
        FORBID,
        id="strictest-of-the-managed-rules",
    ),
    pytest.param(
        "git-remote",
        [(ALLOW, USER), (PROMPT, USER)],
        PROMPT,
        id="strictest-of-the-user-rules",
    ),
    pytest.param(
        "git-remote",
        [(FORBID, USER), (ALLOW, USER)],
        FORBID,
        id="user-rules-order-does-not-matter",
    ),
    pytest.param(
        "unmodelled",
        [(ALLOW, MANAGED), (ALLOW, USER)],
        PROMPT,
        id="unmodelled-is-never-allowed",
    ),
    pytest.param(
        "escalation",
        [(ALLOW, MANAGED), (ALLOW, USER)],
        PROMPT,
        id="escalation-is-never-allowed",
    ),
]


@pytest.mark.parametrize(("category", "rules", "expected"), LAYERS)
def test_layers(
    category: str, rules: list[tuple[Decision, LayerKind]], expected: Decision
) -> None:
    made = [make_rule(decision, "git", (), None, layer) for decision, layer in rules]

    verdict = decide([finding("git push", Category(category))], made)

    assert verdict.decision is expected


# --- which rule is named -----------------------------------------------------


def test_the_deciding_rule_is_named_with_its_reason() -> None:
    user = make_rule(ALLOW, "git")

    [part] = decide([finding("git push")], [user]).parts

    assert part.rule == user.origin
    assert part.reason == "rule says allow"


def test_a_floor_that_tightens_is_the_rule_named() -> None:
    user, project = make_rule(ALLOW, "git"), make_rule(FORBID, "git", layer=PROJECT)

    [part] = decide([finding("git push")], [user, project]).parts

    assert part.rule == project.origin


def test_a_rule_equal_to_the_default_is_named_over_the_default() -> None:
    project = make_rule(PROMPT, "git", layer=PROJECT)

    [part] = decide([finding("git push")], [project]).parts

    assert part.decision is PROMPT
    assert part.rule == project.origin


def test_of_equal_rules_the_earlier_layer_is_named() -> None:
    managed, user = make_rule(FORBID, "git", layer=MANAGED), make_rule(FORBID, "git")

    [part] = decide([finding("git push")], [managed, user]).parts

    assert part.rule == managed.origin


def test_a_rule_that_does_not_match_leaves_the_default_named() -> None:
    rule = make_rule(FORBID, "curl")

    [part] = decide([finding("git push")], [rule]).parts

    assert part.rule == "built-in: git-remote"
    assert part.reason == "finding: git-remote"


# --- from policy files -------------------------------------------------------

RULE = '[[rules]]\nprogram = "git"\nargs = ["push"]\ndecision = "{}"\nreason = "{}"\n'


def policy_rules(
    managed: str | None = None, user: str | None = None, project: str | None = None
) -> tuple[Rule, ...]:
    def layer(text: str | None, kind: LayerKind) -> PolicyLayer | None:
        origin = f"/{kind.name.lower()}.toml"
        return None if text is None else parse_layer(text.encode(), origin, kind)

    return merge_layers(
        layer(managed, MANAGED),
        layer(user, USER),
        layer(project, PROJECT),
        None,
        environ={},
    ).rules


def decided(rules: tuple[Rule, ...], line: str = "git push origin") -> Verdict:
    return decide([finding(line)], rules)


def test_file_user_allow_loosens_a_default() -> None:
    verdict = decided(policy_rules(user=RULE.format("allow", "we push")))

    assert verdict.decision is ALLOW
    assert verdict.parts[0].rule == "/user.toml: rules[0]"
    assert verdict.parts[0].reason == "we push"


def test_file_project_allow_is_a_load_error() -> None:
    with pytest.raises(PolicyError, match="cannot be set by a project policy"):
        policy_rules(project=RULE.format("allow", "x"))


def test_file_project_forbid_tightens_a_user_allow() -> None:
    rules = policy_rules(
        user=RULE.format("allow", "we push"), project=RULE.format("forbid", "CI only")
    )

    verdict = decided(rules)

    assert verdict.decision is FORBID
    assert verdict.parts[0].rule == "/project.toml: rules[0]"
    assert verdict.parts[0].reason == "CI only"


def test_file_managed_forbid_cannot_be_undone_by_a_user_allow() -> None:
    rules = policy_rules(
        managed=RULE.format("forbid", "admins say no"),
        user=RULE.format("allow", "we push"),
    )

    verdict = decided(rules)

    assert verdict.decision is FORBID
    assert verdict.parts[0].reason == "admins say no"


def test_file_managed_allow_replaces_the_default_but_a_user_forbid_tightens() -> None:
    managed = RULE.format("allow", "pushes are fine")

    assert decided(policy_rules(managed=managed)).decision is ALLOW
    tightened = policy_rules(managed=managed, user=RULE.format("forbid", "not mine"))
    assert decided(tightened).decision is FORBID


def test_file_rules_cannot_be_bypassed_by_an_expansion() -> None:
    rules = policy_rules(
        managed=RULE.format("forbid", "CI only"),
        user='[[rules]]\nprogram = "git"\nargs = ["status"]\ndecision = "allow"\n'
        'reason = "r"\n',
    )

    assert decided(rules, "git $X").decision is FORBID
    assert decided(rules, "git status").decision is ALLOW


# --- properties --------------------------------------------------------------

PROGRAMS = ["git", "/usr/bin/git", "rm", "curl"]
TEXTS = ["git", "/usr/bin/git", "rm", "push", "status", "-f", "origin", "", "x*"]
PATTERNS = ["push", "*", "-*", "st*", "*us", "*a*", "?", "[ps]*", "", "origin"]

word_st = st.builds(Word, st.sampled_from(TEXTS), st.sampled_from(list(WordKind)))
finding_st = st.builds(
    Finding,
    argv=st.lists(word_st, max_size=4).map(tuple),
    category=st.sampled_from(list(Category)),
    reason=st.just("found"),
)


@st.composite
def rule_st(draw: st.DrawFn, decision: Decision | None = None) -> Rule:
    program = draw(st.none() | st.sampled_from(PROGRAMS))
    category = draw(st.none() | st.sampled_from(list(Category)))
    if program is None and category is None:
        category = Category.READ
    args = () if program is None else tuple(draw(st.lists(st.sampled_from(PATTERNS))))
    layer = draw(st.sampled_from([MANAGED, USER, PROJECT]))
    chosen = decision or draw(st.sampled_from(list(Decision)))
    return make_rule(chosen, program, args, category, layer)


RANK = {ALLOW: 0, PROMPT: 1, FORBID: 2}

SETTINGS = settings(database=None)  # no example database: any user may run the suite


@SETTINGS
@given(
    st.lists(finding_st, min_size=1, max_size=4),
    st.lists(rule_st(), max_size=6),
    rule_st(FORBID),
)
def test_adding_a_forbid_rule_never_loosens_a_part(
    findings: list[Finding], rules: list[Rule], extra: Rule
) -> None:
    before = decide(findings, rules)
    for position in (0, len(rules)):
        after = decide(findings, [*rules[:position], extra, *rules[position:]])

        assert RANK[after.decision] >= RANK[before.decision]
        for old, new, found in zip(before.parts, after.parts, findings, strict=True):
            assert RANK[new.decision] >= RANK[old.decision]
            if matches(extra, found):
                assert new.decision is FORBID


@SETTINGS
@given(
    st.lists(finding_st, min_size=1, max_size=4),
    st.lists(rule_st(), max_size=6),
    finding_st,
)
def test_adding_a_finding_never_loosens_the_verdict(
    findings: list[Finding], rules: list[Rule], extra: Finding
) -> None:
    before = decide(findings, rules)
    alone = decide([extra], rules)

    after = decide([*findings, extra], rules)

    assert after.decision is strictest(before.decision, alone.decision)
    if alone.decision is FORBID:
        assert after.decision is FORBID


@SETTINGS
@given(rule_st(ALLOW), finding_st)
def test_what_an_allow_rule_matches_a_forbid_rule_matches_too(
    allow: Rule, found: Finding
) -> None:
    forbid = make_rule(FORBID, allow.program, allow.args, allow.category, allow.layer)

    if matches(allow, found):
        assert matches(forbid, found)


@SETTINGS
@given(st.sampled_from(PATTERNS) | st.text("ab*?[]!-", max_size=5), st.text("ab-*"))
def test_argument_patterns_agree_with_fnmatch(pattern: str, text: str) -> None:
    rule = make_rule(FORBID, "x", (pattern,))

    assert rule.arg_fits(0, text) is fnmatch.fnmatchcase(text, pattern)


# --- exact rules ---------------------------------------------------------------


def _exact(decision: Decision, program: str, *args: str) -> Rule:
    return Rule(
        program=program,
        args=args,
        exact=True,
        decision=decision,
        reason="exact",
        origin="/user.toml: rules[0]",
        layer=USER,
    )


@pytest.mark.parametrize(
    ("rule", "line", "expected"),
    [
        pytest.param(_exact(ALLOW, "npm", "install", "a"), "npm install a", True,
                     id="exact-allow-matches-the-same-words"),
        pytest.param(_exact(ALLOW, "npm", "install", "a"), "npm install a b", False,
                     id="exact-allow-refuses-an-extra-word"),
        pytest.param(_exact(ALLOW, "npm", "install", "a"), "npm install", False,
                     id="exact-allow-refuses-a-missing-word"),
        pytest.param(_exact(ALLOW, "npm", "install", "a"), "npm install a $X", False,
                     id="exact-allow-refuses-an-expansion-after-the-words"),
        pytest.param(_exact(FORBID, "npm", "install", "a"), "npm install a b", False,
                     id="exact-forbid-misses-a-longer-literal-command"),
        pytest.param(_exact(FORBID, "npm", "install", "a"), "npm install $X", True,
                     id="exact-forbid-matches-what-an-expansion-could-become"),
    ],
)  # fmt: skip
def test_exact_rules_match_only_that_many_words(
    rule: Rule, line: str, expected: bool
) -> None:
    assert matches(rule, finding(line)) is expected
