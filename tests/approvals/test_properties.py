"""Properties of classification that hold for every command, checked with hypothesis:
adding a part never makes a command less strict, and a forbidden part is found
wherever it is put."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.approvals import Decision, strictest
from corral.approvals._classify import classify_script
from corral.approvals._context import make_context
from corral.approvals._decide import decide
from corral.approvals.shell._parse import parse
from corral.policy import Policy, load_policy
from tests.conftest import Home

SIMPLE = [
    "ls -la",
    "cat README",
    "git status",
    "pytest -q",
    "make",
    "echo hi",
    "git push",
    "pip install x",
    "curl http://127.0.0.1:9/",
    "frobnicate",
    "sudo id",
    "echo x > .git/hooks/a",
]
SEPARATORS = [" ; ", " && ", " || ", " | ", " & ", "\n", " |& "]
# Ways to put a part somewhere inside a command, each with the part as {}.
PLACES = [
    "{}",
    "({})",
    "{{ {}; }}",
    "echo $({})",
    'echo "$({})"',
    "echo `{}`",
    "cat <({})",
    "sh -c '{}'",
    "bash -lc '{}'",
    "if true; then {}; fi",
    "for i in 1; do {}; done",
    "while false; do {}; done",
    "f() {{ {}; }}",
    "timeout 5 {}",
    "env A=1 {}",
    "nice -n 1 {}",
    "nohup {}",
]
FORBIDDEN = "sudo id"


@pytest.fixture
def decide_line(workspace: Path, home: Home) -> Callable[[str], Decision]:
    environ = home.env()
    policy: Policy = load_policy(workspace, environ=environ)
    context = make_context(policy, workspace, workspace, environ)

    def decision(line: str) -> Decision:
        findings = classify_script(parse(line, home=str(home.path)), context)
        return decide(findings, policy.rules).decision

    return decision


commands = st.lists(st.sampled_from(SIMPLE), min_size=1, max_size=4).flatmap(
    lambda parts: st.lists(
        st.sampled_from(SEPARATORS), min_size=len(parts) - 1, max_size=len(parts) - 1
    ).map(lambda seps: _join(parts, seps))
)


def _join(parts: list[str], separators: list[str]) -> str:
    line = parts[0]
    for separator, part in zip(separators, parts[1:], strict=True):
        line += separator + part
    return line


_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@_SETTINGS
@given(left=commands, right=commands, separator=st.sampled_from(SEPARATORS))
def test_joining_commands_is_at_least_as_strict_as_either(
    decide_line: Callable[[str], Decision], left: str, right: str, separator: str
) -> None:
    joined = decide_line(left + separator + right)
    assert joined is strictest(joined, decide_line(left), decide_line(right))


@_SETTINGS
@given(
    line=commands,
    place=st.sampled_from(PLACES),
    separator=st.sampled_from(SEPARATORS),
    before=st.booleans(),
)
def test_a_forbidden_part_is_found_wherever_it_is_put(
    decide_line: Callable[[str], Decision],
    line: str,
    place: str,
    separator: str,
    before: bool,
) -> None:
    hidden = place.format(FORBIDDEN)
    combined = hidden + separator + line if before else line + separator + hidden
    assert decide_line(combined) is Decision.FORBID


@_SETTINGS
@given(line=commands, place=st.sampled_from(PLACES))
def test_wrapping_a_command_never_makes_it_less_strict(
    decide_line: Callable[[str], Decision], line: str, place: str
) -> None:
    if "'" in place and "'" in line:
        return
    wrapped = place.format(line)
    bare = decide_line(line)
    assert decide_line(wrapped) is strictest(decide_line(wrapped), bare)
