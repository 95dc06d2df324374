"""Variables a project may not set: each has a reason, and README lists them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corral.policy._env_deny import PROJECT_ENV_SET_FORBIDDEN, forbidden_reason

README = Path(__file__).parents[2] / "README.md"
SECTION = "### Variables a project policy may not set"


def test_readme_lists_exactly_the_forbidden_patterns() -> None:
    text = README.read_text()
    section = text[text.index(SECTION) :].split("\n### ", 1)[0]
    listed = {name for name in re.findall(r"`([^`]+)`", section) if "/" not in name}
    assert listed == {pattern for pattern, _ in PROJECT_ENV_SET_FORBIDDEN}


def test_every_pattern_has_a_reason_and_appears_once() -> None:
    patterns = [pattern for pattern, _ in PROJECT_ENV_SET_FORBIDDEN]
    assert len(patterns) == len(set(patterns))
    assert all(reason.strip() for _, reason in PROJECT_ENV_SET_FORBIDDEN)


@pytest.mark.parametrize("name", ["npm_config_script_shell", "http_proxy", "Path"])
def test_names_match_whatever_their_case(name: str) -> None:
    assert forbidden_reason(name) is not None
