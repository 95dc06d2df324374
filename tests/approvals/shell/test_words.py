"""Word values: quotes, escapes, ANSI-C strings, tilde, globs and braces.

Where a word's value is known, real bash is asked for it too: the parser must
give exactly the word bash passes to the command.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.approvals import Word, WordKind
from corral.approvals.shell._parse import parse
from tests.approvals.shell._bash import (
    BASH,
    HOME,
    bash_stdout,
    bash_words,
    needs_bash,
)

LITERAL, GLOB, DYNAMIC = WordKind.LITERAL, WordKind.GLOB, WordKind.DYNAMIC


def args_of(text: str, home: str | None = HOME) -> tuple[Word, ...]:
    """Return the arguments of the first command in `text`, which parses cleanly."""
    script = parse(text, home=home)
    assert script.unmodelled == ()
    return script.invocations[0].words[1:]


# Words bash and the parser must agree on: (source words, their values).
KNOWN = [
    pytest.param("a\\ b 'c d' \"e f\"", ["a b", "c d", "e f"], id="quotes-and-escapes"),
    pytest.param("\\*\\?\\[ '*' \"?\"", ["*?[", "*", "?"], id="quoted-pattern-chars"),
    pytest.param("pre\"mid\"'q'post", ["premidqpost"], id="concatenation-joined"),
    pytest.param("ec\\\nho a\\\nb", ["echo", "ab"], id="line-continuation-joins-word"),
    pytest.param("a\\\\b \\$x \\`y\\`", ["a\\b", "$x", "`y`"], id="unquoted-escapes"),
    pytest.param(
        '"a\\"b" "c\\\\d" "\\$e" "\\`f\\`" "g\\h" "i\\\nj"',
        ['a"b', "c\\d", "$e", "`f`", "g\\h", "ij"],
        id="double-quote-escapes",
    ),
    pytest.param('"a\nb" "  s  "', ["a\nb", "  s  "], id="double-quotes-keep-space"),
    pytest.param("'a\\nb' 'c\"d'", ["a\\nb", 'c"d'], id="single-quotes-keep-all"),
    pytest.param(
        "$'a\\nb\\tc\\e\\x41\\101\\u00e9\\U0001F600\\cA\\'\\\"\\?\\q'",
        ["a\nb\tc\x1bAAé\U0001f600\x01'\"?\\q"],
        id="ansi-c-escapes",
    ),
    pytest.param(
        "$'\\0101' $'\\x4g' $'\\xg'", ["\b1", "\x04g", "\\xg"], id="ansi-c-digits"
    ),
    pytest.param("$'x\\0y'z", ["xz"], id="ansi-c-nul-ends-the-string"),
    pytest.param(
        "$'\\c?' $'\\c[' $'\\c'", ["\x7f", "\x1b", "\\c"], id="ansi-c-controls"
    ),
    pytest.param("$'\\xc3\\xa9' $'\\351'", ["é", "\udce9"], id="ansi-c-raw-bytes"),
    pytest.param('$"tr" x$"b"', ["tr", "xb"], id="translated-strings"),
    pytest.param("$ a$ 10#5 -3", ["$", "a$", "10#5", "-3"], id="lone-dollar-numbers"),
    pytest.param("a#b #c", ["a#b"], id="comment-starts-only-a-word"),
    pytest.param(
        '~ ~/x ~"" \\~ "~" a~', [HOME, f"{HOME}/x", "~", "~", "~", "a~"], id="tilde"
    ),
    pytest.param("~'/x' ~\"/x\"", ["~/x", "~/x"], id="tilde-prefix-with-quotes"),
    pytest.param(
        "x=~ x=a:~:~/b a[1]=~ b+=~/c",
        [f"x={HOME}", f"x=a:{HOME}:{HOME}/b", f"a[1]={HOME}", f"b+={HOME}/c"],
        id="tilde-after-assignment-like-equals",
    ),
    pytest.param(
        "a=b=~ 'a'=~ a\\=~ 1a=~",
        ["a=b=~", "a=~", "a=~", "1a=~"],
        id="tilde-not-after-other-equals",
    ),
    pytest.param(
        "{} {a} '{a,b}' {a\\,b} {a,b\\}",
        ["{}", "{a}", "{a,b}", "{a,b}", "{a,b}"],
        id="braces-that-do-not-expand",
    ),
    pytest.param(
        "*.py a?c [ab] a=*", ["*.py", "a?c", "[ab]", "a=*"], id="globs-without-a-match"
    ),
]


@needs_bash
@pytest.mark.parametrize(("source", "values"), KNOWN)
def test_known_words_are_what_bash_passes(
    source: str, values: list[str], tmp_path: Path
) -> None:
    """Each value equals bash's (globs are run where nothing matches them)."""
    words = args_of("printf '%s\\0' " + source)[1:]
    assert [w.text for w in words] == values
    assert bash_words(source, tmp_path) == values


# How much the parser knows of a word, with what it shows for it.
KINDS = [
    pytest.param("abc", "abc", LITERAL, id="plain-word"),
    pytest.param("'a*'", "a*", LITERAL, id="quoted-star-is-literal"),
    pytest.param("*.py", "*.py", GLOB, id="star-glob"),
    pytest.param("a?", "a?", GLOB, id="question-glob"),
    pytest.param("[ab]x", "[ab]x", GLOB, id="bracket-glob"),
    pytest.param('"*"a*', "*a*", GLOB, id="partly-quoted-glob"),
    pytest.param("$x", "$x", DYNAMIC, id="parameter"),
    pytest.param("${x:-y}", "${x:-y}", DYNAMIC, id="parameter-default"),
    pytest.param('"a$x"', '"a$x"', DYNAMIC, id="parameter-in-quotes"),
    pytest.param("$((1+2))", "$((1+2))", DYNAMIC, id="arithmetic"),
    pytest.param("$(id)", "$(id)", DYNAMIC, id="command-substitution"),
    pytest.param("`id`", "`id`", DYNAMIC, id="backquotes"),
    pytest.param("<(id)", "<(id)", DYNAMIC, id="process-substitution"),
    pytest.param("{rm,-rf,/}", "{rm,-rf,/}", DYNAMIC, id="brace-list"),
    pytest.param("{1..3}", "{1..3}", DYNAMIC, id="brace-sequence"),
    pytest.param("x{a,b}y", "x{a,b}y", DYNAMIC, id="brace-inside-word"),
    pytest.param("~user/x", "~user/x", DYNAMIC, id="tilde-user"),
    pytest.param("~+", "~+", DYNAMIC, id="tilde-pwd"),
    pytest.param("$'\\U110000'", "$'\\U110000'", DYNAMIC, id="ansi-c-past-unicode"),
    pytest.param("$'\\cé'", "$'\\cé'", DYNAMIC, id="ansi-c-control-of-non-ascii"),
]


@pytest.mark.parametrize(("source", "text", "kind"), KINDS)
def test_word_kind_and_text(source: str, text: str, kind: WordKind) -> None:
    """Known words show their value; dynamic ones keep their source text."""
    (word,) = args_of("echo " + source)
    assert (word.text, word.kind) == (text, kind)


def test_tilde_without_a_home_is_dynamic() -> None:
    """With no home given, ``~`` cannot be known."""
    assert args_of("ls ~/x", home=None) == (Word("~/x", DYNAMIC),)


def test_tilde_is_dynamic_where_the_script_may_change_home() -> None:
    """A script that names HOME may set it before ``~`` is expanded."""
    script = parse("HOME=/etc; ls ~/x", home=HOME)
    assert script.invocations[1].words[1] == Word("~/x", DYNAMIC)


@pytest.mark.parametrize(
    ("source", "value"),
    [
        pytest.param("X=~/y", f"{HOME}/y", id="tilde-after-equals"),
        pytest.param("X=a:~/b:~", f"a:{HOME}/b:{HOME}", id="tilde-after-colons"),
        pytest.param("X=*", "*", id="no-glob-in-assignment"),
        pytest.param("X={a,b}", "{a,b}", id="no-braces-in-assignment"),
        pytest.param("X='a b'\"c\"", "a bc", id="quotes-removed"),
        pytest.param("X=", "", id="empty"),
    ],
)
def test_assignment_values(source: str, value: str) -> None:
    """An assignment's value gets tilde expansion but no globs or braces."""
    (invocation,) = parse(source, home=HOME).invocations
    assert invocation.assignments[0].value == Word(value)


@pytest.mark.parametrize(
    ("source", "text"),
    [
        pytest.param("X+=y", "y", id="append-depends-on-the-old-value"),
        pytest.param("X[0]=y", "y", id="element-of-the-variable"),
        pytest.param("X=(a b)", "(a b)", id="array"),
        pytest.param("X=$(id)", "$(id)", id="substitution"),
    ],
)
def test_assignment_values_that_depend_on_run_time(source: str, text: str) -> None:
    """These assign something other than their text: the value is dynamic."""
    (invocation, *_) = parse(source).invocations
    assert invocation.assignments[0].name == "X"
    assert invocation.assignments[0].value == Word(text, DYNAMIC)


def test_herestring_has_tilde_but_no_globs_or_braces() -> None:
    """``<<<`` expands ``~`` and nothing else, and bash adds a newline."""
    (invocation,) = parse("cat <<< ~/a*{b,c}", home=HOME).invocations
    assert invocation.stdin_text == Word(f"{HOME}/a*{{b,c}}\n")


# Text hypothesis builds words from: nothing in it can run or expand at run time.
_BARE = st.text(st.sampled_from("abz09-_=:./,~*?[]{}#!%+@^"), min_size=1, max_size=4)
_ESCAPED = st.sampled_from(" \\'\"$`;|&()<>*?[]{}~#\n\tab").map(lambda c: "\\" + c)
_SINGLE = st.text(st.sampled_from('ab $`"\\;|&(){}*~\n'), max_size=5).map(
    lambda t: f"'{t}'"
)
_DQ_PART = st.one_of(
    st.sampled_from("ab '~*?;|&(){}#\n"),
    st.sampled_from(["\\$", "\\`", '\\"', "\\\\", "\\a", "\\\n"]),
)
_DOUBLE = st.lists(_DQ_PART, max_size=4).map(lambda ps: '"' + "".join(ps) + '"')
_ANSI_PART = st.one_of(
    st.sampled_from('ab "$`~*'),
    st.sampled_from(
        ["\\n", "\\t", "\\x41", "\\x7", "\\101", "\\0", "\\\\", "\\'", "\\e", "\\cA"]
    ),
    st.sampled_from(["\\u41", "\\u00e9", "\\q", "\\xe9"]),
)
_ANSI = st.lists(_ANSI_PART, max_size=4).map(lambda ps: "$'" + "".join(ps) + "'")
_TRANSLATED = _DOUBLE.map(lambda t: "$" + t)
_WORD = st.lists(
    st.one_of(_BARE, _ESCAPED, _SINGLE, _DOUBLE, _ANSI, _TRANSLATED),
    min_size=1,
    max_size=4,
).map("".join)
_BLANK = st.sampled_from([" ", "\t", "  ", " \\\n "])


_COMMANDS = st.lists(st.lists(_WORD, min_size=1, max_size=3), min_size=1, max_size=3)
_SEPARATOR = st.sampled_from(["; ", " && ", "\n", " ;\n"])


@needs_bash
@settings(
    max_examples=300,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(commands=_COMMANDS, separator=_SEPARATOR, blank=_BLANK)
def test_generated_words_are_what_bash_passes(
    commands: list[list[str]], separator: str, blank: str, tmp_path: Path
) -> None:
    """Words built of inert parts have the values bash gives them, or are dynamic.

    Several commands are joined, so that a string read past its end, swallowing
    the commands after it, shows as a difference too.
    """
    text = separator.join(
        "printf '%s\\0' START" + blank + blank.join(c) for c in commands
    )
    if "#" in text and "\\\n" in text:
        return  # bash runs a comment on past a backslash-newline; more is seen
    script = parse(text, home=HOME)
    if script.unmodelled:
        return
    words = [w for i in script.invocations for w in i.words[3:]]
    if any(w.kind is DYNAMIC or (w.kind is GLOB and "/" in w.text) for w in words):
        return  # unknown to the parser, or a pattern that may match outside
    out = bash_stdout(text, tmp_path).split("\0")[:-1]
    assert [w.text for w in words] == [w for w in out if w != "START"]


# A file whose line, read into a variable and evaluated by arithmetic, runs a command.
_CODE_LINE = "a[$(>ran)]\n"

# bash evaluates a variable's value read in arithmetic as an expression, so such a
# read is noted unless the script surely gave the name a number: (line, why).
VALUE_MAY_BE_CODE = [
    ("read x < f; echo x=1; (( x ))", "an-echo-argument-is-no-assignment"),
    ("read x < f; : x=1; (( x ))", "a-colon-argument-is-no-assignment"),
    ("read -r x < f; [[ $x -eq 1 ]]; echo x=1", "an-assignment-in-no-position"),
    ("read x < f; echo 'x=1'; (( x ))", "a-quoted-assignment"),
    ("read x < f; x=1 true; (( x ))", "a-prefix-assignment"),
    ("read x < f; (x=1); (( x ))", "an-assignment-in-a-subshell"),
    ("read x < f; g() { x=1; }; (( x ))", "an-assignment-in-a-function"),
    ("read x < f; true || x=1; (( x ))", "an-assignment-that-may-not-run"),
    ("read x < f; if false; then x=1; fi; (( x ))", "an-assignment-in-a-branch"),
    ("read x < f; (( x )); x=1", "an-assignment-after-the-read"),
    ("x=1; read x < f; (( x ))", "a-read-after-the-assignment"),
    ("x=1; read -rax < f; (( x ))", "a-read-into-an-attached-name"),
    ("x=1; command read x < f; (( x ))", "a-read-through-command"),
    ("x=1; time read x < f; (( x ))", "a-timed-read"),
    ("x=1; mapfile x < f; (( x ))", "mapfile"),
    ('x=1; printf -v x %s "$(cat f)"; (( x ))', "printf-v"),
    ('x=1; printf -vx %s "$(cat f)"; (( x ))', "printf-v-attached"),
    ("x=1; for x in $(cat f); do (( x )); done", "a-for-variable"),
    ("x=1; select x in $(cat f); do (( x )); break; done <<< 1", "a-select-variable"),
    ('x=1; g() { : "${x:=$(cat f)}"; }; unset x; g; (( x ))', "an-assigning-default"),
    ("x=1; g() { : ${x=$(cat f)}; }; unset x; g; (( x ))", "a-default-without-colon"),
    ("x=1; r=x; g() { : ${!r=$(cat f)}; }; unset x; g; (( x ))", "an-indirect-default"),
    ('x=1; eval "x=$(cat f)"; (( x ))', "eval"),
    ("x=1; echo 'x=$(cat f)' > g; . ./g; (( x ))", "source"),
    ("x=1; trap 'read x < f' DEBUG; (( x ))", "a-trap"),
    ("x=1; declare -n r=x; read r < f; (( x ))", "a-nameref"),
    ("x=1; export x=$(cat f); (( x ))", "an-export"),
    ("x=1; unset x; x+=$(cat f); (( x ))", "an-append"),
    ("x=1; x[0]=$(cat f); (( x ))", "an-element"),
    ("x=1; x=($(cat f)); (( x ))", "an-array"),
    ("x=1; c=read; $c x < f; (( x ))", "a-command-named-by-a-variable"),
    ("cat <<EOF\nx=1\nEOF\nread x < f; (( x ))", "a-here-document-line"),
    ("REPLY=1; read < f; (( REPLY ))", "a-variable-bash-sets"),
    ("_=1; echo 'a[$(>ran)]'; (( _ ))", "the-last-argument"),
    ("read y < f; echo ${a[1+y]}", "an-index-tree-sitter-reads-as-one-word"),
    ("read y < f; (( a[y+1] ))", "an-index-in-arithmetic"),
    ("read y < f; a[y+1]=2", "an-index-assigned"),
    ('read y < f; (( "y" ))', "a-quoted-name-in-arithmetic"),
    ('read y < f; echo $(( "y" ))', "a-quoted-name-in-an-expansion"),
    ("read y < f; [[ y -eq 1 ]]", "a-bare-name-in-an-arithmetic-test"),
    ('read y < f; [[ "y" -eq 1 ]]', "a-quoted-name-in-an-arithmetic-test"),
    ("read y < f; [[ 1+y -eq 1 ]]", "an-expression-in-an-arithmetic-test"),
    ("[[ $(cat f) -eq 1 ]]", "a-substitution-in-an-arithmetic-test"),
    # The offset and length of a substring are arithmetic.
    ("read x < f; s=abc; echo ${s:x}", "a-substring-offset"),
    ('read x < f; s=abc; echo "${s:1:x}"', "a-substring-length"),
    ("read x < f; s=abc; echo ${s:${x}:1}", "a-substring-offset-expanded"),
    ('read x < f; echo "${x::x}"', "a-substring-of-the-value-itself"),
    ('read x < f; set -- a; echo "${@:x}"', "a-slice-of-the-arguments"),
    ("read x < f; a=(1 2); echo ${a[@]:0:x}", "a-slice-of-an-array"),
    # A variable's name given as a word: bash evaluates the subscript it holds.
    ('read x < f; test -v "$x"', "test-v-of-a-value"),
    ('read x < f; [ -v "$x" ]', "bracket-v-of-a-value"),
    ("read x < f; [[ -v $x ]]", "double-bracket-v-of-a-value"),
    ('read x < f; a=(1); unset "$x"', "unset-of-a-value"),
    ('read x < f; a=(1); unset -v "$x"', "unset-v-of-a-value"),
    ('read x < f; a=(1); command unset "$x"', "unset-through-command"),
    ('read x < f; printf -v "$x" %s 1', "printf-v-of-a-value"),
    ('read x < f; read "$x" <<< 1', "read-into-a-value"),
    ('read x < f; declare "$x=1"', "declare-of-a-value"),
    ("read x < f; a=(1); [[ -v a[x] ]]", "double-bracket-v-of-a-subscript"),
    ('read x < f; a=(1); [[ -v "a[x]" ]]', "double-bracket-v-of-a-quoted-subscript"),
    ('read x < f; a=(1); test -v "a[x]"', "test-v-of-a-subscript"),
    ('read x < f; a=(1); unset "a[x]"', "unset-of-a-subscript"),
    ("read x < f; a=(1); unset a[x]", "unset-of-an-unquoted-subscript"),
    ('read x < f; a=(1); unset "a[$x]"', "unset-of-an-expanded-subscript"),
    ('read x < f; printf -v "a[x]" %s 1', "printf-v-of-a-subscript"),
    ("read x < f; printf -va[x] %s 1", "printf-v-attached-subscript"),
    ('read x < f; printf -v"$x" 1', "printf-v-attached-value"),
    ('read x < f; a=(1); \\unset "$x"', "unset-escaped"),
    ('read x < f; a=(1); un\\\nset "$x"', "unset-split-by-a-continued-line"),
    ('read x < f; read -rp "a" "a[x]" <<< 1', "read-with-options-into-a-subscript"),
    ('read x < f; test ! -v "a[x]"', "test-not-v-of-a-subscript"),
    ('read x < f; [[ -n $x && -v "$x" ]]', "double-bracket-v-in-a-list"),
    ('read x < f; read "a[x]" <<< 1', "read-into-a-subscript"),
    ('read x < f; read -r b "a[x]" <<< "1 2"', "read-into-a-second-subscript"),
    ('read x < f; sleep 0 & wait -n -p "a[x]"', "wait-p-into-a-subscript"),
    ('read x < f; declare "a[x]=1"', "declare-of-a-subscript"),
    ('read x < f; g() { local "a[x]=1"; }; g', "local-of-a-subscript"),
    ('read x < f; declare -n r="a[x]"; echo "$r"', "a-nameref-to-a-subscript"),
    ('read x < f; g() { local -n r=$1; echo "$r"; }; g "$x"', "a-nameref-to-a-value"),
]


@pytest.mark.parametrize(
    "text", [pytest.param(t, id=why) for t, why in VALUE_MAY_BE_CODE]
)
def test_arithmetic_on_a_value_that_may_be_code_is_unmodelled(text: str) -> None:
    reasons = parse(text, home=HOME).unmodelled
    assert any("arithmetic" in reason for reason in reasons), reasons


@needs_bash
@pytest.mark.parametrize(
    "text", [pytest.param(t, id=why) for t, why in VALUE_MAY_BE_CODE]
)
def test_bash_runs_the_code_those_values_hold(text: str, tmp_path: Path) -> None:
    """The table above is what bash does: each line runs the command in the file."""
    (tmp_path / "f").write_text(_CODE_LINE)
    bash_stdout(text, tmp_path)
    assert (tmp_path / "ran").exists()


# Lines where the value bash reads comes from the environment: (line, why).
INHERITED = [
    ("(( x )); x=1", "a-read-before-the-assignment"),
    ("x=1 & (( x ))", "an-assignment-in-the-background"),
    ("for ((x = 0; x < 1; x++)); do :; done & (( x ))", "a-loop-in-the-background"),
    ("for ((i = 0; i < x; i++)); do x=1; done", "a-loop-assigning-later"),
    ("x=$((x + 1)); echo $((x))", "an-increment-without-a-start"),
    ("x=$((1 / 0))\n(( x ))", "an-assignment-that-failed-a-line-before"),
]


@pytest.mark.parametrize("text", [pytest.param(t, id=why) for t, why in INHERITED])
def test_arithmetic_on_an_inherited_value_is_unmodelled(text: str) -> None:
    reasons = parse(text, home=HOME).unmodelled
    assert any("arithmetic" in reason for reason in reasons), reasons


@needs_bash
@pytest.mark.parametrize("text", [pytest.param(t, id=why) for t, why in INHERITED])
def test_bash_runs_the_code_inherited_values_hold(text: str, tmp_path: Path) -> None:
    assert BASH is not None
    env = {"PATH": "/usr/bin:/bin", "x": _CODE_LINE.strip()}
    subprocess.run(
        [BASH, "--norc", "--noprofile", "-c", f"{text}; wait"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert (tmp_path / "ran").exists()


SURELY_NUMBERS = [
    ("n=3; for ((i=0;i<n;i++)); do echo $i; done", "a-c-style-loop"),
    ("for ((n = 0; n < 3; n++)); do echo $n; done", "a-loop-variable"),
    ("for ((i = 0, j = 9; i < j; i++)); do :; done", "two-loop-variables"),
    ("i=0; (( i++ ))", "an-increment"),
    ("i=0; while ((i < 3)); do ((i++)); done; echo $((i * 2))", "a-counter"),
    ("x=5; echo $((x*2))", "an-expansion"),
    ("x=5 y=6; echo $((x + y))", "two-assignments"),
    ("(( x = 1 )); echo $((x + 1))", "an-arithmetic-assignment"),
    ("x=1 & for ((i = 0; i < 3; i++)); do :; done &", "a-loop-in-the-background"),
    ("x=1; if true; then x=2; fi; (( x ))", "a-number-in-a-branch"),
    ("x=1; (( x += 2, x *= x )); (( x ))", "arithmetic-stores-numbers"),
    ("x=1; g() { (( x > 0 )); }; g", "a-function-defined-after"),
    ("x=1; [[ x -eq 1 && $x -gt 0 ]]; echo ${a[x+1]}", "tests-and-indexes"),
    ("n=0; while IFS= read -r line; do ((n++)); done < f; echo $((n))", "a-line-count"),
    ("[[ $# -eq 0 ]]", "the-argument-count"),
    ("(( $? ))", "the-exit-status"),
    ("echo $((1+2)) $((16#ff)) ${a[1+2]}", "literal-numbers"),
    (
        "count=0; while read -r l; do count=$((count+1)); done < f; echo $count",
        "a-count-in-an-arithmetic-expansion",
    ),
    ("i=0; i=$((i+1)); echo $((i))", "an-increment-by-expansion"),
    ('i=$((2 * 3)); j="$((i))"; echo $((i + j))', "expansions-store-numbers"),
    ("n=$#; echo $((n + 1))", "a-copy-of-the-argument-count"),
    ("s=abc; len=${#s}; echo $((len+1))", "a-length"),
    ("r=$? p=$$; echo $((r + p))", "the-status-and-the-process"),
    ("n=$((1))\nn=0\n(( n ))", "a-number-after-an-expansion-that-may-fail"),
    ("n=$((1)); while :; do\n(( n )); break; done", "a-loop-on-the-same-line"),
    ("s=abc; echo ${s:1} ${s:0:2} ${s: -1} ${s:1+1} ${s:(-2):1}", "literal-offsets"),
    ('s=abc; for ((i=0; i<3; i++)); do echo "${s:i:1}"; done', "an-offset-counted"),
    ('s=abc; echo "${s:0:${#s}}" "${@:2}" "${a[@]:1:$#}"', "numeric-lengths"),
    ("unset x 'a[1]' 'a[@]'; [[ -v x ]]; test -v y", "literal-names"),
    ('printf -v out %s 1; read -r line < f; read -p "$p" -a b', "names-of-builtins"),
    ("i=0; printf -v 'a[i]' %s 1; [[ -v a[i+1] ]]; unset 'a[i]'", "subscripts"),
    ('declare -a b; local c="a[x]" "d=$x"; export e=$x', "values-are-not-names"),
    ('printf "%s" "$x"; [ -n "$x" ]; [ "$x" = -v ]', "values-are-not-names-either"),
]


@pytest.mark.parametrize("text", [pytest.param(t, id=why) for t, why in SURELY_NUMBERS])
def test_arithmetic_on_surely_numbers_is_modelled(text: str) -> None:
    assert parse(text, home=HOME).unmodelled == ()
