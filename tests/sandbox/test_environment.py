"""The environment matcher agrees with fnmatch on every pattern and name."""

from __future__ import annotations

import fnmatch

from hypothesis import given, settings
from hypothesis import strategies as st

from corral.sandbox._environment import _matches

_ALPHABET = st.sampled_from("AB_*?[]!x")


@settings(database=None, max_examples=2000)
@given(name=st.text("AB_x", max_size=6), pattern=st.text(_ALPHABET, max_size=6))
def test_matching_is_fnmatchcase(name: str, pattern: str) -> None:
    assert _matches(name, (pattern,)) == fnmatch.fnmatchcase(name, pattern)


def test_the_common_forms_match_as_fnmatch_does() -> None:
    for pattern, name, expected in [
        ("PATH", "PATH", True),
        ("PATH", "PATHS", False),
        ("LC_*", "LC_ALL", True),
        ("LC_*", "XLC_ALL", False),
        ("*KEY*", "AWS_KEY_ID", True),
        ("*KEY*", "KEY", True),
        ("*_AUTH", "NPM_AUTH", True),
        ("*_AUTH", "NPM_AUTHOR", False),
        ("*", "", True),
        ("", "", True),
        ("", "A", False),
    ]:
        assert _matches(name, (pattern,)) is expected, (pattern, name)
