"""Destinations a person allowed for a session, kept across the session's runs.

The proxy process may exit between two runs of one session, so an answer
"for the session" is written to the proxy's directory, one file per session,
and read again when a run of that session registers.  Like an approval for
the session, it lapses after `SESSION_LIFETIME_SECONDS`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from pathlib import Path

from corral._files import open_regular
from corral.approvals._store import SESSION_LIFETIME_SECONDS

# A session's grants are a few hundred bytes; anything far larger is not ours.
_MAX_BYTES = 1 << 20

__all__ = ["SessionGrants"]


class SessionGrants:
    """The session grants kept in `directory` (the proxy's, private)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "sessions"
        self._lock = threading.Lock()

    def load(self, session: str) -> set[tuple[str, int]]:
        """Return the (host, port) pairs still granted to `session`.

        Raises `StateFileError` when something other than a regular file
        stands at the session's file.
        """
        with self._lock:
            return {(host, port) for host, port, _ in self._read(session)}

    def add(self, session: str, host: str, port: int) -> None:
        """Record that a person allowed `host`:`port` for `session`."""
        with self._lock:
            entries = [e for e in self._read(session) if (e[0], e[1]) != (host, port)]
            entries.append((host, port, time.time()))
            self.directory.mkdir(mode=0o700, exist_ok=True)
            path = self._path(session)
            temporary = path.with_suffix(".tmp")
            data = {"session": session, "grants": [list(e) for e in entries]}
            temporary.unlink(missing_ok=True)
            # O_EXCL: the temporary file is new and ours, never something planted.
            fd = open_regular(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            with os.fdopen(fd, "w") as file:
                file.write(json.dumps(data))
            temporary.replace(path)

    def _path(self, session: str) -> Path:
        digest = hashlib.sha256(session.encode()).hexdigest()[:32]
        return self.directory / f"{digest}.json"

    def _read(self, session: str) -> list[tuple[str, int, float]]:
        try:
            fd = open_regular(self._path(session), os.O_RDONLY)
        except OSError:
            return []
        with contextlib.suppress(
            ValueError, OSError, RecursionError, TypeError, AttributeError
        ):
            with os.fdopen(fd, "rb") as file:
                data = json.loads(file.read(_MAX_BYTES))
            if data.get("session") != session:
                return []
            now = time.time()
            return [
                (str(host), int(port), float(granted))
                for host, port, granted in data.get("grants", [])
                if now - float(granted) < SESSION_LIFETIME_SECONDS
            ]
        return []
