"""Which part of one value is the secret, and the mask that replaces it.

A value is masked whole, or only its literal text beside the references it
holds ($TOKEN, ${X:-default}, $(cat f)); a value that reads as a path and an
openssl pass-phrase source (env:NAME, file:PATH) are not secrets.
"""

from __future__ import annotations

import re

MASK = "[redacted]"
"""What a secret is replaced with."""

# No rule starts right after a mask: what preceded the secret decided whether
# one could start there, and masking again must change nothing.
_NOT_AFTER_MASK = r"(?<!" + re.escape(MASK) + ")"

# A value may refer to a variable or a substitution ($TOKEN, ${TOKEN},
# $(cat f)): the reference holds no secret and says where one came from, so
# only the literal text around it is masked.  Bare value patterns take a
# whole $(...) or ${...} (spaces and all) as one piece of the value.
_BARE_PIECE = r"\$\([^()\n]*\)|\$\{[^{}\n]*\}|`[^`\n]*`"

# A value shaped like an absolute, home or relative path may name a file.  No
# '=', '+' or space: those are base64's and a phrase's.
_PATH = re.compile(r"(?:/|~[\w.-]*/|\.\.?/)[\w.,:@%~/-]*", re.ASCII)

# But base64, the alphabet of most keys, has '/' too: one AWS secret access
# key in about 118 starts with '/' and has no '+'.  So an absolute path reads
# as a file's name only with a character base64 never holds (a name's dot,
# dash or underscore), or when every component is a word as people write them
# (usr, Users, X11, 1000), where base64 mixes cases all along, and it is not
# one long word after the root, a directory nobody makes.  Whether the file
# exists is not asked: one command line records the same everywhere, and a
# stat of any path an agent writes could hang on a network mount.
_NOT_BASE64 = re.compile(r"[.,:@%~_-]")
_WORD_COMPONENTS = re.compile(r"(?:/[A-Z]?[a-z0-9]*)+", re.ASCII)
_LONG_ROOT_WORD = 20  # characters


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


def _secret_runs(value: str, *, paths: bool = True) -> list[tuple[int, int]]:
    """The spans of `value` to mask: all of it, or its literal text beside references.

    A value that reads as a path (see `_is_path`), and literal text that goes
    on from a reference as one (``$HOME/.token``), are not secrets unless
    `paths` is false (a password is never a file's name); nor is literal text
    with no letter or digit.
    """
    source = _PASS_SOURCE.match(value)
    if source is not None:
        return [(source.end(), len(value))] if source.group("pass") else []
    if "$" not in value and "`" not in value:
        return [] if paths and _is_path(value) else [(0, len(value))]
    runs = _outside_references(value)
    if runs == [(0, len(value))]:
        return [] if paths and _is_path(value) else runs
    return [
        (begin, end)
        for begin, end in runs
        if not (paths and value[begin] == "/" and _is_path(value[begin:end]))
        and any(c.isalnum() for c in value[begin:end])
    ]


def _is_path(value: str) -> bool:
    """Whether `value` reads as a path: /etc/x, ~/.ssh/id, ./pass.txt, /usr/bin.

    Not ``/wJalrXUtnFEMI/K7MDENG...``, a base64 key that starts with '/'.
    """
    if _PATH.fullmatch(value) is None:
        return False
    if value[0] != "/" or _NOT_BASE64.search(value) is not None:
        return True
    if _WORD_COMPONENTS.fullmatch(value) is None:
        return False
    components = [component for component in value.split("/") if component]
    return len(components) != 1 or len(components[0]) < _LONG_ROOT_WORD


def _mask_value(value: str, *, paths: bool = True) -> str:
    """`value` with its secret runs masked (see `_secret_runs`)."""
    out, at = [], 0
    for begin, end in _secret_runs(value, paths=paths):
        out += [value[at:begin], MASK]
        at = end
    return "".join(out) + value[at:] if out else value
