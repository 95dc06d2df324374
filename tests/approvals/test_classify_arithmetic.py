"""Arithmetic reads a variable's value as an expression, so a value that is not surely
a number is unmodelled: ``a[$(cmd)]`` read from a file runs cmd."""

from __future__ import annotations

import pytest

from corral.approvals import Category
from tests.approvals.classify_support import Classifier, case, check, only

C = Category


MAY_BE_CODE = [
    case("read x < f; echo x=1; (( x ))", C.UNMODELLED, why="x=1 as an argument"),
    case("read x < f; : x=1; (( x ))", C.UNMODELLED, why="x=1 given to a colon"),
    case(
        "read -r x < f; [[ $x -eq 1 ]]; echo x=1",
        C.UNMODELLED,
        why="an arithmetic test before an argument x=1",
    ),
    case("read x < f; echo 'x=1'; (( x ))", C.UNMODELLED, why="x=1 quoted"),
    case("read x < f; x=1 true; (( x ))", C.UNMODELLED, why="x=1 before a command"),
    case("read x < f; (x=1); (( x ))", C.UNMODELLED, why="x=1 in a subshell"),
    case("read x < f; g() { x=1; }; ((x))", C.UNMODELLED, why="x=1 in a function"),
    case("read x < f; (( x )); x=1", C.UNMODELLED, why="x=1 after the read"),
    case("(( x )); x=1", C.UNMODELLED, why="a value from the environment"),
    case("x=1; read x < f; (( x ))", C.UNMODELLED, why="a read after x=1"),
    case('x=1; eval "$c"; (( x ))', C.UNMODELLED, why="eval after x=1"),
    case("x=1; declare -n r=x; ((x))", C.UNMODELLED, why="a nameref after x=1"),
    case("read y < f; [[ y -eq 1 ]]", C.UNMODELLED, why="a bare name in a test"),
    case("read y < f; (( a[y+1] ))", C.UNMODELLED, why="a name in an index"),
    case("read x < f; echo ${s:x}", C.UNMODELLED, why="a substring offset"),
    case('read x < f; echo "${@:1:x}"', C.UNMODELLED, why="a slice length"),
    case('read x < f; [ -v "$x" ]', C.UNMODELLED, why="a name tested as set"),
    case('read x < f; unset "$x"', C.UNMODELLED, why="a name unset"),
    case("read x < f; [[ -v a[x] ]]", C.UNMODELLED, why="a subscript tested as set"),
    case('read x < f; read "a[x]"', C.UNMODELLED, why="a subscript read into"),
    case("i=$((i+1)); echo $((i))", C.UNMODELLED, why="an increment with no start"),
    case(
        "seq 3 | while read i; do echo $((i*2)); done",
        C.UNMODELLED,
        why="numbers read from another program",
    ),
    case(
        "n=$(wc -l < f); echo $((n+1))",
        C.UNMODELLED,
        why="a number printed by another program",
    ),
]


@pytest.mark.parametrize(("line", "has", "without"), MAY_BE_CODE)
def test_arithmetic_on_what_may_be_code_is_unmodelled(
    classifier: Classifier,
    line: str,
    has: frozenset[Category],
    without: frozenset[Category],
) -> None:
    check(classifier.text(line), has, without)


SURELY_NUMBERS = [
    only(
        "n=3; for ((i=0;i<n;i++)); do echo $i; done",
        C.READ,
        why="a loop to a number",
    ),
    only("i=0; (( i++ ))", C.READ, why="a counter"),
    only("x=5; echo $((x*2))", C.READ, why="an expansion of a number"),
    only("[[ $# -eq 0 ]]", C.READ, why="the argument count"),
    only("(( $? ))", C.READ, why="the exit status"),
    only("echo $((1+2))", C.READ, why="literal numbers"),
    only(
        "n=0; while read -r l; do ((n++)); done < f; echo $n",
        C.READ,
        why="lines counted",
    ),
    only(
        "count=0; while read -r l; do count=$((count+1)); done < f; echo $count",
        C.READ,
        why="lines counted by expansion",
    ),
    only("i=0; i=$((i+1)); echo $((i))", C.READ, why="an increment by expansion"),
    only("n=$#; echo $((n+1))", C.READ, why="a copy of the argument count"),
    only("s=ab; len=${#s}; echo $((len+1))", C.READ, why="a length"),
    only('s=ab; echo "${s:1:1}" "${@:2}"', C.READ, why="literal offsets"),
    only("unset x 'a[1]'; [[ -v x ]]", C.READ, why="literal names"),
]


@pytest.mark.parametrize(("line", "has", "without"), SURELY_NUMBERS)
def test_arithmetic_on_surely_numbers_is_a_read(
    classifier: Classifier,
    line: str,
    has: frozenset[Category],
    without: frozenset[Category],
) -> None:
    check(classifier.text(line), has, without)
