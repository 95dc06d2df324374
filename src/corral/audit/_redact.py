"""Mask secrets in event records before they are written: the log outlives the command.

One combined regular expression (each string gets the part it could match)
finds the secrets a command line or an error message usually carries:
passwords in URLs, secret options, headers and assignments, well-known token
shapes, private keys.  A command's words, in an argv or a shell line, are also
read with their program in view (``mysql -pX``, ``sshpass -p X``).  The values
of the environment's secret variables and the policy's own patterns are
masked too.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, overload

from corral.policy._defaults import DEFAULT_SECRET_PATTERNS

__all__ = ["MASK", "Redactor"]

_K = TypeVar("_K")

MASK = "[redacted]"
"""What a secret is replaced with."""

MIN_SECRET_VALUE = 8
"""Characters; a shorter value of a secret variable (``1``, ``true``) is too
common a string to mask wherever it appears, and too short to be a credential."""

# corral's own variables carry no credentials; CORRAL_SESSION (a *SESSION*
# name) is the session id every record carries in the clear.
_OWN_PREFIX = "CORRAL_"

# Secret-looking names whose values are places, not credentials (the agent's
# socket, a keyring's directory, a credentials file's path): masking them
# wherever they appear would hide ordinary paths.
_PLACE_SUFFIXES = ("_SOCK", "_SOCKET", "_PATH", "_DIR", "_FILE", "_HOME")

# Passes over one string at most: a pass can expose a secret to the next (a
# policy pattern that masks what followed an AWS key id ends the key there),
# and text built to expose one more at every pass must not make this slow.
_MAX_PASSES = 3

# A name is matched against the secret patterns only when followed by '='
# within this many characters, which bounds the work at each word.
_MAX_NAME = 128

# Names the log treats as secret though the sandbox passes them on (a
# client's password variable): masked in records, kept in the environment.
# Not *PWD, which is the shell's working directory.
_REDACT_ONLY_PATTERNS = ("*_PASS", "SSHPASS", "*_PWD", "*PASSPHRASE*")
_NAME_PATTERNS = (*DEFAULT_SECRET_PATTERNS, *_REDACT_ONLY_PATTERNS)

# A value may refer to a variable or a substitution ($TOKEN, ${TOKEN},
# $(cat f)): the reference holds no secret and says where one came from, so
# only the literal text around it is masked.  Bare value patterns take a
# whole $(...) or ${...} (spaces and all) as one piece of the value.
_BARE_PIECE = r"\$\([^()\n]*\)|\$\{[^{}\n]*\}|`[^`\n]*`"

# Longest path looked up to tell a path from a secret: PATH_MAX.
_MAX_PATH = 4096


def _fnmatch_regex(pattern: str) -> str:
    """Translate one of the secret-name patterns for use inside a larger regex.

    ``*`` stands for any run of name characters (letters, digits, ``_``, and
    ``.`` and ``-``, which query parameters and properties use).
    """
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        index += 1
        if char == "*":
            out.append(r"[\w.-]*")
        elif char == "?":
            out.append(r"[\w.-]")
        elif char == "[" and "]" in pattern[index + 1 :]:
            end = pattern.index("]", index + 1)
            body = pattern[index:end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else f"[{body}]")
            index = end + 1
        else:
            out.append(re.escape(char))
    return "".join(out)


def _secret_names() -> str:
    """The secret-name patterns corral removes from environments, as one regex."""
    return "(?:" + "|".join(map(_fnmatch_regex, _NAME_PATTERNS)) + ")"


_SECRET_NAME = re.compile(_secret_names(), re.IGNORECASE | re.ASCII)

# Query parameters and form fields that carry credentials without a name the
# environment patterns would catch (S3 and GCS presigned URLs, HTTP auth).
_PARAMETER_NAMES = (
    r"(?:[\w.-]*[_.-])?(?:sig|signature|auth|authorization|pass|passphrase)"
)

# Options whose value is a secret: --password X, --api-key=X, -storepass X.
_OPTION_NAMES = (
    r"(?!no-)(?:(?:[a-z0-9]+[_-])*(?:password|passwd|pass|passphrase|token|secret"
    r"|api[_-]?key|apikey|auth|access[_-]key|secret[_-]key|private[_-]key|bearer)"
    r"|(?:store|key|srcstore|deststore|src|dest)pass)"
)

# Header, YAML and JSON keys whose value is a secret (X-Api-Key: X, "token": X,
# accessToken: X).  Any word characters may come first: the rule starts only
# at a word's start, so each word is tried once.
_KEY_NAMES = (
    r"[\w-]*?(?:api[_-]?key|token|secret|password|passwd|pwd|passphrase"
    r"|access[_-]?key|private[_-]?key|secret[_-]?key)"
)

# Well-known credential shapes, each with the prefix its issuer gives it.
_TOKENS = (
    r"gh[pousr]_[A-Za-z0-9]{20,}",  # GitHub
    r"github_pat_\w{20,}",
    r"glpat-[\w-]{20,}",  # GitLab
    r"xox[abprs]-[\w-]{10,}",  # Slack
    r"(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])",  # AWS access key id
    r"sk-(?:ant-|proj-)?[\w-]{20,}",  # OpenAI, Anthropic
    r"hv[sbr]\.[\w-]{20,}",  # Vault
    r"[rs]k_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe
    r"npm_[A-Za-z0-9]{30,}",
    r"pypi-[\w-]{32,}",
    r"AIza[\w-]{35}",  # Google API key
    r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*",  # JSON web token
)

# A value in quotes, masked to the closing quote (or the end, when there is
# none), or a bare value of the characters given.
_QUOTED_OR_BARE = (
    r"(?:\"(?P<{0}_dq>[^\"]*)\"?|'(?P<{0}_sq>[^']*)'?"
    r"|(?P<{0}_bare>(?:"
    + _BARE_PIECE.replace("{", "{{").replace("}", "}}")
    + r"|{1})+))"
)

# Each rule: a named group around the whole match, and the groups inside it
# that hold the secret.  Order matters where two rules can start at one
# place: the more specific comes first.
_RULES = (
    (
        "pem",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?P<pem_body>[\s\S]*?)(?=-----END |\Z)",
    ),
    (
        "url",
        r"(?<![\w+.-])[A-Za-z][\w+.-]*://"
        r"(?P<url_user>[^\s/?#@:'\"<>]*)(?::(?P<url_pass>[^\s/?#'\"<>]*))?@",
    ),
    ("token", r"(?<![\w-])(?:" + "|".join(_TOKENS) + ")"),
    (
        "auth",
        r"(?<![\w-])(?i:(?:proxy-)?authorization)[\"']?[ \t]*:[ \t]*[\"']?"
        r"(?:(?i:bearer|basic|token|bot|negotiate|ntlm)[ \t]+"
        rf"(?P<auth_cred>(?:{_BARE_PIECE}|[^\s'\"])+)"
        r"|(?P<auth_rest>[^\r\n'\"]+))",
    ),
    (
        "cookie",
        r"(?<![\w-])(?i:(?:set-)?cookie)[ \t]*:[ \t]*(?P<cookie_value>[^\r\n'\"]+)",
    ),
    (
        "key",
        r"(?<![\w-])(?i:"
        + _KEY_NAMES
        + r")[\"']?[ \t]*:[ \t]*"
        + _QUOTED_OR_BARE.format("key", r"[^\s'\",;}]"),
    ),
    (
        "option",
        r"(?<![\w-])--?(?i:"
        + _OPTION_NAMES
        + r")(?:=|[ \t]+)(?!-)"
        + _QUOTED_OR_BARE.format("option", r"[^\s'\"]"),
    ),
    (
        "user",
        r"(?<![\w-])(?:-u|--user|--proxy-user|--(?:src-|dest-)?creds)"
        r"(?:(?:=|[ \t]+)[^\s:'\"]*|[^\s:'\"]+):"
        rf"(?P<user_pass>(?:{_BARE_PIECE}|[^\s'\"])+)",
    ),
    ("pass", r"(?<![\w-])pass:(?P<pass_value>[^\s'\"]+)"),
    ("bearer", r"(?<![\w-])Bearer[ \t]+(?P<bearer_value>[\w.~+/=-]{8,})"),
    (
        "assign",
        rf"(?:(?<![\w.-])|(?<=-D))(?=[\w.-]{{1,{_MAX_NAME}}}=)"
        rf"(?i:{_secret_names()}|{_PARAMETER_NAMES})="
        + _QUOTED_OR_BARE.format("assign", r"[^\s&;'\"`|<>(),}]"),
    ),
)

_RULE_BITS = {name: 1 << index for index, (name, _) in enumerate(_RULES)}

# No rule starts right after a mask: what preceded the secret decided whether
# one could start there, and masking again must change nothing.
_NOT_AFTER_MASK = r"(?<!" + re.escape(MASK) + ")"


def _expression(rules: int) -> str:
    """The rules named by the bits `rules`, in their order, as one alternation."""
    return "|".join(
        f"(?P<{name}>{_NOT_AFTER_MASK}{body})"
        for name, body in _RULES
        if rules & _RULE_BITS[name]
    )


_DEFAULTS = re.compile(_expression(-1), re.ASCII)
"""Every rule in one expression; `_rules_in` picks the part a text needs."""

# The groups holding the secret, by rule; groups absent from a match are skipped.
_SECRET_GROUPS = {
    name: tuple(group for group in _DEFAULTS.groupindex if group.startswith(f"{name}_"))
    for name, _ in _RULES
}


def _literal_runs(pattern: str) -> str:
    """The longest literal part of an fnmatch pattern: any name it matches has it."""
    runs = re.split(r"\*|\?|\[[^\]]*\]", pattern)
    return max(runs, key=len).lower()


# Words one of which every name in `_OPTION_NAMES`, `_KEY_NAMES` contains.
_OPTION_WORDS = ("pass", "token", "secret", "key", "auth", "bearer")
_KEY_WORDS = ("pass", "token", "secret", "key", "pwd")

# Words one of which every secret name an assignment can have contains.
_ASSIGN_WORDS = tuple({*map(_literal_runs, _NAME_PATTERNS), "sig", "auth", "pass"})


def _rules_in(text: str) -> int:
    """The rules that could match somewhere in `text`, as bits of `_RULE_BITS`.

    Each test is for a part every match of the rule contains, so the rules
    left out could not have matched: the result is the same, only sooner
    (most strings in an event need none).
    """
    dash, colon, equals = "-" in text, ":" in text, "=" in text
    found = 0
    if (
        dash
        or "_" in text
        or "AKIA" in text
        or "ASIA" in text
        or "AIza" in text
        or "eyJ" in text
        or "hv" in text
    ):
        found = _RULE_BITS["token"]
    if "Bearer" in text:
        found |= _RULE_BITS["bearer"]
    if dash or colon or equals:
        found |= _worded_rules(text, dash=dash, colon=colon, equals=equals)
    return found


def _worded_rules(text: str, *, dash: bool, colon: bool, equals: bool) -> int:
    """`_rules_in` for the rules that need a name's word: ``--token``, ``key:``."""
    low = text.lower()
    found = 0
    if dash:
        if "-----BEGIN " in text:
            found |= _RULE_BITS["pem"]
        if any(word in low for word in _OPTION_WORDS):
            found |= _RULE_BITS["option"]
        if colon and ("-u" in text or "creds" in low):
            found |= _RULE_BITS["user"]
    if colon:
        if "@" in text and "://" in text:
            found |= _RULE_BITS["url"]
        if "authorization" in low:
            found |= _RULE_BITS["auth"]
        if "cookie" in low:
            found |= _RULE_BITS["cookie"]
        if any(word in low for word in _KEY_WORDS):
            found |= _RULE_BITS["key"]
        if "pass:" in text:
            found |= _RULE_BITS["pass"]
    if equals and any(word in low for word in _ASSIGN_WORDS):
        found |= _RULE_BITS["assign"]
    return found


@functools.lru_cache(maxsize=256)
def _combined(rules: int) -> re.Pattern[str]:
    """The rules named by the bits `rules`, compiled."""
    return re.compile(_expression(rules), re.ASCII)


# Options followed by their secret as the next word of an argv.
_SECRET_OPTION = re.compile(r"--?(?i:" + _OPTION_NAMES + ")", re.ASCII)
_USER_OPTIONS = frozenset(
    {"-u", "--user", "--proxy-user", "--creds", "--src-creds", "--dest-creds"}
)

# A user name in a URL (https://TOKEN@host) is taken for a token when it has
# a token's shape, or is long and has a digit; git@, deploy@, alice@ stay.
_TOKEN_USER = re.compile(r"(?=\D*\d)[\w-]{16,}|" + "|".join(_TOKENS), re.ASCII)


class Redactor:
    """Masks secrets in the strings of an event's fields.

    `patterns` are the policy's ``audit.redact`` regular expressions (checked
    when the policy was read): each match is masked, or only its ``secret``
    group when it has one.  `environ` is the environment whose secret
    variables' values are masked wherever they appear.
    """

    def __init__(
        self, patterns: Sequence[str] = (), environ: Mapping[str, str] | None = None
    ) -> None:
        self._patterns = _custom(tuple(patterns))
        self._secrets = _secret_values(environ or {})
        self._values = _values_regex(self._secrets) if self._secrets else None

    @overload
    def redact(self, value: str) -> str: ...
    @overload
    def redact(self, value: dict[_K, Any]) -> dict[_K, object]: ...
    @overload
    def redact(self, value: list[Any]) -> list[object]: ...
    @overload
    def redact(self, value: object) -> object: ...

    def redact(self, value: object) -> object:
        """Return `value` with every string in it masked; dict keys are kept.

        Dicts, lists and tuples are rebuilt; other values are returned as they
        are.  In a list, the word after a secret option (``--token``) is
        masked whole, and so are the short password options of the programs
        `_PROGRAMS` knows (``mysql -pX``), as in a shell line.
        """
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, dict):
            return {key: self.redact(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            words = _mask_program_words(_mask_option_values(value))
            items = [self.redact(item) for item in words]
            return items if isinstance(value, list) else tuple(items)
        return value

    def _text(self, text: str) -> str:
        """Mask until nothing more is found: a mask can end what precedes it."""
        for _ in range(_MAX_PASSES):
            masked = self._pass(text)
            if masked is text or masked == text:
                break
            text = masked
        return text

    def _pass(self, text: str) -> str:
        if self._values is not None and any(v in text for v in self._secrets):
            text = self._values.sub(MASK, text)
        if _may_name_a_program(text):
            text = _mask_shell_line(text)
        rules = _rules_in(text)
        if rules:
            text = _combined(rules).sub(_replace, text)
        for pattern in self._patterns:
            if MASK in text:
                # Masks already in place are left alone, so that a pattern
                # that matches part of one cannot grow it.
                parts = text.split(MASK)
                text = MASK.join(pattern.sub(_replace_custom, p) for p in parts)
            else:
                text = pattern.sub(_replace_custom, text)
        return text


def _mask_option_values(items: Sequence[object]) -> Sequence[object]:
    """`items` with the word after each secret option (``--token X``) masked."""
    masked: list[object] | None = None
    for index in range(1, len(items)):
        option, word = items[index - 1], items[index]
        if not (isinstance(option, str) and option[:1] == "-"):
            continue
        if not isinstance(word, str):
            continue
        if _SECRET_OPTION.fullmatch(option) and word and word[0] != "-":
            shown = _mask_value(word)
        elif option in _USER_OPTIONS and ":" in word:
            shown = _mask_user_password(word)
        else:
            continue
        if shown == word:
            continue
        masked = masked or list(items)
        masked[index] = shown
    return items if masked is None else masked


def _mask_user_password(word: str) -> str:
    user, _, password = word.partition(":")
    if not password or password.isdigit() or password[0] == "-":
        return word  # uid:gid
    return f"{user}:{_mask_value(password)}"


# ${NAME, and the operator after it: a default (-, =) or alternative (+)
# value is literal text; an error message (?) or anything else is not.
_BRACE_HEAD = re.compile(r"\$\{[#!]?(?:[A-Za-z_]\w*|\d+|[@*#?$!-])(?P<op>:?[-=+?])?")

# $NAME in capitals, the spelling of variables; $ecret or $sw0rd is taken
# for part of a password, since leaving it out would show the rest.
_NAME_REFERENCE = re.compile(r"\$[A-Z_][A-Z0-9_]*(?![a-z])")


def _outside_references(value: str) -> list[tuple[int, int]]:
    """The spans of `value` outside references: $NAME, ${...}, $(...), `...`.

    The default in ``${NAME:-default}`` counts as outside.  Nesting is
    followed with a stack, not recursion, so any depth takes one pass.
    """
    runs: list[tuple[int, int]] = []
    closers: list[str] = []  # "}" a default's end, "}c" ")" "`" code's end
    run, index = 0, 0
    while index < len(value):
        literal = not closers or closers[-1] == "}"
        char, end = value[index], index + 1
        if value.startswith("${", index):
            head = _BRACE_HEAD.match(value, index)
            op = head.group("op") if head else None
            closers.append("}" if op and op[-1] in "-=+" else "}c")
            end = head.end() if head else index + 2
        elif value.startswith("$(", index):
            closers.append(")")
            end = index + 2
        elif char == "`":
            if closers and closers[-1] == "`":
                closers.pop()
            else:
                closers.append("`")
        elif closers and char == closers[-1][0] and closers[-1] != "`":
            closers.pop()
        elif char == "(" and closers and closers[-1] == ")":
            closers.append(")")
        elif literal and char == "$" and (name := _NAME_REFERENCE.match(value, index)):
            end = name.end()
        else:
            index += 1
            continue
        if literal and index > run:
            runs.append((run, index))
        index = end
        run = end if not closers or closers[-1] == "}" else len(value) + 1
    if run < len(value):
        runs.append((run, len(value)))
    return runs


# The pass-phrase arguments of openssl and its kin: pass:X holds the secret,
# env:NAME, file:PATH, fd:N and stdin say where it is.
_PASS_SOURCE = re.compile(r"(?P<pass>pass:)(?=.)|(?:env|file|fd):.|stdin\Z", re.DOTALL)


def _secret_runs(value: str) -> list[tuple[int, int]]:
    """The spans of `value` to mask: all of it, or its literal text beside references.

    An existing absolute path is not a secret; nor is literal text that goes
    on from a reference as a path (``$HOME/.token``) or has no letter or digit.
    """
    source = _PASS_SOURCE.match(value)
    if source is not None:
        return [(source.end(), len(value))] if source.group("pass") else []
    if "$" not in value and "`" not in value:
        return [] if _is_path(value) else [(0, len(value))]
    runs = _outside_references(value)
    if runs == [(0, len(value))]:
        return [] if _is_path(value) else runs
    return [
        (begin, end)
        for begin, end in runs
        if value[begin] != "/" and any(c.isalnum() for c in value[begin:end])
    ]


def _is_path(value: str) -> bool:
    """Whether `value` names an existing file by its absolute path."""
    return value[:1] == "/" and len(value) <= _MAX_PATH and os.path.lexists(value)


def _mask_value(value: str) -> str:
    """`value` with its secret runs masked (see `_secret_runs`)."""
    out, at = [], 0
    for begin, end in _secret_runs(value):
        out += [value[at:begin], MASK]
        at = end
    return "".join(out) + value[at:] if out else value


# Programs that take a password in a short option, or in a place only they
# give it, judged with the program in view: ``-p`` is a password to mysql and
# a port to ssh.  A rule yields (word, first character) for each secret.
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


def _mask_program_words(items: Sequence[object]) -> Sequence[object]:
    """`items`, a command's words, with its program's secrets masked."""
    if len(items) < 2 or not all(isinstance(item, str) for item in items):
        return items
    words = [str(item) for item in items]
    masked: list[object] | None = None
    for index, offset in _program_secrets(words):
        word = words[index]
        shown = word[:offset] + _mask_value(word[offset:])
        if shown != word:
            masked = masked or list(items)
            masked[index] = shown
    return items if masked is None else masked


# A shell line's words (quotes kept), and what separates its commands.
_SHELL_TOKEN = re.compile(
    r"(?P<word>(?:[^\s'\"\\;&|()<>`]|\\.|'[^']*'?|\"(?:[^\"\\]|\\.)*\"?)+)"
    r"|[;&|()<>`\n]"
)
_QUOTED_PIECE = re.compile(r"'([^']*)'?|\"((?:[^\"\\]|\\.)*)\"?|\\(.)|([^'\"\\]+)")
_ESCAPE = re.compile(r"\\(.)")


def _may_name_a_program(text: str) -> bool:
    """Whether `text` can be a shell line naming one of `_PROGRAMS`."""
    return " " in text and any(hint in text for hint in _PROGRAM_HINTS)


def _unquote(word: str) -> str:
    """`word` as the shell passes it on: quotes and backslashes removed."""
    out = []
    for piece in _QUOTED_PIECE.finditer(word):
        single, double, escaped, bare = piece.groups()
        if double is not None:
            out.append(_ESCAPE.sub(r"\1", double))
        else:
            out.append(single if single is not None else escaped or bare or "")
    return "".join(out)


def _mask_shell_line(text: str) -> str:
    """`text` with the secrets of each command it holds masked, by program."""
    commands: list[list[re.Match[str]]] = [[]]
    for token in _SHELL_TOKEN.finditer(text):
        if token.lastgroup == "word":
            commands[-1].append(token)
        elif commands[-1]:
            commands.append([])
    edits = []
    for command in commands:
        if len(command) < 2:
            continue
        words = [_unquote(token.group()) for token in command]
        for index, offset in _program_secrets(words):
            edit = _shell_edit(command[index], words[index], offset)
            if edit is not None:
                edits.append(edit)
    if not edits:
        return text
    out, at = [], 0
    for begin, end, shown in sorted(edits):
        out += [text[at:begin], shown]
        at = end
    return "".join(out) + text[at:]


def _shell_edit(
    token: re.Match[str], word: str, offset: int
) -> tuple[int, int, str] | None:
    """The edit of `token` (shell text, whose value is `word`) masking word[offset:]."""
    shown = _mask_value(word[offset:])
    if shown == word[offset:]:
        return None
    raw, begin, end = token.group(), token.start(), token.end()
    if raw[:offset] != word[:offset]:
        return begin, end, word[:offset] + shown
    tail = raw[offset:]
    quote = tail[:1]
    if quote in ("'", '"') and len(tail) > 1 and tail[1:].find(quote) == len(tail) - 2:
        return begin + offset + 1, end - 1, shown  # keep the quotes
    return begin + offset, end, shown


def _replace(match: re.Match[str]) -> str:
    rule = match.lastgroup
    assert rule is not None  # noqa: S101 - every alternative is a named group
    if rule == "token":
        return MASK
    spans = [match.span(group) for group in _SECRET_GROUPS[rule]]
    if rule == "url":
        spans = _url_spans(match)
    elif rule == "user" and match.group("user_pass").isdigit():
        spans = []  # -u 1000:1000 is a uid and gid
    elif rule != "pem":
        spans = [run for span in spans for run in _value_spans(match.string, span)]
    return _mask_spans(match, [span for span in spans if span[1] > span[0]])


def _value_spans(text: str, span: tuple[int, int]) -> list[tuple[int, int]]:
    """The secret runs of the value at `span` in `text`, as spans of `text`."""
    begin, end = span
    if begin < 0 or end <= begin:
        return []
    return [(begin + a, begin + b) for a, b in _secret_runs(text[begin:end])]


def _url_spans(match: re.Match[str]) -> list[tuple[int, int]]:
    spans = _value_spans(match.string, match.span("url_pass"))
    if _TOKEN_USER.fullmatch(match.group("url_user")):
        spans.insert(0, match.span("url_user"))
    return spans


def _mask_spans(match: re.Match[str], spans: list[tuple[int, int]]) -> str:
    text, start = match.string, match.start()
    out, at = [], start
    for begin, end in sorted(spans):
        out.append(text[at:begin])
        out.append(MASK)
        at = end
    out.append(text[at : match.end()])
    return "".join(out)


def _replace_custom(match: re.Match[str]) -> str:
    if "secret" in match.re.groupindex and match.group("secret") is not None:
        begin, end = match.span("secret")
        if end > begin:
            return _mask_spans(match, [(begin, end)])
        return match.group()
    return MASK if match.end() > match.start() else ""


@functools.lru_cache(maxsize=16)
def _custom(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """The policy's patterns: those without groups as one expression, others alone.

    A pattern with groups keeps its own expression, where its group numbers
    and its ``secret`` group mean what they say.
    """
    compiled = [re.compile(pattern) for pattern in patterns]
    plain = [pattern for pattern in compiled if not pattern.groups]
    grouped = tuple(pattern for pattern in compiled if pattern.groups)
    if len(plain) < 2:
        return (*plain, *grouped)
    try:
        joined = re.compile("|".join(f"(?:{p.pattern})" for p in plain))
    except re.error:
        # Inline flags such as (?i) apply to a whole expression only.
        return (*plain, *grouped)
    return (joined, *grouped)


def _secret_values(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The values of `environ`'s secret variables worth masking, longest first."""
    values = {
        value
        for name, value in environ.items()
        if len(value) >= MIN_SECRET_VALUE
        and _is_secret_variable(name)
        and not _is_path(value)
    }
    return tuple(sorted(values, key=lambda value: (-len(value), value)))


@functools.lru_cache(maxsize=1024)
def _is_secret_variable(name: str) -> bool:
    upper = name.upper()
    if upper.startswith(_OWN_PREFIX) or upper.endswith(_PLACE_SUFFIXES):
        return False
    return _SECRET_NAME.fullmatch(name) is not None


_HEX = re.compile(r"[0-9A-Fa-f-]+")


@functools.lru_cache(maxsize=32)
def _values_regex(values: tuple[str, ...]) -> re.Pattern[str]:
    """One alternation of the values; a hex one is not masked inside a longer word.

    A run of hex digits is also part of digests, commit ids and UUIDs; any
    other secret value is masked wherever it is, glued to a word or not.
    """
    parts = []
    for value in values:
        alone = _HEX.fullmatch(value) is not None
        before = r"(?<![A-Za-z0-9])" if alone and value[0].isalnum() else ""
        before += _NOT_AFTER_MASK
        after = r"(?![A-Za-z0-9])" if alone and value[-1].isalnum() else ""
        parts.append(before + re.escape(value) + after)
    return re.compile("|".join(parts))
