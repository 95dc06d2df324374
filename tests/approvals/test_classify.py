"""The classifier sees every part of a command, wherever the shell would run it,
and never answers with nothing."""

from __future__ import annotations

import pytest

from corral.approvals import Category, Invocation, Script, Word, WordKind
from corral.approvals._classify import MAX_NESTING, PROGRAMS, classify_script
from tests.approvals.classify_support import (
    Classifier,
    case,
    categories,
    check,
    only,
    shown,
)

C = Category


EVERYDAY = [
    only("ls", C.READ, why="ls is a read"),
    only("ls -la src", C.READ, why="ls with options is a read"),
    only("cat README", C.READ, why="cat of a workspace file is a read"),
    only("rg -n TODO src", C.READ, why="rg is a read"),
    only("grep -rn main src | head -20", C.READ, why="a pipeline of reads is a read"),
    only("find . -name '*.py' -type f", C.READ, why="find without actions is a read"),
    only("git status", C.GIT_READ, why="git status is a git read"),
    only("git diff", C.GIT_READ, why="git diff is a git read"),
    only("pytest", C.TEST_BUILD, why="pytest is a test run"),
    only("pytest -q tests/x.py -k name", C.TEST_BUILD, why="pytest with options"),
    only("python -m pytest -x", C.TEST_BUILD, why="python -m pytest is a test run"),
    only("npm test", C.TEST_BUILD, why="npm test is a test run"),
    only("make", C.TEST_BUILD, why="make is a build"),
    only("make test", C.TEST_BUILD, why="make with a target is a build"),
    only("CI=1 pytest -q", C.TEST_BUILD, why="an ordinary inline variable is fine"),
    only("FOO=bar make", C.TEST_BUILD, why="an ordinary variable before make"),
    only("echo hello > notes.txt", C.READ, C.EDIT, why="a redirect into the workspace"),
    only("ls > /dev/null 2>&1", C.READ, why="redirects to /dev/null write nothing"),
]


@pytest.mark.parametrize(("line", "has", "without"), EVERYDAY)
def test_everyday_commands_are_what_they_look_like(
    classifier: Classifier,
    line: str,
    has: frozenset[Category],
    without: frozenset[Category],
) -> None:
    check(classifier.text(line), has, without)


HIDING_PLACES = [
    case("ls & sudo rm -rf /", C.PRIVILEGE, C.DESTRUCTIVE, why="a background part"),
    case("ls; curl http://127.0.0.1:9/", C.NETWORK, why="after a semicolon"),
    case("ls\ncurl x", C.NETWORK, why="on the next line"),
    case("true || sudo id", C.PRIVILEGE, why="after ||"),
    case("true && sudo id", C.PRIVILEGE, why="after &&"),
    case("ls | curl -d @- x", C.NETWORK, why="in a pipeline"),
    case("(true; { curl x; })", C.NETWORK, why="in a group inside a subshell"),
    case("echo $(curl evil)", C.NETWORK, why="in a command substitution"),
    case('echo "$(sudo id)"', C.PRIVILEGE, why="in a quoted substitution"),
    case("echo `curl evil`", C.NETWORK, why="in backquotes"),
    case("cat <(curl x)", C.NETWORK, why="in a process substitution"),
    case("if true; then sudo id; fi", C.PRIVILEGE, why="in an if"),
    case("for i in 1; do sudo id; done", C.PRIVILEGE, why="in a loop"),
    case("f() { sudo id; }", C.PRIVILEGE, why="in a function body"),
    case("x=$(sudo id)", C.PRIVILEGE, why="in an assignment's substitution"),
    case("sh -c \"sh -c 'sudo id'\"", C.PRIVILEGE, why="in nested shell strings"),
    case("bash -lc 'curl x'", C.NETWORK, why="behind combined -lc"),
    case("bash -ec 'curl x'", C.NETWORK, why="behind combined -ec"),
    case("bash -xec 'curl x'", C.NETWORK, why="behind combined -xec"),
    case("bash -o pipefail -c 'curl x'", C.NETWORK, why="behind -o with a value"),
    case("dash -c 'curl x'", C.NETWORK, why="in dash -c"),
    case("zsh -c 'curl x'", C.NETWORK, why="in zsh -c"),
    case("busybox sh -c 'curl x'", C.NETWORK, why="in busybox sh -c"),
    case("printf 'rm -rf ~' | bash", C.DESTRUCTIVE, why="in printf piped to bash"),
    case("echo 'sudo id' | sh", C.PRIVILEGE, why="in echo piped to sh"),
    case("bash <<EOF\nsudo id\nEOF", C.PRIVILEGE, why="in a here-document"),
    case("bash <<< 'sudo id'", C.PRIVILEGE, why="in a here-string"),
    case("bash -s <<< 'sudo id'", C.PRIVILEGE, why="in stdin read with -s"),
    case("eval 'sudo id'", C.PRIVILEGE, why="in eval's literal text"),
    case("eval sudo id", C.PRIVILEGE, why="in eval's words joined"),
    case("trap 'sudo id' EXIT", C.PRIVILEGE, why="in a trap"),
    case("alias ls='sudo id'", C.PRIVILEGE, why="in an alias's text"),
    case("s\\udo id", C.PRIVILEGE, why="behind a backslash"),
    case(". /dev/stdin <<< 'sudo id'", C.PRIVILEGE, why="in text sourced from stdin"),
    case(
        "bash /dev/stdin <<< 'sudo id'", C.PRIVILEGE, why="in a script read from stdin"
    ),
    case("awk 'BEGIN{system(\"sudo id\")}'", C.PRIVILEGE, why="in awk's system()"),
    case("awk '{print | \"sudo id\"}'", C.PRIVILEGE, why="in an awk pipe"),
    case("sed 'e sudo id' f", C.PRIVILEGE, why="in sed's e command"),
    case("vim -c '!sudo id' x", C.PRIVILEGE, why="in an editor's ! command"),
    case("less '+!sudo id' f", C.PRIVILEGE, why="in a pager's start-up command"),
    case("mapfile -C 'sudo id' -c 1 a < f", C.PRIVILEGE, why="in mapfile's callback"),
    case("compgen -C 'sudo id' x", C.PRIVILEGE, why="in compgen's command"),
    case("sort --compress-program=sudo f", C.PRIVILEGE, why="in sort's helper"),
    case("gawk -e 'BEGIN{system(\"sudo id\")}'", C.PRIVILEGE, why="in gawk -e text"),
    case("'sudo' id", C.PRIVILEGE, why="behind quotes"),
]


@pytest.mark.parametrize(("line", "has", "without"), HIDING_PLACES)
def test_a_part_is_found_wherever_it_hides(
    classifier: Classifier,
    line: str,
    has: frozenset[Category],
    without: frozenset[Category],
) -> None:
    check(classifier.text(line), has, without)


UNMODELLED = [
    case('eval "$X"', C.UNMODELLED, why="eval of run-time text"),
    case('sh -c "$CMD"', C.UNMODELLED, why="a shell string computed at run time"),
    case("source <(echo 'sudo id')", C.UNMODELLED, why="sourcing a substitution"),
    case('bash "$F"', C.UNMODELLED, why="a script file named at run time"),
    case("curl x | bash", C.UNMODELLED, C.NETWORK, why="a shell reading unseen stdin"),
    case("bash", C.UNMODELLED, why="a shell reading whatever stdin holds"),
    case("$CMD --version", C.UNMODELLED, why="a program name from a variable"),
    case("${X}ls", C.UNMODELLED, why="a program name partly computed"),
    case("l*s", C.UNMODELLED, why="a program name that is a glob"),
    case("{rm,-rf,/}", C.UNMODELLED, why="brace expansion as the command"),
    case('ls "unterminated', C.UNMODELLED, why="a syntax error"),
    case("shopt -s expand_aliases", C.UNMODELLED, why="aliases that would expand"),
    case("bash -O expand_aliases -c ls", C.UNMODELLED, why="aliases turned on by -O"),
    case("enable -f ./x.so x", C.UNMODELLED, C.EXEC_OVERRIDE, why="a loaded builtin"),
    case("fc -s", C.UNMODELLED, why="commands re-run from the history"),
    case("let 'a[$(id)]=1'", C.UNMODELLED, why="a substitution in a let subscript"),
    case("read 'a[$(id)]'", C.UNMODELLED, why="a substitution in a read subscript"),
    case("declare 'a[$(id)]=1'", C.UNMODELLED, why="a substitution in a declare name"),
    case("export 'a[`id`]=1'", C.UNMODELLED, why="a backquote in an export name"),
    case("fish -c 'ls'", C.UNMODELLED, why="a shell with a syntax of its own"),
    case("tmux new -d 'sudo id'", C.UNMODELLED, why="commands sent to a multiplexer"),
    case("alias cat=git", C.UNMODELLED, why="an alias defined"),
    case("sh -c 'alias cat=git\ncat push'", C.UNMODELLED, why="an alias in sh"),
    case("alias a=b c", C.UNMODELLED, why="an alias among names"),
    only("alias", C.READ, why="aliases listed"),
    only("alias ll", C.READ, why="one alias shown"),
    case("x='a[$(id)]'; ((x))", C.UNMODELLED, why="a substitution in a value"),
    case("x='a[`id`]'", C.UNMODELLED, why="a backquote in a value"),
    case("a=(b 'a[$(id)]'); ((a[1]))", C.UNMODELLED, why="a substitution in an array"),
    case("x='${a[0]}' ls", C.UNMODELLED, why="an expansion in an inline value"),
    case("export x='$(id)'", C.UNMODELLED, why="a substitution exported"),
    case("local x='$(id)'", C.UNMODELLED, why="a substitution in a local"),
    case("declare -i x='a[$(id)]'", C.UNMODELLED, why="a substitution declared"),
    case("readonly x='$(id)'", C.UNMODELLED, why="a substitution made readonly"),
    case("for x in '$(id)'; do ((x)); done", C.UNMODELLED, why="a for over code"),
    case("env x='$(id)' bash -c '((x))'", C.UNMODELLED, why="a value through env"),
    case("echo ${x@P}", C.UNMODELLED, why="prompt expansion of a value"),
    case("echo ${!x}", C.UNMODELLED, why="an indirect expansion"),
    case("echo ${!x:-d}", C.UNMODELLED, why="an indirect expansion with a default"),
    only("echo ${!a[@]} ${!a[*]} ${!pre@} ${!pre*} ${!}", C.READ, why="not indirect"),
    only("x=$(date); echo $x", C.READ, why="a value that ran a substitution"),
    only("echo 'use `make`'", C.READ, why="a backquote in an argument"),
]


@pytest.mark.parametrize(("line", "has", "without"), UNMODELLED)
def test_what_cannot_be_modelled_is_reported(
    classifier: Classifier,
    line: str,
    has: frozenset[Category],
    without: frozenset[Category],
) -> None:
    check(classifier.text(line), has, without)


PROGRAMS_BY_PATH = [
    only("/usr/bin/git status", C.GIT_READ, why="a system program by path is its name"),
    only("/bin/ls -l", C.READ, why="a system read by path is a read"),
    case("./build.sh", C.EXECUTE, why="a program in the workspace runs its code"),
    case("src/app.py", C.EXECUTE, why="a workspace file run directly"),
    case("/tmp/x", C.EXECUTE, why="a program in the private /tmp runs written code"),
    case(".venv/bin/pip install x", C.EXECUTE, C.PACKAGE_INSTALL, why="a venv's pip"),
    case("./sudo id", C.EXECUTE, C.PRIVILEGE, why="a workspace file named like sudo"),
    only("frobnicate --all", C.UNKNOWN, why="a program corral does not know"),
    case("python3.12 x.py", C.EXECUTE, why="a versioned interpreter"),
    case("pip3.11 install x", C.PACKAGE_INSTALL, why="a versioned pip"),
    case("gcc-13 -c x.c", C.TEST_BUILD, why="a versioned compiler"),
    only("declare x='date'", C.READ, why="a plain declared value is text"),
    only("ls2", C.UNKNOWN, why="only versioned families drop a version number"),
    only("gcc\u0661\u0663 -c x.c", C.UNKNOWN, why="a version is ASCII digits"),
    only("python3 -V", C.READ, why="python -V prints its version"),
]


@pytest.mark.parametrize(("line", "has", "without"), PROGRAMS_BY_PATH)
def test_a_program_named_by_path(
    classifier: Classifier,
    line: str,
    has: frozenset[Category],
    without: frozenset[Category],
) -> None:
    check(classifier.text(line), has, without)


ENVIRONMENT = [
    case("LD_PRELOAD=x ls", C.EXEC_OVERRIDE, why="LD_PRELOAD inline"),
    case("LD_LIBRARY_PATH=x ls", C.EXEC_OVERRIDE, why="LD_LIBRARY_PATH inline"),
    case("LD_AUDIT=x ls", C.EXEC_OVERRIDE, why="LD_AUDIT inline"),
    case("env LD_PRELOAD=x cat README", C.EXEC_OVERRIDE, why="LD_PRELOAD through env"),
    case("export LD_PRELOAD=x; ls", C.EXEC_OVERRIDE, why="LD_PRELOAD exported"),
    case("LD_PRELOAD=x", C.EXEC_OVERRIDE, why="LD_PRELOAD as a bare assignment"),
    case("declare -x BASH_ENV=x", C.EXEC_OVERRIDE, why="BASH_ENV declared"),
    case("BASH_ENV=x bash -c ls", C.EXEC_OVERRIDE, why="BASH_ENV for a shell"),
    case("ENV=x sh -c ls", C.EXEC_OVERRIDE, why="ENV for sh"),
    case("PROMPT_COMMAND=x bash -i", C.EXEC_OVERRIDE, why="PROMPT_COMMAND"),
    case("SHELLOPTS=xtrace bash -c ls", C.EXEC_OVERRIDE, why="SHELLOPTS"),
    case("BASHOPTS=expand_aliases bash -c ls", C.EXEC_OVERRIDE, why="BASHOPTS"),
    case("PS4='$(id)' bash -xc ls", C.EXEC_OVERRIDE, why="PS4 expanded by xtrace"),
    case("IFS=/ ls", C.EXEC_OVERRIDE, why="IFS"),
    case("PATH=/opt/evil:$PATH; ls", C.EXEC_OVERRIDE, why="PATH as a bare assignment"),
    case("GIT_CONFIG_GLOBAL=x git status", C.EXEC_OVERRIDE, why="GIT_CONFIG_GLOBAL"),
    case("GIT_CONFIG_COUNT=1 git status", C.EXEC_OVERRIDE, why="GIT_CONFIG_COUNT"),
    case("GIT_EXEC_PATH=/x git status", C.EXEC_OVERRIDE, why="GIT_EXEC_PATH"),
    case("GIT_PAGER=x git log", C.EXEC_OVERRIDE, why="GIT_PAGER"),
    case("PAGER=x man ls", C.EXEC_OVERRIDE, why="PAGER"),
    case("MANPAGER=x man ls", C.EXEC_OVERRIDE, why="MANPAGER"),
    case("LESSOPEN='|x %s' less f", C.EXEC_OVERRIDE, why="LESSOPEN"),
    case("GIT_EDITOR=x git commit", C.EXEC_OVERRIDE, why="GIT_EDITOR"),
    case("EDITOR=x git commit", C.EXEC_OVERRIDE, why="EDITOR"),
    case("VISUAL=x git commit", C.EXEC_OVERRIDE, why="VISUAL"),
    case("GIT_SSH=x git fetch", C.EXEC_OVERRIDE, why="GIT_SSH"),
    case("GIT_SSH_COMMAND=x git fetch", C.EXEC_OVERRIDE, why="GIT_SSH_COMMAND"),
    case("GIT_ASKPASS=x git fetch", C.EXEC_OVERRIDE, why="GIT_ASKPASS"),
    case("SSH_ASKPASS=x ssh h", C.EXEC_OVERRIDE, why="SSH_ASKPASS"),
    case("GIT_EXTERNAL_DIFF=x git diff", C.EXEC_OVERRIDE, why="GIT_EXTERNAL_DIFF"),
    case("GIT_TEMPLATE_DIR=x git init", C.EXEC_OVERRIDE, why="GIT_TEMPLATE_DIR"),
    case("GIT_DIR=/x git log", C.EXEC_OVERRIDE, why="GIT_DIR"),
    case("GIT_WORK_TREE=/x git status", C.EXEC_OVERRIDE, why="GIT_WORK_TREE"),
    case("NODE_OPTIONS=--require=x node t.js", C.EXEC_OVERRIDE, why="NODE_OPTIONS"),
    case("PERL5OPT=-Mx perl t.pl", C.EXEC_OVERRIDE, why="PERL5OPT"),
    case("PERL5LIB=x perl t.pl", C.EXEC_OVERRIDE, why="PERL5LIB"),
    case("RUBYOPT=-rx ruby t.rb", C.EXEC_OVERRIDE, why="RUBYOPT"),
    case("PYTHONSTARTUP=x python", C.EXEC_OVERRIDE, why="PYTHONSTARTUP"),
    case("PYTHONPATH=x cat README", C.EXEC_OVERRIDE, why="PYTHONPATH for a read"),
    case("PYTHONHOME=x git status", C.EXEC_OVERRIDE, why="PYTHONHOME for a git read"),
    case("export PYTHONPATH=x; ls", C.EXEC_OVERRIDE, why="PYTHONPATH exported, a read"),
    case("HOME=/x git status", C.EXEC_OVERRIDE, why="HOME for a git read"),
    case(
        "export HOME=/x; echo hi", without=[C.EXEC_OVERRIDE], why="HOME and a builtin"
    ),
    case("PYTHONPATH=src pytest", without=[C.EXEC_OVERRIDE], why="PYTHONPATH, tests"),
    case("GIT_CONFIG_NOSYSTEM=1 git status", without=[C.EXEC_OVERRIDE], why="NOSYSTEM"),
    case("export CI=1; pytest", without=[C.EXEC_OVERRIDE], why="ordinary export"),
    case("TZ=UTC date", without=[C.EXEC_OVERRIDE], why="ordinary inline variable"),
    case("read PATH <<< ./bin; ls", C.EXEC_OVERRIDE, why="PATH read"),
    case("read -r -a PATH", C.EXEC_OVERRIDE, why="PATH read as an array"),
    case("read -p '> ' -r x PATH", C.EXEC_OVERRIDE, why="PATH read second"),
    case("printf -v PATH %s ./bin", C.EXEC_OVERRIDE, why="PATH printed into"),
    case("printf -vPATH %s ./bin", C.EXEC_OVERRIDE, why="PATH printed into, joined"),
    case("mapfile -t PATH < f", C.EXEC_OVERRIDE, why="PATH mapped"),
    case("readarray LD_PRELOAD < f", C.EXEC_OVERRIDE, why="LD_PRELOAD read into"),
    case("export PATH+=:./bin; ls", C.EXEC_OVERRIDE, why="PATH appended by export"),
    case("declare PATH+=:./bin", C.EXEC_OVERRIDE, why="PATH appended by declare"),
    case("typeset -x LD_PRELOAD+=x.so", C.EXEC_OVERRIDE, why="appended by typeset"),
    case("set -a; read LD_PRELOAD <<< x", C.EXEC_OVERRIDE, why="read and exported"),
    case('read "$x"', C.UNMODELLED, why="a read into a name known at run time"),
    case('printf -v "$x" 1', C.UNMODELLED, why="a printf into a run-time name"),
    case('mapfile "$x"', C.UNMODELLED, why="a mapfile into a run-time name"),
    only("read -r line < f", C.READ, why="an ordinary read"),
    only("printf -v out %s x", C.READ, why="an ordinary printf -v"),
    only("mapfile -t lines < f", C.READ, why="an ordinary mapfile"),
]


@pytest.mark.parametrize(("line", "has", "without"), ENVIRONMENT)
def test_environment_that_runs_other_code(
    classifier: Classifier,
    line: str,
    has: frozenset[Category],
    without: frozenset[Category],
) -> None:
    check(classifier.text(line), has, without)


@pytest.mark.parametrize(
    "line",
    ["", "   ", "# only a comment", "x=1", "> out.txt", ": > out.txt"],
    ids=["empty", "blank", "comment", "bare assignment", "redirect only", "colon"],
)
def test_every_command_gives_at_least_one_finding(
    classifier: Classifier, line: str
) -> None:
    assert classifier.text(line)


def test_an_empty_argv_gives_a_finding(classifier: Classifier) -> None:
    assert classifier.argv([])


def test_every_invocation_gives_a_finding(classifier: Classifier) -> None:
    """Even parts that do nothing (a bare redirect, true) are each reported."""
    script = Script(
        (
            Invocation((Word("true"),)),
            Invocation(()),
            Invocation((Word("ls"),)),
        )
    )
    findings = classify_script(script, classifier.context())
    assert len(findings) >= len(script.invocations)


def test_each_unmodelled_reason_is_a_finding(classifier: Classifier) -> None:
    script = Script((Invocation((Word("ls"),)),), unmodelled=("first", "second"))
    findings = classify_script(script, classifier.context())
    reasons = [f.reason for f in findings if f.category is C.UNMODELLED]
    assert reasons == ["first", "second"]


def test_argv_words_reach_the_program_as_they_are(classifier: Classifier) -> None:
    """Without a shell, ``$(sudo id)`` is only text that echo prints."""
    findings = classifier.argv(["echo", "$(sudo id)"])
    assert categories(findings) == {C.READ}, shown(findings)


def test_argv_of_a_shell_is_parsed(classifier: Classifier) -> None:
    findings = classifier.argv(["bash", "-lc", "git status; sudo id"])
    assert {C.GIT_READ, C.PRIVILEGE} <= categories(findings), shown(findings)


def test_wrappers_nested_past_the_limit_are_unmodelled(classifier: Classifier) -> None:
    findings = classifier.text("nice " * (MAX_NESTING + 1) + "ls")
    assert C.UNMODELLED in categories(findings), shown(findings)


def test_shell_text_nested_past_the_limit_is_unmodelled(
    classifier: Classifier,
) -> None:
    findings = classifier.text("eval " * (MAX_NESTING + 1) + "ls")
    assert C.UNMODELLED in categories(findings), shown(findings)


def test_a_dynamic_word_is_passed_on_as_dynamic(classifier: Classifier) -> None:
    """The decision layer needs to know which words are not what they read as."""
    findings = classifier.text("git $SUB")
    assert any(w.kind is WordKind.DYNAMIC for f in findings for w in f.argv), shown(
        findings
    )


def test_reasons_are_specific_sentences(classifier: Classifier) -> None:
    findings = classifier.text("git push origin main")
    assert [f.reason for f in findings] == ["git push sends commits to a remote"]


def test_every_table_name_is_one_word() -> None:
    assert all(name and " " not in name for name in PROGRAMS)
