"""Shell text a POSIX sh runs is read with bash's grammar only where the two agree.

dash (Debian's /bin/sh) has no ``$'...'``, ``$"..."``, ``[[`` or ``((``: text
holding them is read differently by the shell that runs it, and prompts.
"""

from __future__ import annotations

import pytest

from corral.approvals import Category
from corral.approvals.catalog._shell import dialect_problem
from tests.approvals.classify_support import Classifier, case, check, only

C = Category

DIFFERENT = [
    case(
        r"""sh -c "echo \$'\\' ; touch /etc/x ; \\' #'" """,
        C.UNMODELLED,
        why="$'...' that sh ends elsewhere",
    ),
    case("sh -c \"echo \\$'x'\"", C.UNMODELLED, why="a plain $'...'"),
    case("dash -c 'echo $\"x\"'", C.UNMODELLED, why='$"..."'),
    case("/bin/sh -c \"echo \\$'x'\"", C.UNMODELLED, why="sh named by its path"),
    case("echo \"echo \\$'x'\" | sh", C.UNMODELLED, why="commands on stdin"),
    case("sh <<< \"echo \\$'x'\"", C.UNMODELLED, why="a here-string"),
    case("sh -s <<< \"echo \\$'x'\"", C.UNMODELLED, why="sh -s"),
    case("sh /dev/stdin <<< \"echo \\$'x'\"", C.UNMODELLED, why="sh /dev/stdin"),
    case("sh -c '[[ a > /etc/x ]]'", C.UNMODELLED, why="[[ is a command in sh"),
    case("sh -c '((1 > /etc/x))'", C.UNMODELLED, why="(( is two subshells in sh"),
    case("sh -c 'echo \"$(echo $'\"'\"'x'\"'\"')\"'", C.UNMODELLED, why="inside $()"),
    case("sh -c 'echo ${x:-$'\"'\"'a'\"'\"'}'", C.UNMODELLED, why="inside ${}"),
    case("ash -c \"echo \\$'x'\"", C.UNMODELLED, why="ash"),
    case("zsh -c \"echo \\$'x'\"", C.UNMODELLED, why="zsh"),
    case(r"""awk "BEGIN { system(\"echo \$'x'\") }" """, C.UNMODELLED, why="awk"),
    case("fish /dev/stdin <<< 'echo hi'", C.UNMODELLED, why="fish's own syntax"),
    # Programs that hand their text to /bin/sh -c (or the user's shell).
    case("watch '[[ a > /etc/x ]]'", C.UNMODELLED, why="watch"),
    case("flock /tmp/l -c '[[ a > /etc/x ]]'", C.UNMODELLED, why="flock -c"),
    case("su -c '[[ a > /etc/x ]]'", C.UNMODELLED, why="su -c"),
    case("script -c '[[ a > /etc/x ]]' /dev/null", C.UNMODELLED, why="script -c"),
    case("git rebase -x '[[ a > /etc/x ]]' main", C.UNMODELLED, why="rebase -x"),
    case("git submodule foreach '[[ a > /etc/x ]]'", C.UNMODELLED, why="foreach"),
    case(
        "git filter-branch --tree-filter '[[ a > /etc/x ]]' HEAD",
        C.UNMODELLED,
        why="filter",
    ),
    case("nc -c '[[ a > /etc/x ]]' h 1", C.UNMODELLED, why="nc -c"),
    case("socat - 'SYSTEM:[[ a > /etc/x ]]'", C.UNMODELLED, why="socat SYSTEM"),
    case("less '+![[ a > /etc/x ]]' README", C.UNMODELLED, why="less +!"),
    case("vim -c '![[ a > /etc/x ]]' README", C.UNMODELLED, why="an editor's !"),
]

SAME = [
    only("sh -c 'echo hi'", C.READ, why="echo"),
    only("sh -c 'ls -la && pwd'", C.READ, why="a list"),
    only("sh -c 'ls -la'", C.READ, why="ls"),
    only("sh -c \"sed 's/ *\\$//' README\"", C.READ, why="$ before a closing quote"),
    only("sh -c 'grep \"x$\" README'", C.READ, why='$ before a closing "'),
    only("sh -c 'echo \"it'\"'\"'s $HOME\"'", C.READ, why="' inside double quotes"),
    only("sh -c 'echo $((1+2))'", C.READ, why="arithmetic expansion"),
    only("sh -c 'echo hi # it'\"'\"'s'", C.READ, why="a comment"),
    only("sh -c '[ -f README ] && cat README'", C.READ, why="[ is a command"),
    only("zsh -c '[[ -f README ]]'", C.READ, why="zsh has [["),
    only("bash -c \"echo \\$'x'\"", C.READ, why="bash reads $'...' itself"),
    only("bash -c '[[ a > b ]]'", C.READ, why="bash's [["),
]


@pytest.mark.parametrize(("line", "has", "without"), [*DIFFERENT, *SAME])
def test_sh_text_is_read_only_where_bash_reads_it_alike(
    classifier: Classifier,
    line: str,
    has: frozenset[Category],
    without: frozenset[Category],
) -> None:
    check(classifier.text(line), has, without)


def test_the_reason_names_the_shell_and_the_construct(classifier: Classifier) -> None:
    reasons = [f.reason for f in classifier.text("dash -c \"echo \\$'x'\"")]
    assert any("dash" in r and "$'" in r for r in reasons), reasons


@pytest.mark.parametrize(
    ("text", "differs"),
    [
        ("echo $'x'", True),
        ("echo \"$'x'\"", False),
        ("echo '$'\"'\"", False),
        ("cat <<E\nit's\nE\necho $'x'", True),
        ("echo `echo \\$'x'`", True),
        ("case x in a) echo $'y';; esac", True),
        ("echo 'a' \"b\" c", False),
        ("echo $$ $# ${#x} $?", False),
    ],
)
def test_where_sh_and_bash_disagree(text: str, differs: bool) -> None:
    assert (dialect_problem(text, "sh") is not None) is differs
    assert dialect_problem(text, "bash") is None
