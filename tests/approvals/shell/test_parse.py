"""The parser: every simple command a piece of shell text can run, found anywhere.

Each table states one behaviour per row, by id: where commands are found,
what assignments and redirections they carry, what a pipeline feeds them,
and what the parser reports instead of guessing.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from corral.approvals import Assignment, Invocation, Redirect, Script, Word, WordKind
from corral.approvals.shell._parse import MAX_DEPTH, MAX_TEXT_BYTES, parse
from corral.approvals.shell._source import MAX_REASONS
from tests.approvals.shell._bash import HOME as BASH_HOME
from tests.approvals.shell._bash import bash_stdout, needs_bash

HOME = "/home/u"
DYNAMIC = WordKind.DYNAMIC


def commands(text: str) -> list[tuple[str, ...]]:
    """Return the words of each invocation `text` parses into, which it models."""
    script = parse(text, home=HOME)
    assert script.unmodelled == ()
    return [tuple(w.text for w in i.words) for i in script.invocations]


def only(text: str) -> Invocation:
    """Return the one invocation `text` parses into, which it models."""
    script = parse(text, home=HOME)
    assert script.unmodelled == ()
    (invocation,) = script.invocations
    return invocation


FLATTENED = [
    pytest.param("a; b", [("a",), ("b",)], id="semicolon"),
    pytest.param("a\nb\n\nc", [("a",), ("b",), ("c",)], id="newlines"),
    pytest.param("a && b || c", [("a",), ("b",), ("c",)], id="and-or"),
    pytest.param("a & b", [("a",), ("b",)], id="background"),
    pytest.param("a | b |& c", [("a",), ("b",), ("c",)], id="pipelines"),
    pytest.param("( a; b )", [("a",), ("b",)], id="subshell"),
    pytest.param("{ a; b; }", [("a",), ("b",)], id="group"),
    pytest.param(
        "if a; then b; elif c; then d; else e; fi",
        [("a",), ("b",), ("c",), ("d",), ("e",)],
        id="if-elif-else",
    ),
    pytest.param("while a; do b; done", [("a",), ("b",)], id="while"),
    pytest.param("until a; do b; done", [("a",), ("b",)], id="until"),
    pytest.param("for x in y z; do b; done", [(), ("b",)], id="for-assigns-then-body"),
    pytest.param("select x in y; do b; done", [(), ("b",)], id="select"),
    pytest.param("for ((i=0; i<3; i++)); do b; done", [(), ("b",)], id="c-style-for"),
    pytest.param(
        "case x in a) b;; *) c;& d) e;; esac", [("b",), ("c",), ("e",)], id="case"
    ),
    pytest.param("f() { a; }; f", [("a",), ("f",)], id="function-body"),
    pytest.param("function g { a; }", [("a",)], id="function-keyword"),
    pytest.param(
        "[[ -f x && y == z* ]]",
        [("[[", "-f", "x", "&&", "y", "==", "z*", "]]")],
        id="double-bracket-test",
    ),
    pytest.param("[ -d x ]", [("[", "-d", "x", "]")], id="bracket-test"),
    pytest.param("! a", [("a",)], id="negation"),
    pytest.param("! { a; }", [("a",)], id="negated-group"),
    pytest.param("time a | b", [("a",), ("b",)], id="time-keyword"),
    pytest.param("time -p -- a", [("a",)], id="time-with-options"),
    pytest.param("time { a; b; }", [("a",), ("b",)], id="time-before-group"),
    pytest.param("time ( a )", [("a",)], id="time-before-subshell"),
    pytest.param("time [[ a ]]", [("[[", "a", "]]")], id="time-before-a-test"),
    pytest.param("time ! a", [("a",)], id="time-before-negation"),
    pytest.param("time ((2 > 1))", [], id="time-before-arithmetic"),
    pytest.param("time time a", [("a",)], id="time-twice"),
    pytest.param("a | time b", [("a",), ("time", "b")], id="time-later-is-a-program"),
    pytest.param("((1 + 1)); ((0))", [], id="arithmetic-command-runs-nothing"),
    pytest.param("unset -f X Y", [("unset", "-f", "X", "Y")], id="unset"),
    pytest.param("exit", [("exit",)], id="builtin"),
    pytest.param("a # b; c", [("a",)], id="comment"),
]


@pytest.mark.parametrize(("text", "expected"), FLATTENED)
def test_commands_are_flattened_in_source_order(
    text: str, expected: list[tuple[str, ...]]
) -> None:
    assert commands(text) == expected


SUBSTITUTED = [
    pytest.param("echo $(a)", "$(a)", id="command-substitution"),
    pytest.param("echo `a`", "`a`", id="backquotes"),
    pytest.param('echo "x $(a) y"', '"x $(a) y"', id="in-double-quotes"),
    pytest.param("echo x$(a)y", "x$(a)y", id="in-a-concatenation"),
    pytest.param("echo ${x:-$(a)}", "${x:-$(a)}", id="parameter-default"),
    pytest.param('echo "${x:-"$(a)"}"', '"${x:-"$(a)"}"', id="quoted-default"),
    pytest.param("diff <(a) x", "<(a)", id="process-substitution-in"),
    pytest.param("tee >(a)", ">(a)", id="process-substitution-out"),
    pytest.param("echo $(echo $(a))", "$(echo $(a))", id="nested"),
    pytest.param("[[ -n $(a) ]]", "$(a)", id="test-operand"),
]


@pytest.mark.parametrize(("text", "word"), SUBSTITUTED)
def test_substitutions_in_words_are_walked(text: str, word: str) -> None:
    """The command's word is dynamic, and the substitution's commands follow it."""
    script = parse(text, home=HOME)
    assert script.unmodelled == ()
    first, *rest = script.invocations
    assert Word(word, DYNAMIC) in first.words
    assert ("a",) in [tuple(w.text for w in i.words) for i in rest]


ELSEWHERE = [
    pytest.param("x=$(a)", id="bare-assignment"),
    pytest.param("x=$(a) b", id="inline-assignment"),
    pytest.param("b > $(a)", id="redirect-target"),
    pytest.param("arr=(x $(a))", id="array-element"),
    pytest.param("export X=$(a)", id="export"),
    pytest.param("local X=$(a)", id="local"),
    pytest.param("declare -x X=$(a)", id="declare"),
    pytest.param("readonly X=$(a)", id="readonly"),
    pytest.param("typeset X=$(a)", id="typeset"),
    pytest.param("for x in $(a); do :; done", id="for-words"),
    pytest.param("case $(a) in x) ;; esac", id="case-word"),
    pytest.param("case x in $(a)) ;; esac", id="case-pattern"),
    pytest.param("cat <<< $(a)", id="herestring"),
    pytest.param("cat <<EOF\n$(a)\nEOF", id="heredoc-body"),
    pytest.param("f() { :; } > $(a)", id="function-redirect"),
    pytest.param(": ${x:=$(a)}", id="assigning-default"),
]


@pytest.mark.parametrize("text", ELSEWHERE)
def test_substitutions_anywhere_else_are_walked(text: str) -> None:
    assert ("a",) in commands(text)


ARITHMETIC = [
    pytest.param("echo ${x[$(a)]}", id="array-index"),
    pytest.param("echo $(( $(a) + 1 ))", id="arithmetic"),
    pytest.param("for ((i=$(a); i<1; i++)); do :; done", id="c-style-for-initializer"),
    pytest.param("((x = $(a)))", id="arithmetic-command"),
    pytest.param("read x; echo $((x))", id="a-variable-of-unknown-value"),
    pytest.param("read y; [[ $y -gt 0 ]]", id="an-arithmetic-test"),
]


@pytest.mark.parametrize("text", ARITHMETIC)
def test_arithmetic_on_what_is_not_surely_a_number_is_unmodelled(text: str) -> None:
    """bash evaluates a value there as an expression (a[$(cmd)] runs cmd); the
    substitutions written in it are walked all the same."""
    script = parse(text, home=HOME)
    assert any("arithmetic" in reason for reason in script.unmodelled)
    if "$(a)" in text:
        assert ("a",) in [tuple(w.text for w in i.words) for i in script.invocations]


BACKQUOTED = [
    pytest.param(": `: \\`a b\\``", id="escaped-backquotes"),
    pytest.param('echo "`echo \\`a b\\``"', id="inside-double-quotes"),
    pytest.param('echo "`\\"a\\" b`"', id="escaped-double-quote"),
    pytest.param("x=`: \\`a b\\``", id="in-an-assignment"),
    pytest.param("echo `echo \\`echo \\\\\\`a b\\\\\\`\\``", id="three-levels"),
]


@pytest.mark.parametrize("text", BACKQUOTED)
def test_backquotes_are_unescaped_and_parsed_again_as_bash_does(text: str) -> None:
    """bash removes the backslash before a backquote inside backquotes, and runs
    the inner text as a command."""
    assert ("a", "b") in commands(text)


def test_backquotes_nested_too_deep_are_unmodelled() -> None:
    """Past MAX_DEPTH levels of nesting the inner text is not parsed again."""
    text = "( " * MAX_DEPTH + "echo `: \\`a b\\``" + " )" * MAX_DEPTH
    assert any("backquotes nested" in r for r in parse(text).unmodelled)


def test_quoted_heredoc_body_does_not_expand() -> None:
    """``<<'EOF'`` keeps ``$(a)`` as text: nothing in it runs."""
    invocation = only("cat <<'EOF'\n$(a)\nEOF")
    assert invocation.stdin_text == Word("$(a)\n")


ASSIGNMENTS = [
    pytest.param(
        "PATH=/x:$PATH; ls",
        [Assignment("PATH", Word("/x:$PATH", DYNAMIC))],
        id="dynamic-path",
    ),
    pytest.param("GIT_DIR=x", [Assignment("GIT_DIR", Word("x"))], id="literal"),
    pytest.param(
        "a=1 b=~/c",
        [Assignment("a", Word("1")), Assignment("b", Word(f"{HOME}/c"))],
        id="several-with-tilde",
    ),
    pytest.param("X=1 >f", [Assignment("X", Word("1"))], id="with-a-redirect"),
]


@pytest.mark.parametrize(("text", "assignments"), ASSIGNMENTS)
def test_bare_assignments_are_invocations_without_words(
    text: str, assignments: list[Assignment]
) -> None:
    """They change what later commands run, so the classifier is shown them."""
    first = parse(text, home=HOME).invocations[0]
    assert first.words == ()
    assert list(first.assignments) == assignments


def test_inline_assignments_belong_to_their_command() -> None:
    invocation = only("LD_PRELOAD=/x.so GIT_DIR=y ls")
    assert invocation.words == (Word("ls"),)
    assert invocation.assignments == (
        Assignment("LD_PRELOAD", Word("/x.so")),
        Assignment("GIT_DIR", Word("y")),
    )


def test_for_assigns_its_variable_each_word() -> None:
    first = parse("for PATH in /a $b; do ls; done").invocations[0]
    assert first.assignments == (
        Assignment("PATH", Word("/a")),
        Assignment("PATH", Word("$b", DYNAMIC)),
    )


def test_arithmetic_assignment_is_an_assignment() -> None:
    (invocation,) = parse("((PATH = 1))").invocations
    assert invocation.assignments == (Assignment("PATH", Word("1", DYNAMIC)),)


DECLARATIONS = [
    pytest.param("export X=1 Y", ("export", "X=1", "Y"), id="export"),
    pytest.param("export X=~/y", ("export", f"X={HOME}/y"), id="export-tilde"),
    pytest.param("declare -rx A=1", ("declare", "-rx", "A=1"), id="declare"),
    pytest.param("local -a a=(1 2)", ("local", "-a", "a=(1 2)"), id="local-array"),
    pytest.param("readonly C", ("readonly", "C"), id="readonly"),
    pytest.param("typeset D+=x", ("typeset", "D+=x"), id="typeset-append"),
]


@pytest.mark.parametrize(("text", "words"), DECLARATIONS)
def test_declaration_commands_keep_their_assignments_as_words(
    text: str, words: tuple[str, ...]
) -> None:
    assert commands(text)[0] == words


def test_declaration_with_a_substitution_is_dynamic() -> None:
    first = parse("export X=$(a)").invocations[0]
    assert first.words == (Word("export"), Word("X=$(a)", DYNAMIC))


REDIRECTS = [
    pytest.param("a > f", [Redirect(">", Word("f"))], id="write"),
    pytest.param("a >> f", [Redirect(">>", Word("f"))], id="append"),
    pytest.param("a < f", [Redirect("<", Word("f"))], id="read"),
    pytest.param("a &> f", [Redirect("&>", Word("f"))], id="both"),
    pytest.param("a &>> f", [Redirect("&>>", Word("f"))], id="both-append"),
    pytest.param("a >| f", [Redirect(">|", Word("f"))], id="clobber"),
    pytest.param("a 2>&1", [Redirect(">&", Word("1"), 2)], id="dup-descriptor"),
    pytest.param("a >& f", [Redirect(">&", Word("f"))], id="dup-to-a-file"),
    pytest.param("a 3<&0", [Redirect("<&", Word("0"), 3)], id="dup-input"),
    pytest.param("a 3>&-", [Redirect(">&-", Word("-"), 3)], id="close"),
    pytest.param("a 2>/dev/null", [Redirect(">", Word("/dev/null"), 2)], id="stderr"),
    pytest.param("a > ~/f", [Redirect(">", Word(f"{HOME}/f"))], id="tilde-target"),
    pytest.param(
        "a > *.log", [Redirect(">", Word("*.log", WordKind.GLOB))], id="glob-target"
    ),
    pytest.param("a > $f", [Redirect(">", Word("$f", DYNAMIC))], id="dynamic-target"),
    pytest.param(">f a", [Redirect(">", Word("f"))], id="before-the-name"),
]


@pytest.mark.parametrize(("text", "redirects"), REDIRECTS)
def test_redirects(text: str, redirects: list[Redirect]) -> None:
    assert list(only(text).redirects) == redirects


READ_WRITES = [
    pytest.param("a <> f", Redirect("<>", Word("f")), id="spaced"),
    pytest.param("a <>f", Redirect("<>", Word("f")), id="joined"),
    pytest.param("a 1<>f", Redirect("<>", Word("f"), 1), id="with-a-descriptor"),
    pytest.param("exec 3<>f", Redirect("<>", Word("f"), 3), id="exec"),
    pytest.param("<>f a", Redirect("<>", Word("f")), id="before-the-command"),
]


@pytest.mark.parametrize(("text", "redirect"), READ_WRITES)
def test_redirect_read_write_is_a_write(text: str, redirect: Redirect) -> None:
    """``<>`` opens for reading and writing; tree-sitter's grammar lacks it."""
    assert list(only(text).redirects) == [redirect]
    assert redirect.writes


def test_words_after_a_redirect_are_arguments() -> None:
    """``a 2>/dev/null x``: tree-sitter takes x for a second file; bash does not."""
    invocation = only("echo a >f b c <g d")
    assert [w.text for w in invocation.words] == ["echo", "a", "b", "c", "d"]
    assert [r.target.text for r in invocation.redirects] == ["f", "g"]


PUSHED = [
    pytest.param("a && b > f", 1, id="last-of-a-list"),
    pytest.param("a | b > f", 1, id="last-of-a-pipeline"),
    pytest.param("! a > f", 0, id="negated"),
]


@pytest.mark.parametrize(("text", "index"), PUSHED)
def test_a_redirect_after_a_list_belongs_to_its_last_command(
    text: str, index: int
) -> None:
    """tree-sitter puts it on the whole list; bash gives it to the last command."""
    script = parse(text)
    assert [bool(i.redirects) for i in script.invocations] == [
        i == index for i in range(len(script.invocations))
    ]


CARRIED = [
    pytest.param("{ echo; } > .git/hooks/x", ".git/hooks/x", id="group"),
    pytest.param("( echo ) > f", "f", id="subshell"),
    pytest.param("while read l; do x; done > f", "f", id="loop"),
    pytest.param("if a; then b; fi > f", "f", id="if"),
    pytest.param("f() { a; } > f", "f", id="function"),
    pytest.param("> f", "f", id="nothing-but-a-redirect"),
]


@pytest.mark.parametrize(("text", "target"), CARRIED)
def test_a_redirected_compound_keeps_its_redirects(text: str, target: str) -> None:
    """An invocation with no words carries them, besides the commands inside."""
    carrier = parse(text).invocations[0]
    assert carrier.words == ()
    assert [r.target.text for r in carrier.redirects] == [target]


HEREDOCS = [
    pytest.param("cat <<EOF\nhi $x\nEOF", Word("hi $x\n", DYNAMIC), id="expanding"),
    pytest.param("cat <<EOF\nhi\nEOF", Word("hi\n"), id="literal"),
    pytest.param("cat <<'EOF'\nhi $x\nEOF", Word("hi $x\n"), id="quoted-delimiter"),
    pytest.param('cat <<"EOF"\n`x`\nEOF', Word("`x`\n"), id="double-quoted-delimiter"),
    pytest.param("cat <<\\EOF\n$x\nEOF", Word("$x\n"), id="escaped-delimiter"),
    pytest.param("cat <<-EOF\n\t\tx\n\tEOF", Word("x\n"), id="dash-strips-tabs"),
    pytest.param(
        'cat <<EOF\nx \\$x \\` \\\\ \\" \\\nz\nEOF',
        Word('x $x ` \\ \\" z\n'),
        id="escapes",
    ),
    pytest.param("cat <<EOF\nEOF", Word(""), id="empty"),
    pytest.param("cat <<< hi", Word("hi\n"), id="herestring"),
    pytest.param('cat <<< "$x"', Word('"$x"', DYNAMIC), id="dynamic-herestring"),
    pytest.param("cat <<EOF < f\nx\nEOF", None, id="later-file-wins"),
]


@pytest.mark.parametrize(("text", "stdin"), HEREDOCS)
def test_here_documents_and_strings_are_stdin(text: str, stdin: Word | None) -> None:
    invocation = parse(text, home=HOME).invocations[0]
    assert invocation.stdin_text == stdin
    assert invocation.redirects[0].operator in ("<<", "<<<")


def test_heredoc_starting_with_a_backslash_is_its_body() -> None:
    """tree-sitter reads such a first line as arguments; bash, as the body."""
    invocation = only("bash <<EOF\n\\ls\nsudo x\nEOF")
    assert invocation.words == (Word("bash"),)
    assert invocation.stdin_text == Word("\\ls\nsudo x\n")


def test_heredoc_is_also_a_redirect() -> None:
    invocation = only("cat 3<<EOF\nx\nEOF")
    assert invocation.redirects == (Redirect("<<", Word("x\n"), 3),)
    assert invocation.stdin_text is None


FED = [
    pytest.param("printf 'rm -rf ~' | bash", Word("rm -rf ~"), id="printf"),
    pytest.param("echo rm -rf ~ | sh", Word(f"rm -rf {HOME}\n"), id="echo"),
    pytest.param("echo -n x | sh", Word("x"), id="echo-n"),
    pytest.param("echo -e 'a\\tb' | sh", Word("a\tb\n"), id="echo-e"),
    pytest.param("echo $x | sh", Word("echo $x", DYNAMIC), id="echo-dynamic"),
    pytest.param("echo * | sh", Word("echo *", DYNAMIC), id="echo-glob"),
    pytest.param("printf '%s;' a b | sh", Word("a;b;"), id="printf-reuses-format"),
    pytest.param(
        "printf '%5s' a | sh", Word("printf '%5s' a", DYNAMIC), id="printf-width"
    ),
    pytest.param("echo x | cat | sh", Word("x\n"), id="through-cat"),
    pytest.param("cat <<EOF | bash\nid\nEOF", Word("id\n"), id="heredoc-through-cat"),
    pytest.param("cat f | sh", None, id="cat-of-a-file"),
    pytest.param("echo x > f | sh", None, id="output-redirected"),
    pytest.param("curl x | sh", None, id="unknown-producer"),
    pytest.param("echo x | sh < f", None, id="stdin-redirected"),
    pytest.param("echo x | sh <<< y", Word("y\n"), id="own-herestring-wins"),
]


@pytest.mark.parametrize(("text", "stdin"), FED)
def test_what_a_pipeline_feeds_the_next_command(text: str, stdin: Word | None) -> None:
    assert parse(text, home=HOME).invocations[-1].stdin_text == stdin


def test_heredoc_line_continues_into_a_pipeline() -> None:
    """``cat <<EOF | bash``: tree-sitter hangs the pipeline on the here-document."""
    script = parse("cat <<EOF | a | b\nx\nEOF")
    assert [tuple(w.text for w in i.words) for i in script.invocations] == [
        ("cat",),
        ("a",),
        ("b",),
    ]
    assert script.invocations[1].stdin_text == Word("x\n")


def test_heredoc_line_continues_into_a_list() -> None:
    assert commands("cat <<EOF && ls | wc\nbody\nEOF") == [("cat",), ("ls",), ("wc",)]


SOURCES = [
    pytest.param("a  -x   y", "a  -x   y", id="command"),
    pytest.param("x=1 a > f; b", "x=1 a > f", id="with-assignments-and-redirects"),
    pytest.param("cat <<EOF > f\nbody\nEOF", "cat <<EOF > f", id="heredoc-header"),
    pytest.param("a | b 2>&1", "a", id="pipeline-stage"),
]


@pytest.mark.parametrize(("text", "source"), SOURCES)
def test_source_is_the_commands_own_text(text: str, source: str) -> None:
    assert parse(text).invocations[0].source == source


UNMODELLED = [
    pytest.param(
        "echo 'unterminated",
        "cannot parse the command at line 1, column 5",
        id="open-quote",
    ),
    pytest.param(
        'echo "x\nls',
        "cannot parse the command at line 1, column 6",
        id="open-double-quote",
    ),
    pytest.param(
        "ls )", "cannot parse the command at line 1, column 4", id="lone-paren"
    ),
    pytest.param(
        "if a; then b; fi; if c; then",
        "the command is incomplete at line 1, column 29: `fi` is missing",
        id="missing-fi",
    ),
    pytest.param(
        "echo $(a",
        "the command is incomplete at line 1, column 9: `)` is missing",
        id="missing-paren",
    ),
    pytest.param(
        "a\0b", "the text holds a NUL byte, which bash never receives", id="nul"
    ),
    pytest.param(
        "ls \ud800",
        "the text holds characters that are not valid Unicode",
        id="surrogate",
    ),
    pytest.param(
        "coproc a",
        "cannot model the reserved word `coproc` as a command at line 1, column 1",
        id="coproc",
    ),
    pytest.param(
        "a | time { b; }",
        "cannot model the reserved word `}` as a command at line 1, column 15",
        id="misread-group",
    ),
    pytest.param(
        "echo `a` `b`",
        "cannot parse the backquotes at line 1, column 8",
        id="two-backquotes",
    ),
    pytest.param(
        "echo \"${x:-'$(a)'}\"",
        "cannot see into the substitution at line 1, column 12",
        id="quotes-inside-expansion",
    ),
    pytest.param(
        "echo a\\\n#; b",
        "cannot model the `#` inside a word at line 2, column 1: "
        "bash reads no comment there",
        id="hash-after-continuation",
    ),
    pytest.param(
        "ls ] ]",
        "cannot model the word at line 1, column 4: it holds blanks",
        id="misread-word",
    ),
    pytest.param(
        "echo é\nls )",
        "cannot parse the command at line 2, column 4",
        id="columns-count-characters",
    ),
]


@pytest.mark.parametrize(("text", "reason"), UNMODELLED)
def test_what_cannot_be_modelled_is_reported(text: str, reason: str) -> None:
    assert reason in parse(text).unmodelled


KEPT = [
    pytest.param("ls; echo 'x", ("ls",), id="before-an-open-quote"),
    pytest.param("ls ) ; sudo x", ("sudo", "x"), id="after-a-syntax-error"),
    pytest.param("echo $(sudo x", ("sudo", "x"), id="inside-an-unclosed-substitution"),
    pytest.param(
        "coproc sudo x", ("coproc", "sudo", "x"), id="after-unmodelled-syntax"
    ),
    pytest.param("echo $((sudo x) )", ("sudo", "x"), id="arithmetic-or-subshells"),
    pytest.param("((sudo x) )", ("sudo", "x"), id="nested-subshells-read-as-math"),
    pytest.param("echo `#`; sudo x", ("sudo", "x"), id="after-a-comment-in-backquotes"),
    pytest.param("for i in 1; { sudo x; }", ("sudo", "x"), id="for-with-a-group-body"),
    pytest.param(
        "cat <<E'O'F\nx\nEOF\nsudo x", ("sudo", "x"), id="after-a-quoted-delimiter"
    ),
    pytest.param("cat <<EOF; sudo x\ny\nEOF", ("sudo", "x"), id="after-a-heredoc"),
]


@pytest.mark.parametrize(("text", "kept"), KEPT)
def test_what_parsed_is_kept_around_what_did_not(
    text: str, kept: tuple[str, ...]
) -> None:
    """A forbidden part elsewhere in the text is still seen."""
    script = parse(text)
    assert script.unmodelled
    assert kept in [tuple(w.text for w in i.words) for i in script.invocations]


MISREADS = [
    pytest.param("echo $'\\\\' ; sudo x ; echo $'y'", id="ansi-c-escaped-backslash"),
    pytest.param("time { sudo x; }", id="time-before-group"),
    pytest.param("! { sudo x; }", id="negated-group"),
    pytest.param("ec\\\nho a; su\\\ndo x", id="line-continuation-in-a-name"),
    pytest.param("ls | cat | cat\nsudo x && y", id="newline-read-as-a-blank"),
    pytest.param("a | b | c # note\nsudo x; y", id="newline-after-a-comment"),
    pytest.param("! { { sudo x; }; }", id="negated-nested-groups"),
    pytest.param("cat <<EOF\n\\x\nEOF\nsudo x", id="heredoc-starting-with-a-backslash"),
]


@pytest.mark.parametrize("text", MISREADS)
def test_what_tree_sitter_misreads_is_read_as_bash_does(text: str) -> None:
    assert ("sudo", "x") in commands(text)


def test_reasons_are_capped() -> None:
    """Thousands of errors are summed up after the first MAX_REASONS."""
    script = parse("ls )\n" * 1000)
    assert len(script.unmodelled) == MAX_REASONS + 1
    assert script.unmodelled[-1] == "more that cannot be modelled, not shown"
    assert len(script.invocations) == 1000


def test_a_recursion_error_is_caught_and_the_commands_still_found() -> None:
    """A caller deep in its own stack may leave the walk too little of it."""
    text = "echo $(" * (MAX_DEPTH - 1) + "sudo x" + ")" * (MAX_DEPTH - 1)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 120)
    try:
        script = parse(text)
    finally:
        sys.setrecursionlimit(limit)
    assert "nesting too deep to follow" in script.unmodelled
    assert ("sudo", "x") in [tuple(w.text for w in i.words) for i in script.invocations]


def test_deep_nesting_is_reported_and_still_searched() -> None:
    """10k nested subshells: no recursion error, and the command inside is found."""
    text = "( " * 10_000 + "sudo x" + " )" * 10_000
    script = parse(text)
    assert script.unmodelled == (f"nesting deeper than {MAX_DEPTH} levels",)
    assert [tuple(w.text for w in i.words) for i in script.invocations] == [
        ("sudo", "x")
    ]


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        pytest.param("echo $(", ")", id="substitutions"),
        pytest.param('echo "$(', ')"', id="quoted-substitutions"),
        pytest.param("{ ", "; }", id="groups"),
        pytest.param("if a; then ", "; fi", id="ifs"),
        pytest.param('echo "${x:-$(', ')}"', id="defaults"),
    ],
)
def test_nesting_just_within_the_limit_is_walked(opening: str, closing: str) -> None:
    text = opening * (MAX_DEPTH - 1) + "sudo x" + closing * (MAX_DEPTH - 1)
    script = parse(text)
    assert script.unmodelled == ()
    assert ("sudo", "x") in [tuple(w.text for w in i.words) for i in script.invocations]


def test_long_chains_do_not_recurse() -> None:
    """``a && a && ...`` nests to the left in the tree; it is walked as a list."""
    script = parse("a && " * 20_000 + "sudo x")
    assert script.unmodelled == ()
    assert len(script.invocations) == 20_001


def test_text_past_the_limit_is_reported_and_its_start_read() -> None:
    text = "sudo x; " + "ls " + "é" * MAX_TEXT_BYTES
    script = parse(text)
    assert any("longer than" in reason for reason in script.unmodelled)
    assert script.invocations[0].words == (Word("sudo"), Word("x"))


HOSTILE = [
    pytest.param("", id="empty"),
    pytest.param(")" * 1000, id="closing-parens"),
    pytest.param("$(" * 5000, id="open-substitutions"),
    pytest.param('"' * 999, id="quotes"),
    pytest.param("<<" * 1000, id="heredoc-operators"),
    pytest.param("\0" * 100, id="nuls"),
    pytest.param("\udc80\udcff\ud800", id="surrogates"),
    pytest.param("a\\", id="trailing-backslash"),
    pytest.param("cat <<A <<B\nx\nA\ny\nB", id="two-heredocs"),
    pytest.param("x=" * 10_000, id="assignments"),
    pytest.param("${" * 3000, id="open-expansions"),
    pytest.param("[[ " * 3000, id="open-tests"),
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_never_raises(text: str) -> None:
    assert isinstance(parse(text, home=HOME), Script)


def test_parse_refuses_bytes() -> None:
    """Bytes are a caller's mistake, not odd input."""
    with pytest.raises(TypeError, match="str"):
        parse(b"ls")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_any_text_parses_without_raising(text: str) -> None:
    script = parse(text, home=HOME)
    assert all(isinstance(i, Invocation) for i in script.invocations)


# Small scripts hypothesis joins: commands, lists, pipelines, groups.
_NAME = st.sampled_from(["a", "b", "ls", "git", "x", "rm"])
_ARG = st.sampled_from(
    ["-l", "'q r'", '"s"', "$v", "*.py", "~", "$(c)", "f\\ g", ">f", "2>&1", "<<<w"]
)
_COMMAND = st.builds(
    lambda name, args: " ".join([name, *args]), _NAME, st.lists(_ARG, max_size=3)
)
_SCRIPT = st.recursive(
    _COMMAND,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} && {b}", inner, inner),
        st.builds(lambda a, b: f"{a} | {b}", inner, inner),
        st.builds(lambda a: f"( {a} )", inner),
        st.builds(lambda a: f"{{ {a}; }}", inner),
        st.builds(lambda a: f"echo $( {a} )", inner),
        st.builds(lambda a: f"if {a}; then {a}; fi", inner),
        st.builds(lambda a, b: f"while {a}; do {b}; done", inner, inner),
        st.builds(lambda a: f"for i in x; do {a}; done", inner),
        st.builds(lambda a: f"X=1 {a}", inner),
        st.builds(lambda a: f"! {a}", inner),
    ),
    max_leaves=4,
)
_JOIN = st.sampled_from(["; ", " && ", " || ", " | ", " & ", "\n", " |& "])


def _words(script: Script) -> list[tuple[str, ...]]:
    return sorted(tuple(w.text for w in i.words) for i in script.invocations)


@settings(max_examples=300, deadline=None, database=None)
@given(first=_SCRIPT, second=_SCRIPT, join=_JOIN)
def test_joined_scripts_hold_the_commands_of_both(
    first: str, second: str, join: str
) -> None:
    """Joining two scripts never hides a command either of them runs."""
    assume(not parse(first).unmodelled and not parse(second).unmodelled)
    joined = _words(parse(first + join + second, home=HOME))
    for part in (first, second):
        for words in _words(parse(part, home=HOME)):
            assert words in joined
    assert len(joined) == len(_words(parse(first, home=HOME))) + len(
        _words(parse(second, home=HOME))
    )


# Scripts whose every command is a tagged printf, to run in real bash.
_TAGGED_ARGS = st.lists(
    st.sampled_from(["a", "'b c'", '"d"', "e\\ f", "~/g"]), max_size=2
)
_BLANK = st.sampled_from([" ", "  ", "\t", " \\\n "])
_SEPARATOR = st.sampled_from(["; ", " && ", " || ", "\n", " ;\n", " &&\n ", "\n\n"])
_FORMS = [
    "{a}{sep}{b}",
    "{a}{pipe}{b}",
    "{{ {a}; }}",
    "( {a} )",
    "if {a}; then {b}; fi",
    "for i in 1; do {a}; done",
    "while ! {{ {a}; true; }}; do {b}; done",
    "case x in x) {a};; esac",
    "{a} 2>&1",
    "{a} # a comment\n{b}",
    "{a} \\\n&& {b}",
    # Each definition its own name: one called inside another's body (after a
    # pipe into a same-named definition, which runs in a subshell) recursed.
    "{fn}() {{ {a}; }}; {fn}",
    "time {a}",
    'true "$( {{ {a}; }} >&2 )"',
    "x=$( {{ {a}; }} >&2 ) true",
    "cat >/dev/null <<EOF\n$( {{ {a}; }} >&2 )\nEOF\n",
    "true `{{ {a}; }} >&2`",
]


@st.composite
def _tagged_script(draw: st.DrawFn) -> str:
    count = 0

    def command() -> str:
        nonlocal count
        count += 1
        blank = draw(_BLANK)
        return blank.join(["printf", "'%s\\0'", f"@T{count}@", *draw(_TAGGED_ARGS)])

    def statement(depth: int) -> str:
        if depth >= 3 or draw(st.booleans()):
            return command()
        nonlocal count
        template = draw(st.sampled_from(_FORMS))
        count += 1
        name = f"f{count}"
        first, second = statement(depth + 1), statement(depth + 1)
        separator = draw(_SEPARATOR)
        pipe = draw(st.sampled_from([" | ", " |\n "]))
        return template.format(a=first, b=second, sep=separator, pipe=pipe, fn=name)

    return statement(0)


# What else reaches the output: bash's own errors, and /usr/bin/time's report.
_NOT_PRINTF = re.compile(
    r"[^\0\n]*bash: line \d+: [^\n]*\n|[^\0\n]*user [^\n]*\n[^\n]*swaps\n"
)


@needs_bash
@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=_tagged_script())
def test_every_command_bash_runs_is_found(text: str, tmp_path: Path) -> None:
    """Whatever bash runs is among the invocations, with the words it ran with."""
    script = parse(text, home=BASH_HOME)
    if script.unmodelled:
        return
    found = {}
    for invocation in script.invocations:
        words = [w.text for w in invocation.words]
        while words[:1] == ["time"]:  # after a pipe, /usr/bin/time runs printf
            del words[0]
        if len(words) > 2:
            found[words[2]] = words[3:]
    ran: list[list[str]] = []
    # What substitutions run writes to stderr, and from there to the output.
    output = bash_stdout("TIMEFORMAT=; exec 2>&1\n" + text, tmp_path)
    output = re.sub(_NOT_PRINTF, "", output)
    for field in output.split("\0")[:-1]:
        if field.startswith("@T") and field.endswith("@"):
            ran.append([field])
        else:
            ran[-1].append(field)
    for tag, *args in ran:
        assert found.get(tag) == args
