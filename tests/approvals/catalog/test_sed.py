"""sed: what its script writes, reads and runs, read as GNU sed's compiler reads it."""

from __future__ import annotations

import pytest

from corral.approvals import Category
from corral.approvals.catalog._sed import read_script
from tests.approvals.classify_support import Classifier, case, check, only
from tests.conftest import Home

C = Category

WRITES = [
    case("sed -n 'w /etc/x' README", C.OUTSIDE_WRITE, why="w at the start"),
    case("sed -n '1w /etc/x' README", C.OUTSIDE_WRITE, why="w after a line number"),
    case("sed -n '$w /etc/x' README", C.OUTSIDE_WRITE, why="w after $"),
    case("sed -n '1,2w /etc/x' README", C.OUTSIDE_WRITE, why="w after a range"),
    case("sed -n '1!w /etc/x' README", C.OUTSIDE_WRITE, why="w after !"),
    case("sed -n '1~1w /etc/x' README", C.OUTSIDE_WRITE, why="w after first~step"),
    case("sed -n '\\,a,w /etc/x' README", C.OUTSIDE_WRITE, why="w after \\cREc"),
    case("sed -n 'w/etc/x' README", C.OUTSIDE_WRITE, why="w with no blank"),
    case("sed -n 's/a/b/w/etc/x' README", C.OUTSIDE_WRITE, why="s///w no blank"),
    case("sed -n 's|a|b|w /etc/x' README", C.OUTSIDE_WRITE, why="s|||w"),
    case("sed -n 'W /etc/x' README", C.OUTSIDE_WRITE, why="W"),
    case("sed -n '0,/a/w /etc/x' README", C.OUTSIDE_WRITE, why="w after 0,/re/"),
    case("sed -n '/a/,+2w /etc/x' README", C.OUTSIDE_WRITE, why="w after addr,+N"),
    case("sed -n '2,~4w /etc/x' README", C.OUTSIDE_WRITE, why="w after addr,~N"),
    case("sed -n '/a/I,/b/M!w /etc/x' README", C.OUTSIDE_WRITE, why="regex flags"),
    case("sed -n '1 , 3 ! w /etc/x' README", C.OUTSIDE_WRITE, why="blanks between"),
    case("sed -n '1{\nw /etc/x\n}' README", C.OUTSIDE_WRITE, why="w in a block"),
    case("sed -n 'y/ab/cd/;w /etc/x' README", C.OUTSIDE_WRITE, why="w after y"),
    case("sed -n 's/a/b/gpw /etc/x' README", C.OUTSIDE_WRITE, why="w after flags"),
    case("sed -n 's/a/b/ w /etc/x' README", C.OUTSIDE_WRITE, why="blank before w"),
    case("sed -n 's/[/]/x/w /etc/x' README", C.OUTSIDE_WRITE, why="/ in brackets"),
    case("sed -n 's/\\//x/w /etc/x' README", C.OUTSIDE_WRITE, why="escaped /"),
    case("sed -n 's/a/\\//w /etc/x' README", C.OUTSIDE_WRITE, why="escaped / in s"),
    case("sed -n '/a/b e;w /etc/x\n:e' README", C.OUTSIDE_WRITE, why="w after b"),
    case("sed -n '$!N;w /etc/x' README", C.OUTSIDE_WRITE, why="w after N"),
    case("sed '1a text\nw /etc/x' README", C.OUTSIDE_WRITE, why="w after a's text"),
    case("sed '# note\nw /etc/x' README", C.OUTSIDE_WRITE, why="w after a comment"),
    case("sed -n -e p -e 'w /etc/x' README", C.OUTSIDE_WRITE, why="w in a second -e"),
    case("sed -n --expression='1w /etc/x' README", C.OUTSIDE_WRITE, why="--expr="),
    case("sed -s -n '$w /etc/x' README", C.OUTSIDE_WRITE, why="with -s"),
    case("sed -n '1w ~/x' README", C.OUTSIDE_WRITE, why="w under the home"),
    case("sed -i '1w /etc/x' README", C.EDIT, C.OUTSIDE_WRITE, why="with -i"),
]

RUNS = [
    case("sed -n 'e touch /etc/x' README", C.EXECUTE, C.OUTSIDE_WRITE, why="e"),
    case("sed '1,2e touch /etc/x' README", C.EXECUTE, C.OUTSIDE_WRITE, why="range"),
    case("sed '$!e touch /etc/x' README", C.EXECUTE, C.OUTSIDE_WRITE, why="$!e"),
    case("sed '2~1e touch /etc/x' README", C.EXECUTE, C.OUTSIDE_WRITE, why="2~1e"),
    case("sed '1!e touch /etc/x' README", C.EXECUTE, C.OUTSIDE_WRITE, why="1!e"),
    case("sed '\\,a,e touch /etc/x' README", C.EXECUTE, C.OUTSIDE_WRITE, why="\\c"),
    case("sed '0,/a/e touch /etc/x' README", C.EXECUTE, C.OUTSIDE_WRITE, why="0,/a/"),
    case("sed 'e touch /etc/x; true' README", C.OUTSIDE_WRITE, why="e to line end"),
    case("sed 'e echo \\$(touch /etc/x)' README", C.OUTSIDE_WRITE, why="e drops \\"),
    case("sed -e 'e\\' -e 'touch /etc/x' README", C.OUTSIDE_WRITE, why="e\\ then -e"),
    case("sed 'e sudo id' README", C.PRIVILEGE, why="e's command is judged"),
    case("sed 's,.*,touch /etc/x,e' README", C.UNMODELLED, why="s,,,e"),
    case("sed 's/x/y/ge' README", C.UNMODELLED, why="e among s flags"),
    case("sed '1e' README", C.UNMODELLED, why="e alone runs the pattern space"),
    case("sed 'y/a/b/;1e' README", C.UNMODELLED, why="e after y"),
    case("echo 'touch /etc/x' | sed e", C.UNMODELLED, why="e runs the input"),
    case("sed -n '1{s,.*,touch /etc/x,;e\n}' README", C.UNMODELLED, why="e in a block"),
]

READS = [
    case("sed 'r ../home/.ssh/id_ed25519' README", C.SECRET, why="r of a hidden path"),
    case("sed '1R ../home/.netrc' README", C.SECRET, why="R of a hidden path"),
    case("cd .. && sed 'r home/.aws/credentials' x", C.SECRET, why="r after a cd"),
]

PLAIN = [
    only("sed -n 1,5p README", C.READ, why="a range printed"),
    only("sed 's/a/b/g' README", C.READ, why="a substitution"),
    only("sed -n '/start/,/end/p' README", C.READ, why="a regex range"),
    only("sed 's/x/y/;s/w/z/' README", C.READ, why="two substitutions"),
    only("sed -e '1d' -e '$d' README", C.READ, why="two -e scripts"),
    only("sed 's/w/x/' README", C.READ, why="a w inside a regex"),
    only("sed '/www/d' README", C.READ, why="w inside an address"),
    only("sed 's/a/we/' README", C.READ, why="w and e in a replacement"),
    only("sed 's#/usr#/opt#g' README", C.READ, why="another delimiter"),
    only("sed 's/[/]/x/' README", C.READ, why="the delimiter in brackets"),
    only("sed 's/[[:space:]]*$//' README", C.READ, why="a character class"),
    only("sed '$!N;s/\\n/ /' README", C.READ, why="N and an escaped newline"),
    only("sed ':a;N;$!ba;s/\\n/,/g' README", C.READ, why="a label loop"),
    only("sed -E 's/(a|b)+/x/2' README", C.READ, why="a numbered flag"),
    only("sed '/^#/d;/^$/d' README", C.READ, why="comment and blank lines"),
    only("sed 'y/abc/xyz/' README", C.READ, why="y"),
    only("sed -n '/re/{p;q}' README", C.READ, why="a block"),
    only("sed '1i header' README", C.READ, why="i with its text"),
    only("sed '$a w not a write' README", C.READ, why="a's text holds w"),
    only("sed -e 'a\\' -e 'w is text' README", C.READ, why="a\\ then text in -e"),
    only("sed '1i\\\n  e not run' README", C.READ, why="i\\ then a text line"),
    only("sed -n '$=' README", C.READ, why="="),
    only("sed 'l 40;5q' README", C.READ, why="l and q with numbers"),
    only("sed '/x/Q' README", C.READ, why="Q"),
    only("sed -n '/x/w out.txt' README", C.READ, C.EDIT, why="w in the workspace"),
    only("sed -n 'w /dev/stdout' README", C.READ, why="w to stdout"),
    only("sed 'r other.txt' README", C.READ, why="r of a workspace file"),
    only("sed -i 's|/usr|/opt|' README", C.EDIT, why="-i edits in place"),
    only("sed -i.bak -e 's/a/b/' README", C.EDIT, why="-i with a suffix"),
    only("sed -i 's/a/b/' f", C.EDIT, why="-i on a file"),
    only("sed -i.bak 's/a/b/' f", C.EDIT, why="-i.bak writes f.bak beside f"),
    only("sed -n 1p f", C.READ, why="a line printed"),
    only("sed --in-place=.orig 's/a/b/' f", C.EDIT, why="--in-place=SUFFIX"),
    only("sed -i'bak/*' 's/a/b/' f", C.EDIT, why="a backup directory inside"),
    only("sed -i '' 's/a/b/' f", C.EDIT, why="an empty script after -i"),
]

# The ``-i`` suffix names each file's backup: the original, renamed, mode kept.
BACKUPS = [
    case("sed -i'/etc/*' s/a/b/ f", C.OUTSIDE_WRITE, why="a suffix with a directory"),
    case("sed --in-place='/etc/bk_*' s/a/b/ f", C.OUTSIDE_WRITE, why="--in-place="),
    case(
        "sed -i'.git/hooks/*' s/x/y/ pre-commit",
        C.PROTECTED_WRITE,
        why="a backup into the hooks",
    ),
    case("sed -ni'../*' p f", C.OUTSIDE_WRITE, why="bundled with -n"),
    case("sed -i'/etc/x_*_y' s/a/b/ f g", C.OUTSIDE_WRITE, why="* inside the suffix"),
    case("sed -i.b -i'/etc/*' s/a/b/ f", C.OUTSIDE_WRITE, why="the last -i counts"),
    case(
        "sed -i'b/*' --follow-symlinks s/a/b/ f",
        C.UNMODELLED,
        why="a followed link names the backup",
    ),
]

# A script sed runs that corral cannot read is not passed as a known one.
HIDDEN_SCRIPTS = [
    case("sed --sandbox 'w /etc/x' README", C.OUTSIDE_WRITE, why="--sandbox first"),
    case(
        "POSIXLY_CORRECT=1 sed 'w /etc/x' README --sandbox",
        C.OUTSIDE_WRITE,
        why="--sandbox after the script is a file",
    ),
    case('sed "$X" README', C.UNMODELLED, why="a script in a variable"),
    case('sed -n "$(echo w /etc/x)" README', C.UNMODELLED, why="a substitution"),
    case("echo 'w /etc/x' | sed -f - README", C.UNMODELLED, why="-f -"),
    case("sed -f /dev/stdin README <<< 'w /etc/x'", C.UNMODELLED, why="/dev/stdin"),
    case("sed -f <(echo 'w /etc/x') README", C.UNMODELLED, why="-f <(...)"),
    case("sed -f /dev/fd/3 README 3<s", C.UNMODELLED, why="-f /dev/fd/N"),
    case("sed --file=/proc/self/fd/0 README", C.UNMODELLED, why="--file=/proc/..."),
    case('sed -f "$S" README', C.UNMODELLED, why="-f with a run-time name"),
]

# The text of ``e COMMAND`` runs under /bin/sh, not bash.
SH_TEXT = [
    case(
        r"""sed -n "1e echo \$'\\\\' ; touch /etc/x ; \\\\' #'" README""",
        C.UNMODELLED,
        why="$'...' in e's text",
    ),
    case("sed '1e echo $\"x\"' README", C.UNMODELLED, why='$"..." in e\'s text'),
    case("sed '1e [[ a > /etc/x ]]' README", C.UNMODELLED, why="[[ in e's text"),
    case("sed '1e echo hi' README", C.EXECUTE, without=[C.UNMODELLED], why="plain e"),
]

UNREADABLE = [
    case("sed 'k' README", C.UNMODELLED, why="an unknown command"),
    case("sed '1' README", C.UNMODELLED, why="an address and no command"),
    case("sed -n '/a/' README", C.UNMODELLED, why="a regex and no command"),
    case("sed 's/a/b' README", C.UNMODELLED, why="an unterminated s"),
    case("sed '1{p' README", C.UNMODELLED, why="an unclosed block"),
    case("sed 'p}' README", C.UNMODELLED, why="a } that closes nothing"),
    case("sed 's/a/b/X' README", C.UNMODELLED, why="an unknown s flag"),
    case("sed 'pq' README", C.UNMODELLED, why="junk after a command"),
    case("sed 's/\\c/x/w /etc/x' README", C.UNMODELLED, why="\\c before the delim"),
    case("sed 'e echo \\d036' README", C.UNMODELLED, why="a numeric escape in e"),
]


@pytest.mark.parametrize(
    ("line", "has", "without"),
    [
        *WRITES,
        *RUNS,
        *READS,
        *PLAIN,
        *UNREADABLE,
        *BACKUPS,
        *HIDDEN_SCRIPTS,
        *SH_TEXT,
    ],
)
def test_sed_scripts_are_read_as_gnu_sed_reads_them(
    classifier: Classifier,
    line: str,
    has: frozenset[Category],
    without: frozenset[Category],
) -> None:
    check(classifier.text(line), has, without)


def test_r_of_a_hidden_path_by_its_absolute_name(
    classifier: Classifier, home: Home
) -> None:
    findings = classifier.argv(["sed", f"r {home.path}/.ssh/id_ed25519", "README"])
    check(findings, frozenset({C.SECRET}), frozenset())


def test_an_unreadable_script_says_why(classifier: Classifier) -> None:
    reasons = [f.reason for f in classifier.text("sed '1{p' README")]
    assert any("sed's script" in r and "'{'" in r for r in reasons), reasons


def test_what_a_script_does_is_named_as_sed_names_it() -> None:
    script = read_script(
        ["1,/x/!w out one", "s;a;b;gw two", "$e touch x; true", "R in"], whole=True
    )
    assert script.writes == ["out one", "two"]
    assert script.reads == ["in"]
    assert script.commands == ["touch x; true"]
    assert script.runs
    assert script.problem is None


def test_a_block_may_span_several_scripts() -> None:
    assert read_script(["1{", "w x", "}"], whole=True).problem is None
    assert read_script(["1{", "p"], whole=True).problem is not None
    assert read_script(["1{", "p"], whole=False).problem is None
