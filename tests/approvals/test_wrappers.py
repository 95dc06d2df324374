"""Wrappers are seen through: the command each runs is classified, and a wrapper
that changes privilege says so for itself."""

from __future__ import annotations

import pytest

from corral.approvals import Category, Word, WordKind
from corral.approvals._wrappers import assignment
from tests.approvals.classify_support import Classifier, case, check, only, shown

C = Category


ENV = [
    case("env -i sudo id", C.PRIVILEGE, why="env -i"),
    case("env -u HOME sudo id", C.PRIVILEGE, why="env -u NAME"),
    case("env --unset=HOME curl x", C.NETWORK, why="env --unset=NAME"),
    case("env -C /tmp curl x", C.NETWORK, why="env -C DIR"),
    case("env A=1 B=2 curl x", C.NETWORK, why="env NAME=VALUE"),
    case("env -S 'sudo id'", C.PRIVILEGE, why="env -S splits its string"),
    case("env -iS 'curl x'", C.NETWORK, why="env -S among short flags"),
    case("env -S 'LD_PRELOAD=x ls'", C.EXEC_OVERRIDE, why="an assignment in -S"),
    case('env -S "$X"', C.UNMODELLED, why="env -S of run-time text"),
    case("env -Q x", C.UNMODELLED, why="an env option corral does not know"),
    case("env - curl x", C.NETWORK, why="env - clears the environment"),
    case("env -- curl x", C.NETWORK, why="env --"),
    only("env", C.READ, why="env alone prints the environment"),
]

PRIVILEGE = [
    case("sudo id", C.PRIVILEGE, C.READ, why="sudo and its command"),
    case("sudo -u bob curl x", C.PRIVILEGE, C.NETWORK, why="sudo -u USER"),
    case("sudo -E -H curl x", C.PRIVILEGE, C.NETWORK, why="sudo flags"),
    case("sudo LD_PRELOAD=x ls", C.PRIVILEGE, C.EXEC_OVERRIDE, why="sudo NAME=VALUE"),
    case("sudo -s curl x", C.PRIVILEGE, C.NETWORK, why="sudo -s"),
    case("sudo -X curl x", C.PRIVILEGE, C.UNMODELLED, why="an unknown sudo option"),
    only("sudo -l", C.PRIVILEGE, why="sudo without a command"),
    case("doas curl x", C.PRIVILEGE, C.NETWORK, why="doas"),
    case("doas -u bob curl x", C.PRIVILEGE, C.NETWORK, why="doas -u"),
    case("su -c 'curl x' bob", C.PRIVILEGE, C.NETWORK, why="su -c STRING"),
    case("su - bob -c 'curl x'", C.PRIVILEGE, C.NETWORK, why="su - USER -c"),
    case("su", C.PRIVILEGE, C.UNMODELLED, why="su reading unseen stdin"),
    case("runuser -u bob -- curl x", C.PRIVILEGE, C.NETWORK, why="runuser -u"),
    case("runuser bob -c 'curl x'", C.PRIVILEGE, C.NETWORK, why="runuser -c"),
    case("pkexec curl x", C.PRIVILEGE, C.NETWORK, why="pkexec"),
    case("chroot /srv curl x", C.PRIVILEGE, C.NETWORK, why="chroot NEWROOT"),
    case("nsenter -t 1 -m -u curl x", C.PRIVILEGE, C.NETWORK, why="nsenter"),
    case("unshare -r curl x", C.PRIVILEGE, C.NETWORK, why="unshare"),
    case(
        "unshare --mount-proc -p -f curl x", C.PRIVILEGE, C.NETWORK, why="unshare -pf"
    ),
    case("setpriv --reuid=1 curl x", C.PRIVILEGE, C.NETWORK, why="setpriv"),
    case("capsh -- -c 'curl x'", C.PRIVILEGE, C.NETWORK, why="capsh -- -c"),
    case("sg wheel curl x", C.PRIVILEGE, C.NETWORK, why="sg GROUP"),
]

RUNNERS = [
    case("xargs sudo", C.PRIVILEGE, why="xargs with a command"),
    case("ls | xargs sudo rm", C.PRIVILEGE, why="xargs in a pipeline"),
    case("xargs -0 -n 1 -P 4 curl", C.NETWORK, why="xargs options"),
    case("xargs -I{} curl {}", C.NETWORK, why="xargs -I"),
    case("xargs -I {} sh -c 'echo {}'", C.UNMODELLED, why="xargs -I into sh -c"),
    case("xargs -i sh -c 'echo {}'", C.UNMODELLED, why="xargs -i into sh -c"),
    only("xargs", C.READ, why="xargs alone runs echo"),
    case("ls | xargs rm", C.OUTSIDE_WRITE, why="xargs rm of words from stdin"),
    case("xargs --frob x", C.UNMODELLED, why="an xargs option corral does not know"),
    case("timeout 5 curl x", C.NETWORK, why="timeout DURATION"),
    case("timeout -s KILL -k 2 5 curl x", C.NETWORK, why="timeout options"),
    case("timeout --signal=TERM 5 curl x", C.NETWORK, why="timeout --signal="),
    case("timeout --sig TERM 5 curl x", C.NETWORK, why="an abbreviated long option"),
    case("nice curl x", C.NETWORK, why="nice"),
    case("nice -n 5 curl x", C.NETWORK, why="nice -n N"),
    case("nice -10 curl x", C.NETWORK, why="nice -N"),
    case("nohup curl x", C.NETWORK, why="nohup"),
    case("timeout 5 nice -n 1 nohup curl x", C.NETWORK, why="nested wrappers"),
    case("timeout 5 nice -n 1 nohup sudo id", C.PRIVILEGE, why="nested, then sudo"),
    case("exec curl x", C.NETWORK, why="exec CMD"),
    case("exec -a name curl x", C.NETWORK, why="exec -a NAME"),
    case("exec -cl curl x", C.NETWORK, why="exec -c -l"),
    only("exec 3>/dev/null", C.READ, why="exec with only redirections"),
    case("command curl x", C.NETWORK, why="command CMD"),
    case("command -p curl x", C.NETWORK, why="command -p"),
    only("command -v sudo", C.READ, why="command -v only looks a name up"),
    only("command -V sudo", C.READ, why="command -V only looks a name up"),
    case("builtin eval 'sudo id'", C.PRIVILEGE, why="builtin NAME"),
    case("time curl x", C.NETWORK, why="time"),
    case("time -p curl x", C.NETWORK, why="time -p"),
    case("stdbuf -oL curl x", C.NETWORK, why="stdbuf"),
    case("ionice -c 3 curl x", C.NETWORK, why="ionice"),
    only("ionice -p 1", C.READ, why="ionice of a running process"),
    case("chrt -b 0 curl x", C.NETWORK, why="chrt PRIORITY"),
    case("taskset 0x1 curl x", C.NETWORK, why="taskset MASK"),
    case("taskset -c 0 curl x", C.NETWORK, why="taskset -c LIST"),
    case("setsid -f curl x", C.NETWORK, why="setsid"),
    case("flock /tmp/l curl x", C.NETWORK, why="flock FILE CMD"),
    case("flock -n /tmp/l -c 'curl x'", C.NETWORK, why="flock FILE -c STRING"),
    case("watch -n 1 'sudo id'", C.PRIVILEGE, why="watch runs its words through sh"),
    case("watch -x curl x", C.NETWORK, why="watch -x execs its words"),
    case("strace -f curl x", C.NETWORK, why="strace"),
    case("busybox sudo id", C.PRIVILEGE, why="a busybox applet"),
]

FIND = [
    case("find . -exec sudo id \\;", C.PRIVILEGE, why="find -exec ;"),
    case("find . -exec curl {} +", C.NETWORK, why="find -exec +"),
    case("find . -execdir curl {} \\;", C.NETWORK, why="find -execdir"),
    case("find . -ok curl {} \\;", C.NETWORK, why="find -ok"),
    case("find . -okdir curl {} \\;", C.NETWORK, why="find -okdir"),
    case("find . -exec sh -c 'echo {}' \\;", C.UNMODELLED, why="{} inside sh -c text"),
    case("find . -name x -exec sh -c 'curl \"$1\"' _ {} \\;", C.NETWORK, why="sh $1"),
    case("find -L . -type f -exec curl {} +", C.NETWORK, why="find -L"),
    case(
        "find . -exec cat {} \\; -exec sudo id \\;", C.PRIVILEGE, why="a second -exec"
    ),
]

SHELL_TEXT = [
    case("git submodule foreach 'curl x'", C.NETWORK, why="submodule foreach"),
    case("git rebase -x 'curl x' main", C.NETWORK, why="rebase -x"),
    case("git bisect run curl x", C.NETWORK, why="bisect run"),
    case("trap 'curl x' EXIT", C.NETWORK, why="trap"),
    only("trap - EXIT", C.READ, why="trap - resets"),
    only("trap '' INT", C.READ, why="trap '' ignores"),
    case("eval 'curl x'", C.NETWORK, why="eval"),
    case('eval "curl $X"', C.UNMODELLED, why="eval of run-time text"),
    case("source ./env.sh", C.EXECUTE, why="source FILE"),
    case(". ./env.sh", C.EXECUTE, why=". FILE"),
    case("bash script.sh", C.EXECUTE, why="a shell running a script file"),
    case("bash -x script.sh arg", C.EXECUTE, why="a script file with options"),
    case("bash --rcfile x -i", C.EXECUTE, why="a start-up file"),
]


@pytest.mark.parametrize(
    ("line", "has", "without"), [*ENV, *PRIVILEGE, *RUNNERS, *FIND, *SHELL_TEXT]
)
def test_wrappers_are_seen_through(
    classifier: Classifier,
    line: str,
    has: frozenset[Category],
    without: frozenset[Category],
) -> None:
    check(classifier.text(line), has, without)


def test_xargs_adds_words_only_known_at_run_time(classifier: Classifier) -> None:
    findings = classifier.text("xargs curl -s")
    (network,) = [f for f in findings if f.category is C.NETWORK]
    assert network.argv[-1].kind is WordKind.DYNAMIC, shown(findings)


def test_find_exec_marks_the_found_path_as_dynamic(classifier: Classifier) -> None:
    findings = classifier.text("find . -exec curl {} \\;")
    (network,) = [f for f in findings if f.category is C.NETWORK]
    assert network.argv[-1].kind is WordKind.DYNAMIC, shown(findings)


def test_the_inner_command_is_the_finding_argv(classifier: Classifier) -> None:
    findings = classifier.text("timeout 5 curl x")
    assert [w.text for w in findings[0].argv] == ["curl", "x"]


def test_a_privilege_wrapper_reports_itself(classifier: Classifier) -> None:
    findings = classifier.text("sudo ls")
    assert [f.category for f in findings] == [C.PRIVILEGE, C.READ]
    assert findings[0].argv[0].text == "sudo"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        (Word("A=1"), ("A", Word("1"))),
        (Word("_x9=a=b"), ("_x9", Word("a=b"))),
        (Word("A=$x", WordKind.DYNAMIC), ("A", Word("$x", WordKind.DYNAMIC))),
        (Word("9A=1"), None),
        (Word("-A=1"), None),
        (Word("A"), None),
        (Word("A*=1", WordKind.GLOB), None),
    ],
    ids=[
        "plain",
        "value with =",
        "dynamic value",
        "digit first",
        "option",
        "no =",
        "glob",
    ],
)
def test_assignment_words(word: Word, expected: tuple[str, Word] | None) -> None:
    assert assignment(word) == expected
