"""Where a command's secrets are, judged with its program in view.

``-p`` is a password to mysql and a port to ssh: each program corral knows
has a rule naming the words (and the characters in them) its secrets are at.
A program another runs (``docker exec db mysql -pX``) is judged as well.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from corral.audit.redact._runners import _CONTAINER_GLOBAL, _command_starts, _options

# A program's rule yields (word, first character, end or None) for each
# secret: programs take a password in a short option, or in a place only
# they give it.
_Secrets = Iterator[tuple[int, int, int | None]]

_MYSQL = re.compile(r"mysql\w*|mariadb(?:-\w+)?", re.ASCII)

# aws configure set NAME VALUE: the names whose value is a credential, and the
# global options that take a value before or between the words.
_AWS_SECRETS = frozenset({"aws_secret_access_key", "aws_session_token"})
_AWS_VALUED = frozenset({"--profile", "--region", "--output", "--endpoint-url"})


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
            yield index + 1, 0, None
        for option in attached:
            if len(word) > len(option) and word.startswith(option):
                yield index, len(option), None


def _mysql(words: Sequence[str], first: int) -> _Secrets:
    return _short(words, first, attached=("-p",))  # -p alone prompts


def _login(words: Sequence[str], first: int) -> _Secrets:
    """docker login, podman login, helm registry login: ``-p X``, ``-pX``."""
    first = _options(words, first, _CONTAINER_GLOBAL)
    for index in range(first, min(first + 2, len(words))):
        if words[index] == "login":
            yield from _short(words, index + 1, ("-p",), ("-p",))
            return


def _sshpass(words: Sequence[str], first: int) -> _Secrets:
    """sshpass -p X and -pX, before the command it runs."""
    index = first
    while index < len(words) and words[index][:1] == "-":
        word = words[index]
        if word == "-p" and index + 1 < len(words):
            yield index + 1, 0, None
        elif word.startswith("-p") and len(word) > 2:
            yield index, 2, None
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
        yield positional[3], 0, None


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
        yield positional[at], 0, None


def _curl(words: Sequence[str], first: int) -> _Secrets:
    """curl -u USER:PASSWORD, and -E CERT:PASSWORD (the certificate's passphrase)."""
    for index in range(first, len(words)):
        word = words[index]
        if word in _CURL_USER or word in _CURL_CERT:
            if index + 1 < len(words):
                yield from _after(index + 1, words[index + 1], ":")
            continue
        option, equals, value = word.partition("=")
        if equals and option in _CURL_USER | _CURL_CERT:
            yield from _after(index, value, ":", len(option) + 1)
        elif word[:2] in ("-u", "-U", "-E") and len(word) > 2:
            yield from _after(index, word[2:], ":", 2)


_CURL_USER = frozenset({"-u", "--user", "-U", "--proxy-user"})
_CURL_CERT = frozenset({"-E", "--cert", "--proxy-cert"})


def _after(index: int, value: str, mark: str, offset: int = 0) -> _Secrets:
    """The secret after `mark` in `value` (USER:PASSWORD, user%password)."""
    name, found, secret = value.partition(mark)
    if found and secret and not name.endswith("\\"):
        yield index, offset + len(name) + 1, None


def _vault(words: Sequence[str], first: int) -> _Secrets:
    """vault login TOKEN: a token given as the word after login."""
    if words[first : first + 1] == ["login"]:
        for index in range(first + 1, len(words)):
            word = words[index]
            if word[:1] != "-" and "=" not in word:
                yield index, 0, None
                return
            if word.startswith("-method"):
                return


def _az(words: Sequence[str], first: int) -> _Secrets:
    """az login -u ID -p SECRET."""
    if words[first : first + 1] == ["login"]:
        yield from _short(words, first + 1, ("-p",))


def _mongo(words: Sequence[str], first: int) -> _Secrets:
    """mongosh -p SECRET; ``-p`` followed by an option prompts."""
    for index, begin, end in _short(words, first, ("-p",)):
        if words[index][:1] != "-":
            yield index, begin, end


def _smbclient(words: Sequence[str], first: int) -> _Secrets:
    """smbclient -U user%SECRET."""
    for index in range(first, len(words)):
        word = words[index]
        if word in ("-U", "--user") and index + 1 < len(words):
            yield from _after(index + 1, words[index + 1], "%")
        elif word.startswith(("-U", "--user=")) and len(word) > 2:
            offset = 2 if word[1] == "U" else len("--user=")
            yield from _after(index, word[offset:], "%", offset)


def _sqlplus(words: Sequence[str], first: int) -> _Secrets:
    """sqlplus user/SECRET@db: the first word that is not an option."""
    for index in range(first, len(words)):
        word = words[index]
        if word[:1] == "-":
            continue
        user, slash, rest = word.partition("/")
        if user and slash and rest:
            at = rest.rfind("@")
            end = len(user) + 1 + at if at > 0 else None
            yield index, len(user) + 1, end
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
    **dict.fromkeys(
        ("zip", "unzip", "ssh-keygen"),
        lambda w, f: _short(w, f, ("-P", "-N"), ("-P", "-N")),
    ),
    **dict.fromkeys(("sqlcmd", "bcp"), _separate("-P")),
    "az": _az,
    **dict.fromkeys(("mongosh", "mongo"), _mongo),
    "smbclient": _smbclient,
    "sqlplus": _sqlplus,
    **dict.fromkeys(
        ("7z", "7za", "7zr", "7zz"), lambda w, f: _short(w, f, attached=("-p",))
    ),
    **dict.fromkeys(
        ("ldapsearch", "ldapadd", "ldapmodify", "ldapdelete", "ldapwhoami"),
        lambda w, f: _short(w, f, ("-w",), ("-w",)),
    ),
}

# Words one of which a shell line names when a rule of `_PROGRAMS` can apply.
# (az's two letters are in too many words: "az " instead.)
_PROGRAM_HINTS = (
    "mysql",
    "mariadb",
    "az ",
    *{name[:4] for name in _PROGRAMS if name != "az"},
)


def _program_secrets(words: Sequence[str]) -> _Secrets:
    """Where one command's secrets are, by its programs: (word, begin, end)."""
    for start in _command_starts(words):
        program = words[start].rpartition("/")[2]
        rule = _PROGRAMS.get(program)
        if rule is None and _MYSQL.fullmatch(program):
            rule = _mysql
        if rule is not None:
            yield from rule(words, start + 1)
