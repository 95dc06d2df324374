"""What echo, printf and cat print, as the parser computes it for a pipeline.

The builtins' own output is the reference: every case known to the parser is
also run through real bash, and must print exactly the same text.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.approvals import Invocation, Redirect, Word, WordKind
from corral.approvals.shell._escapes import EscapeMode, decode_escapes
from corral.approvals.shell._output import stdout_of
from tests.approvals.shell._bash import bash_stdout, needs_bash


def printed(*argv: str, source: str = "src") -> Word | None:
    """Return what the command `argv`, all literal words, prints."""
    return stdout_of(Invocation(tuple(Word(a) for a in argv), source=source))


KNOWN = [
    pytest.param(["echo", "a", "b"], "a b\n", id="echo"),
    pytest.param(["echo"], "\n", id="echo-nothing"),
    pytest.param(["echo", "-n", "a"], "a", id="echo-n"),
    pytest.param(["echo", "-n", "-e", "a\\tb"], "a\tb", id="echo-n-e"),
    pytest.param(["echo", "-ne", "a\\nb\\c", "x"], "a\nb", id="echo-c-stops"),
    pytest.param(
        ["echo", "-e", "\\0101\\101\\x41\\u00e9"], "A\\101Aé\n", id="echo-e-numbers"
    ),
    pytest.param(["echo", "-eE", "a\\tb"], "a\\tb\n", id="echo-capital-e-wins"),
    pytest.param(["echo", "-nx", "a"], "-nx a\n", id="echo-unknown-option-is-text"),
    pytest.param(["echo", "--", "a"], "-- a\n", id="echo-double-dash-is-text"),
    pytest.param(["echo", "a", "-n"], "a -n\n", id="echo-option-after-text"),
    pytest.param(["printf", "a\\tb\\n"], "a\tb\n", id="printf-escapes"),
    pytest.param(["printf", "%s-%s;", "a", "b", "c"], "a-b;c-;", id="printf-reuse"),
    pytest.param(
        ["printf", "%d|%i|", "-3", "+4", "0"], "-3|4|0|0|", id="printf-integers"
    ),
    pytest.param(["printf", "%b|%s", "a\\tb", "a\\tb"], "a\tb|a\\tb", id="printf-b"),
    pytest.param(["printf", "%b%s", "a\\cb", "x"], "a", id="printf-b-c-stops"),
    pytest.param(["printf", "100%%"], "100%", id="printf-percent"),
    pytest.param(["printf", "x"], "x", id="printf-format-only"),
    pytest.param(["printf", "x", "unused"], "x", id="printf-no-conversion-once"),
    pytest.param(["printf", "--", "%s", "a"], "a", id="printf-double-dash"),
    pytest.param(["printf", "--", "-x"], "-x", id="printf-dash-format"),
    pytest.param(
        ["printf", '\\101\\0101|\\q\\c|\\"\\?'],
        'A\b1|\\q\\c|"?',
        id="printf-format-escapes",
    ),
    pytest.param(["printf", "%s", "\\n"], "\\n", id="printf-s-is-raw"),
    pytest.param(
        ["printf", "a\\%s|", "x", "y"], "a\\x|a\\y|", id="printf-backslash-percent"
    ),
]


@needs_bash
@pytest.mark.parametrize(("argv", "text"), KNOWN)
def test_known_output_is_what_bash_prints(
    argv: list[str], text: str, tmp_path: Path
) -> None:
    assert printed(*argv) == Word(text)
    assert bash_stdout(shlex.join(argv), tmp_path) == text


DYNAMIC = [
    pytest.param(["printf", "%5s", "a"], id="width"),
    pytest.param(["printf", "%x", "10"], id="other-conversion"),
    pytest.param(["printf", "%d", "010"], id="octal-integer"),
    pytest.param(["printf", "%d", "1a"], id="not-an-integer"),
    pytest.param(["printf", "%"], id="lone-percent"),
    pytest.param(["echo", "-e", "\\U110000"], id="past-unicode"),
    pytest.param(["printf"], id="printf-without-format"),
    pytest.param(["printf", "-x", "a"], id="printf-unknown-option"),
]


@pytest.mark.parametrize("argv", DYNAMIC)
def test_output_it_cannot_compute_is_dynamic(argv: list[str]) -> None:
    """Shown as the command's source, never guessed."""
    assert printed(*argv, source="the source") == Word("the source", WordKind.DYNAMIC)


def test_words_that_are_not_literal_make_dynamic_output() -> None:
    invocation = Invocation((Word("echo"), Word("$x", WordKind.DYNAMIC)), source="s")
    assert stdout_of(invocation) == Word("s", WordKind.DYNAMIC)


NONE = [
    pytest.param(Invocation((Word("ls"),)), id="other-program"),
    pytest.param(Invocation((Word("/bin/echo"), Word("x"))), id="echo-not-the-builtin"),
    pytest.param(
        Invocation((Word("echo"), Word("x")), redirects=(Redirect(">", Word("f")),)),
        id="stdout-to-a-file",
    ),
    pytest.param(
        Invocation(
            (Word("echo"), Word("x")), redirects=(Redirect(">&", Word("2"), 1),)
        ),
        id="stdout-to-stderr",
    ),
    pytest.param(
        Invocation((Word("cat"), Word("f")), stdin_text=Word("x")), id="cat-of-a-file"
    ),
    pytest.param(Invocation((Word("cat"),)), id="cat-of-unknown-stdin"),
    pytest.param(Invocation(()), id="no-words"),
]


@pytest.mark.parametrize("invocation", NONE)
def test_commands_whose_output_is_not_shown(invocation: Invocation) -> None:
    assert stdout_of(invocation) is None


def test_printf_to_a_variable_prints_nothing() -> None:
    assert printed("printf", "-v", "v", "x") == Word("")


@pytest.mark.parametrize("name", ["cat", "/bin/cat", "/usr/bin/cat"])
def test_cat_prints_its_stdin(name: str) -> None:
    invocation = Invocation((Word(name), Word("-")), stdin_text=Word("x\n"))
    assert stdout_of(invocation) == Word("x\n")


def test_stderr_redirect_keeps_stdout() -> None:
    invocation = Invocation(
        (Word("echo"), Word("x")), redirects=(Redirect(">", Word("f"), 2),)
    )
    assert stdout_of(invocation) == Word("x\n")


ESCAPES = [
    pytest.param("a\\nb", EscapeMode.ANSI_C, ("a\nb", False), id="newline"),
    pytest.param("\\c", EscapeMode.ANSI_C, ("\\c", False), id="ansi-c-c-at-end"),
    pytest.param(
        "\\c\\\\x", EscapeMode.ANSI_C, ("\x1cx", False), id="ansi-c-control-backslash"
    ),
    pytest.param("a\\cb", EscapeMode.ECHO, ("a", True), id="echo-c"),
    pytest.param(
        "a\\cb", EscapeMode.PRINTF_FORMAT, ("a\\cb", False), id="format-c-kept"
    ),
    pytest.param(
        "\\101", EscapeMode.ECHO, ("\\101", False), id="echo-octal-needs-zero"
    ),
    pytest.param("\\101", EscapeMode.PRINTF_B, ("A", False), id="printf-b-octal"),
    pytest.param("\\xc3\\xa9", EscapeMode.ANSI_C, ("é", False), id="bytes-make-utf8"),
    pytest.param("\\xff", EscapeMode.ANSI_C, ("\udcff", False), id="byte-past-utf8"),
    pytest.param("\\ud800", EscapeMode.ANSI_C, None, id="surrogate-code-point"),
    pytest.param("x\\", EscapeMode.ECHO, ("x\\", False), id="trailing-backslash"),
]


@pytest.mark.parametrize(("text", "mode", "decoded"), ESCAPES)
def test_escapes(text: str, mode: EscapeMode, decoded: tuple[str, bool] | None) -> None:
    assert decode_escapes(text, mode) == decoded


_FORMAT_PART = st.one_of(
    st.sampled_from(["a", " ", "%s", "%b", "%d", "%%", "|"]),
    st.sampled_from(["\\n", "\\t", "\\\\", "\\101", "\\x41", "\\q", '\\"', "\\0"]),
)
_FORMAT = st.lists(_FORMAT_PART, min_size=1, max_size=6).map("".join)
_VALUE = st.one_of(
    st.sampled_from(["", "x", "-1", "+2", "0", "07", "a b"]),
    st.lists(
        st.sampled_from(["a", "\\n", "\\t", "\\c", "\\0101", "\\101", "\\\\", "%s"]),
        max_size=3,
    ).map("".join),
)


@needs_bash
@settings(
    max_examples=200,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(format_=_FORMAT, values=st.lists(_VALUE, max_size=4))
def test_generated_printf_prints_what_bash_prints(
    format_: str, values: list[str], tmp_path: Path
) -> None:
    """Whatever printf the parser computes, bash prints the same text."""
    result = printed("printf", format_, *values)
    assert result is not None
    if result.kind is WordKind.LITERAL:
        assert result.text == bash_stdout(
            shlex.join(["printf", format_, *values]), tmp_path
        )


_ECHO_OPTIONS = st.lists(
    st.sampled_from(["-n", "-e", "-E", "-ne", "-x", "--"]), max_size=2
)


@needs_bash
@settings(
    max_examples=100,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(options=_ECHO_OPTIONS, values=st.lists(_VALUE, max_size=3))
def test_generated_echo_prints_what_bash_prints(
    options: list[str], values: list[str], tmp_path: Path
) -> None:
    argv = ["echo", *options, *values]
    result = printed(*argv)
    assert result is not None
    if result.kind is WordKind.LITERAL:
        assert result.text == bash_stdout(shlex.join(argv), tmp_path)
