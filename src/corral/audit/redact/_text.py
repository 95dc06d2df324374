"""The built-in text rules: one combined expression for the secrets text carries.

Passwords in URLs, secret options, headers, keys and assignments, well-known
token shapes and private keys; each string is matched only against the rules
it could match (`_rules_in`).
"""

from __future__ import annotations

import functools
import re

from corral.audit.redact._env import (
    _is_password_name,
    _is_plain_value,
    _is_secret_name,
)
from corral.audit.redact._value import (
    _BARE_PIECE,
    _NOT_AFTER_MASK,
    MASK,
    _secret_runs,
)

# A name is matched against the secret patterns only when followed by '='
# within this many characters, which bounds the work at each word.
_MAX_NAME = 128

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
        r"(?<![\w$-])(?<!\$\{)(?i:"  # not the shell's $PWD: or ${TOKEN:-x}
        + _KEY_NAMES
        + r")[\"']?[ \t]*:(?!:)[ \t]*"  # not a path: token::tests
        + _QUOTED_OR_BARE.format("key", r"[^\s'\",;}]"),
    ),
    (
        "option",
        r"(?<![\w-])--?(?P<optname>(?i:"
        + _OPTION_NAMES
        + r"))(?:=|[ \t]+)(?!-)"
        + _QUOTED_OR_BARE.format("option", r"[^\s'\"]"),
    ),
    (
        "user",
        r"(?<![\w-])--(?:src-|dest-)?creds"  # -u is curl's: see _programs
        r"(?:=|[ \t]+)[^\s:'\"]*:"
        rf"(?P<user_pass>(?:{_BARE_PIECE}|[^\s'\"])+)",
    ),
    ("pass", r"(?<![\w-])pass:(?P<pass_value>[^\s'\"]+)"),
    ("bearer", r"(?<![\w-])Bearer[ \t]+(?P<bearer_value>[\w.~+/=-]{8,})"),
    (
        "assign",
        # Any name, told secret or not by `_is_secret_name`; not an option's
        # dashes (--max-tokens=1 is the option rule's).
        rf"(?:(?<![\w.-])|(?<=-D))(?!-)(?=[\w.-]{{1,{_MAX_NAME}}}=)"
        rf"(?P<assignname>[\w.-]{{1,{_MAX_NAME}}})="
        + _QUOTED_OR_BARE.format("assign", r"[^\s&;'\"`|<>(),}]"),
    ),
)

# --secret names a secret and holds none when its value is docker's or
# buildah's id=NAME,src=PATH, or a secret's name (gcloud's db-password).
# As text: `re` compiles it on first use, and keeps it.
_REFERENCE_SPEC = (
    r"(?a)(?:id|src|source|env|type|target)=[^\s,]*(?:,|\Z)"
    r"|[a-z0-9]+(?:-[a-z0-9]+)*-(?:password|token|key|secret|credentials?)\Z"
)


def _is_reference_spec(name: str, value: str) -> bool:
    """Whether `value`, given to the option `name`, names a secret instead."""
    return name.lower() == "secret" and re.match(_REFERENCE_SPEC, value) is not None


_RULE_BITS = {name: 1 << index for index, (name, _) in enumerate(_RULES)}


def _expression(rules: int) -> str:
    """The rules named by the bits `rules`, in their order, as one alternation."""
    return "|".join(
        f"(?P<{name}>{_NOT_AFTER_MASK}{body})"
        for name, body in _RULES
        if rules & _RULE_BITS[name]
    )


@functools.cache
def _secret_groups(rule: str) -> tuple[str, ...]:
    """The groups of `rule` holding the secret; those absent from a match are skipped.

    Read from the rule's own expression, compiled on first use: most commands'
    records hold no match that needs them, so imports do not pay for it.
    """
    groups = _combined(_RULE_BITS[rule]).groupindex
    return tuple(group for group in groups if group.startswith(f"{rule}_"))


# Words one of which every name in `_OPTION_NAMES`, `_KEY_NAMES` contains.
_OPTION_WORDS = ("pass", "token", "secret", "key", "auth", "bearer")
_KEY_WORDS = ("pass", "token", "secret", "key", "pwd")

# Words one of which every secret name an assignment can have contains.
_ASSIGN_WORDS = (
    *("key", "token", "secret", "credential", "auth", "session", "cookie"),
    *("private", "pass", "pwd", "sig"),
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
        if colon and "creds" in low:
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


@functools.cache
def _token_user() -> re.Pattern[str]:
    """A URL's user name (https://TOKEN@host) taken for a token, compiled on first use.

    It has a token's shape, or is long and has a digit; git@, deploy@, alice@
    stay.  Only a URL with a user name needs it, so imports do not pay for it.
    """
    return re.compile(r"(?=\D*\d)[\w-]{16,}|" + "|".join(_TOKENS), re.ASCII)


def _substitute(pattern: re.Pattern[str], text: str) -> str:
    """`text` with each match of `pattern` (built from `_RULES`) masked.

    A match `_replace` finds holds no secret after all (KEY_SIZE=4096) is
    passed over one character at a time, so the rules still look inside it.
    """
    out, at, position = [], 0, 0
    while (match := pattern.search(text, position)) is not None:
        shown = _replace(match)
        if shown is None:
            position = match.start() + 1
            continue
        out += [text[at : match.start()], shown]
        at = match.end()
        position = max(at, match.start() + 1)
    return "".join(out) + text[at:] if out else text


def _replace(match: re.Match[str]) -> str | None:
    """The masked text of `match`, or None when it holds no secret."""
    rule = match.lastgroup
    assert rule is not None  # noqa: S101 - every alternative is a named group
    if rule == "token":
        return MASK
    if _is_plain(match, rule):
        return None
    spans = [match.span(group) for group in _secret_groups(rule)]
    if rule == "url":
        spans = _url_spans(match)
    elif rule != "pem":
        paths = not _is_password_name(_name(match, rule))
        spans = [
            run for span in spans for run in _value_spans(match.string, span, paths)
        ]
    return _mask_spans(match, [span for span in spans if span[1] > span[0]])


def _is_plain(match: re.Match[str], rule: str) -> bool:
    """Whether an assignment's or option's name or value says it holds no secret."""
    if rule not in ("assign", "option"):
        return False
    name = _name(match, rule)
    value = next(
        (v for g in _secret_groups(rule) if (v := match.group(g)) is not None), ""
    )
    if rule == "assign" and not _is_secret_name(name):
        return True
    return _is_plain_value(name, value) or _is_reference_spec(name, value)


def _name(match: re.Match[str], rule: str) -> str:
    """The name a match of `rule` gives its value, or the rule's own name."""
    group = {"assign": "assignname", "option": "optname"}.get(rule)
    return match.group(group) if group else ("password" if rule == "url" else rule)


def _value_spans(
    text: str, span: tuple[int, int], paths: bool = True
) -> list[tuple[int, int]]:
    """The secret runs of the value at `span` in `text`, as spans of `text`."""
    begin, end = span
    if begin < 0 or end <= begin:
        return []
    runs = _secret_runs(text[begin:end], paths=paths)
    return [(begin + a, begin + b) for a, b in runs]


def _url_spans(match: re.Match[str]) -> list[tuple[int, int]]:
    spans = _value_spans(match.string, match.span("url_pass"), paths=False)
    if _token_user().fullmatch(match.group("url_user")):
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
