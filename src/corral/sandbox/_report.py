"""The enforcer's report: one JSON line on the status fd, or text on stderr.

JSON is written by hand: the json module imports re, which would cost every
command ~4 ms of start-up; the launcher reads the line with json.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Reporter", "json_string"]


class Reporter:
    """Writes the enforcer's report: JSON to the status fd, or text to stderr."""

    def __init__(self, status_fd: int | None) -> None:
        self.status_fd = status_fd

    def ok(self, landlock_abi: int | None, seccomp: bool, identity: bool) -> None:
        """Report that every layer asked for is in force (nothing without a fd)."""
        if self.status_fd is not None:
            report = {
                "ok": True,
                "landlock_abi": landlock_abi,
                "seccomp": seccomp,
                "identity": identity,
            }
            _write_line(self.status_fd, _json_object(report))

    def failed(self, layer: str, message: str, err: int | None = None) -> None:
        """Report a failure; a report that cannot be written is dropped."""
        if self.status_fd is None:
            line, fd = f"corral: {message}", 2
        else:
            report: dict[str, object] = {"ok": False, "layer": layer}
            if err is not None:
                report["errno"] = err
            report["error"] = message
            line, fd = _json_object(report), self.status_fd
        # Not contextlib.suppress: importing contextlib costs every command ~2 ms.
        try:  # noqa: SIM105
            _write_line(fd, line)
        except OSError:
            pass  # the exit status still says it failed


def _write_line(fd: int, line: str) -> None:
    # One write(2) of one line: atomic on a pipe, never interleaved.
    os.write(fd, (line + "\n").encode(errors="replace"))


def _json_object(items: Mapping[str, object]) -> str:
    """Return `items` (str, int, bool or None values) as one compact JSON object."""
    return (
        "{"
        + ",".join(f"{json_string(key)}:{_json_value(v)}" for key, v in items.items())
        + "}"
    )


def _json_value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        return json_string(value)
    raise TypeError(f"no JSON form for {type(value).__name__} in a status report")


_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_PRINTABLE_ASCII = range(0x20, 0x7F)
_BMP_END = 0x10000


def json_string(text: str) -> str:
    """Return `text` as a JSON string literal of ASCII characters alone.

    What ``json.dumps`` writes: anything outside printable ASCII is a ``\\u``
    escape, characters beyond the BMP a surrogate pair, and lone surrogates
    (undecodable bytes of a file name) stay lone surrogates.
    """
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _JSON_ESCAPES:
            out.append(_JSON_ESCAPES[char])
        elif code in _PRINTABLE_ASCII:
            out.append(char)
        elif code < _BMP_END:
            out.append(f"\\u{code:04x}")
        else:
            high, low = divmod(code - _BMP_END, 0x400)
            out.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
    out.append('"')
    return "".join(out)
