"""Mask secrets in event records before they are written: the log outlives the command.

One combined regular expression (each string gets the part it could match)
finds the secrets a command line or an error message usually carries:
passwords in URLs, secret options, headers and assignments, well-known token
shapes, private keys.  The values of the environment's secret variables and
the policy's own patterns are masked too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
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

# A value that is a reference to a variable or a substitution ($TOKEN,
# ${TOKEN}, $(cat f)) holds no secret itself, and says where one came from.
_REFERENCE = r"\$[{(A-Za-z_]"
_NOT_A_REFERENCE = f"(?!{_REFERENCE})"


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
    return "(?:" + "|".join(map(_fnmatch_regex, DEFAULT_SECRET_PATTERNS)) + ")"


_SECRET_NAME = re.compile(_secret_names(), re.IGNORECASE | re.ASCII)

# Query parameters and form fields that carry credentials without a name the
# environment patterns would catch (S3 and GCS presigned URLs, HTTP auth).
_PARAMETER_NAMES = (
    r"(?:[\w.-]*[_.-])?(?:sig|signature|auth|authorization|pass|passphrase)"
)

# Options whose value is a secret: --password X, --api-key=X, -storepass X.
_OPTION_NAMES = (
    r"(?!no-)(?:(?:[a-z0-9]+[_-])*(?:password|passwd|pass|passphrase|token|secret"
    r"|api[_-]?key|apikey|auth|access[_-]key|secret[_-]key|private[_-]key)"
    r"|(?:store|key|srcstore|deststore|src|dest)pass)"
)

# Header, YAML and JSON keys whose value is a secret (X-Api-Key: X, "token": X).
_KEY_NAMES = (
    r"(?:[a-z0-9]+[_-])*(?:api[_-]?key|apikey|token|secret|password|passwd"
    r"|passphrase|access[_-]key|private[_-]key)"
)

# Well-known credential shapes, each with the prefix its issuer gives it.
_TOKENS = (
    r"gh[pousr]_[A-Za-z0-9]{20,}",  # GitHub
    r"github_pat_\w{20,}",
    r"glpat-[\w-]{20,}",  # GitLab
    r"xox[abprs]-[\w-]{10,}",  # Slack
    r"(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])",  # AWS access key id
    r"sk-(?:ant-|proj-)?[\w-]{20,}",  # OpenAI, Anthropic
    r"[rs]k_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe
    r"npm_[A-Za-z0-9]{30,}",
    r"pypi-[\w-]{32,}",
    r"AIza[\w-]{35}",  # Google API key
    r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*",  # JSON web token
)

# A value in quotes, masked to the closing quote (or the end, when there is
# none), or a bare value of the characters given.
_QUOTED_OR_BARE = r"(?:\"(?P<{0}_dq>[^\"]*)\"?|'(?P<{0}_sq>[^']*)'?|(?P<{0}_bare>{1}))"

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
        + _NOT_A_REFERENCE
        + r"(?:(?i:bearer|basic|token|bot|negotiate|ntlm)[ \t]+"
        + rf"(?:{_REFERENCE}[^\s'\"]*|(?P<auth_cred>[^\s'\"]+))"
        + r"|(?P<auth_rest>[^\r\n'\"]+))",
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
        + _NOT_A_REFERENCE
        + _QUOTED_OR_BARE.format("key", r"[^\s'\",;}]+"),
    ),
    (
        "option",
        r"(?<![\w-])--?(?i:"
        + _OPTION_NAMES
        + r")(?:=|[ \t]+)(?!-)"
        + _NOT_A_REFERENCE
        + _QUOTED_OR_BARE.format("option", r"[^\s'\"]+"),
    ),
    (
        "user",
        r"(?<![\w-])(?:-u|--user|--proxy-user)(?:=|[ \t]*)"
        r"[^\s:'\"]+:" + _NOT_A_REFERENCE + r"(?P<user_pass>[^\s'\"]+)",
    ),
    ("pass", r"(?<![\w-])pass:(?P<pass_value>[^\s'\"]+)"),
    ("bearer", r"(?<![\w-])Bearer[ \t]+(?P<bearer_value>[\w.~+/=-]{8,})"),
    (
        "assign",
        rf"(?:(?<![\w.-])|(?<=-D))(?=[\w.-]{{1,{_MAX_NAME}}}=)"
        rf"(?i:{_secret_names()}|{_PARAMETER_NAMES})="
        + _NOT_A_REFERENCE
        + _QUOTED_OR_BARE.format("assign", r"[^\s&;'\"`|<>(),}]+"),
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
_OPTION_WORDS = ("pass", "token", "secret", "key", "auth")
_KEY_WORDS = ("pass", "token", "secret", "key")

# Words one of which every secret name an assignment can have contains.
_ASSIGN_WORDS = tuple(
    {*map(_literal_runs, DEFAULT_SECRET_PATTERNS), "sig", "auth", "pass"}
)


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
        if colon and "-u" in text:
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
_USER_OPTIONS = frozenset({"-u", "--user", "--proxy-user"})

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
        masked whole.
        """
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, dict):
            return {key: self.redact(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            items = [self.redact(item) for item in _mask_option_values(value)]
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
        if _SECRET_OPTION.fullmatch(option) and _is_value(word):
            shown = MASK
        elif option in _USER_OPTIONS and ":" in word:
            shown = _mask_user_password(word)
        else:
            continue
        masked = masked or list(items)
        masked[index] = shown
    return items if masked is None else masked


def _is_value(word: str) -> bool:
    """Whether `word` can be an option's value: not empty, an option or a reference."""
    return bool(word) and word[0] != "-" and _REFERENCE_WORD.match(word) is None


_REFERENCE_WORD = re.compile(_REFERENCE)


def _mask_user_password(word: str) -> str:
    user, _, password = word.partition(":")
    if not password or password.isdigit() or not _is_value(password):
        return word  # uid:gid, or a reference
    return f"{user}:{MASK}"


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
    return _mask_spans(match, [span for span in spans if span[1] > span[0]])


def _url_spans(match: re.Match[str]) -> list[tuple[int, int]]:
    spans = [match.span("url_pass")]
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
        if len(value) >= MIN_SECRET_VALUE and _is_secret_variable(name)
    }
    return tuple(sorted(values, key=lambda value: (-len(value), value)))


@functools.lru_cache(maxsize=1024)
def _is_secret_variable(name: str) -> bool:
    upper = name.upper()
    if upper.startswith(_OWN_PREFIX) or upper.endswith(_PLACE_SUFFIXES):
        return False
    return _SECRET_NAME.fullmatch(name) is not None


@functools.lru_cache(maxsize=32)
def _values_regex(values: tuple[str, ...]) -> re.Pattern[str]:
    """One alternation of the values, each not masked inside a longer word."""
    parts = []
    for value in values:
        before = r"(?<![A-Za-z0-9])" if value[0].isalnum() else ""
        before += _NOT_AFTER_MASK
        after = r"(?![A-Za-z0-9])" if value[-1].isalnum() else ""
        parts.append(before + re.escape(value) + after)
    return re.compile("|".join(parts))
