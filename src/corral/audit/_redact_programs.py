"""Where a command's secrets are, judged with its program in view.

``-p`` is a password to mysql and a port to ssh: each program corral knows
has a rule naming the words (and the character in them) its secrets start at.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

# A program's rule yields (word, first character) for each secret: programs
# take a password in a short option, or in a place only they give it.
_Secrets = Iterator[tuple[int, int]]

# Wrappers that run the command after their options (option -> takes a value),
# and the shell's words that may come before a command.
_WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "-S", "--unset", "--chdir"}),
    "exec": frozenset({"-a"}),
    "time": frozenset({"-f", "-o"}),
    "nice": frozenset({"-n"}),
    "ionice": frozenset({"-c", "-n"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    **dict.fromkeys(
        ("command", "nohup", "!", "{", "if", "then", "do", "else", "elif", "while"),
        frozenset[str](),
    ),
}

_ASSIGNMENT = re.compile(r"[A-Za-z_]\w*=", re.ASCII)
_MYSQL = re.compile(r"mysql\w*|mariadb(?:-\w+)?", re.ASCII)

# aws configure set NAME VALUE: the names whose value is a credential, and the
# global options that take a value before or between the words.
_AWS_SECRETS = frozenset({"aws_secret_access_key", "aws_session_token"})
_AWS_VALUED = frozenset({"--profile", "--region", "--output", "--endpoint-url"})


def _skip_wrappers(words: Sequence[str]) -> int:
    """Where the program is in `words`: after assignments and wrappers."""
    index = 0
    while index < len(words):
        word = words[index]
        if _ASSIGNMENT.match(word):
            index += 1
            continue
        wrapper = word.rpartition("/")[2]
        valued = _WRAPPERS.get(wrapper)
        if valued is None:
            break
        index += 1
        while index < len(words) and words[index][:1] == "-" and words[index] != "-":
            option = words[index]
            index += 2 if option in valued else 1
            if option == "--":
                break
        if wrapper == "timeout":
            index += 1  # the duration
    return index


def _short(
    words: Sequence[str],
    first: int,
    separate: tuple[str, ...] = (),
    attached: tuple[str, ...] = (),
) -> _Secrets:
    """The values of short options: ``-p X`` (`separate`) and ``-pX`` (`attached`)."""
    for index in range(first, len(words)):
        word = words[index]
        if word == "--":
            return
        if word in separate and index + 1 < len(words) and words[index + 1]:
            yield index + 1, 0
        for option in attached:
            if len(word) > len(option) and word.startswith(option):
                yield index, len(option)


def _mysql(words: Sequence[str], first: int) -> _Secrets:
    return _short(words, first, attached=("-p",))  # -p alone prompts


def _login(words: Sequence[str], first: int) -> _Secrets:
    """docker login, podman login, helm registry login: ``-p X``, ``-pX``."""
    for index in range(first, min(first + 3, len(words))):
        if words[index] == "login":
            yield from _short(words, index + 1, ("-p",), ("-p",))
            return


def _sshpass(words: Sequence[str], first: int) -> _Secrets:
    """sshpass -p X and -pX, before the command it runs."""
    index = first
    while index < len(words) and words[index][:1] == "-":
        word = words[index]
        if word == "-p" and index + 1 < len(words):
            yield index + 1, 0
        elif word.startswith("-p") and len(word) > 2:
            yield index, 2
        index += 2 if word in ("-p", "-f", "-d", "-P") else 1


def _aws(words: Sequence[str], first: int) -> _Secrets:
    """aws configure set aws_secret_access_key VALUE, and the session token."""
    positional = [
        index
        for index in range(first, len(words))
        if words[index][:1] != "-" and words[index - 1] not in _AWS_VALUED
    ]
    if len(positional) < 4 or [words[i] for i in positional[:2]] != [
        "configure",
        "set",
    ]:
        return
    if words[positional[2]].lower().rpartition(".")[2] in _AWS_SECRETS:
        yield positional[3], 0


def _htpasswd(words: Sequence[str], first: int) -> _Secrets:
    """htpasswd -b [FILE] USER PASSWORD: the password is a positional word."""
    flags, positional, index = "", list[int](), first
    while index < len(words):
        word = words[index]
        if word[:1] == "-" and len(word) > 1 and not positional:
            flags += word[1:]
            index += 1 if word[-1] in "Cr" else 0  # the cost or rounds
        else:
            positional.append(index)
        index += 1
    at = 1 if "n" in flags else 2  # -n prints: no file
    if "b" in flags and len(positional) > at:
        yield positional[at], 0


def _curl(words: Sequence[str], first: int) -> _Secrets:
    """curl -E CERT:PASSWORD: the certificate's passphrase after its name."""
    for index in range(first, len(words) - 1):
        if words[index] in ("-E", "--cert", "--proxy-cert"):
            name, colon, password = words[index + 1].partition(":")
            if colon and password and not name.endswith("\\"):
                yield index + 1, len(name) + 1


def _vault(words: Sequence[str], first: int) -> _Secrets:
    """vault login TOKEN: a token given as the word after login."""
    if words[first : first + 1] == ["login"]:
        for index in range(first + 1, len(words)):
            word = words[index]
            if word[:1] != "-" and "=" not in word:
                yield index, 0
                return
            if word.startswith("-method"):
                return


def _separate(*options: str) -> Callable[[Sequence[str], int], _Secrets]:
    return lambda words, first: _short(words, first, options)


_PROGRAMS: dict[str, Callable[[Sequence[str], int], _Secrets]] = {
    "sshpass": _sshpass,
    **dict.fromkeys(
        ("docker", "podman", "buildah", "nerdctl", "skopeo", "oras", "helm"), _login
    ),
    "redis-cli": _separate("-a"),
    "openssl": _separate("-k", "-K", "-hmac"),
    "aws": _aws,
    "htpasswd": _htpasswd,
    "curl": _curl,
    "vault": _vault,
    **dict.fromkeys(("zip", "unzip", "sqlcmd", "bcp"), _separate("-P")),
    **dict.fromkeys(
        ("7z", "7za", "7zr", "7zz"), lambda w, f: _short(w, f, attached=("-p",))
    ),
    **dict.fromkeys(
        ("ldapsearch", "ldapadd", "ldapmodify", "ldapdelete", "ldapwhoami"),
        lambda w, f: _short(w, f, ("-w",), ("-w",)),
    ),
}

# Words one of which a shell line names when a rule of `_PROGRAMS` can apply.
_PROGRAM_HINTS = ("mysql", "mariadb", *{name[:4] for name in _PROGRAMS})


def _program_secrets(words: Sequence[str]) -> _Secrets:
    """Where one command's secrets are, by its program: (word, first character)."""
    start = _skip_wrappers(words)
    if start >= len(words) - 1:
        return iter(())
    program = words[start].rpartition("/")[2]
    rule = _PROGRAMS.get(program) or (_mysql if _MYSQL.fullmatch(program) else None)
    return iter(()) if rule is None else rule(words, start + 1)
