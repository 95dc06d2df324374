"""SHA-256 for corral's digests, without loading OpenSSL to digest a few bytes.

`hashlib` loads OpenSSL's libcrypto when imported, which cost every
``corral run`` some 2 ms, while what a run digests (its records, the policy,
the fingerprint) is a few kilobytes at a time.  CPython's own built-in SHA-256
takes those with no library to load; OpenSSL's is several times faster on
long inputs (a script of megabytes), which go to `hashlib`.  Both give the
same digest.
"""

from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["sha256_hex"]

BUILT_IN_LIMIT = 64 << 10
"""Bytes; up to this many the built-in digest takes less time than loading
OpenSSL would (a fraction of a millisecond), beyond it OpenSSL's is used."""


def _built_in_sha256() -> Callable[[bytes], Any] | None:
    """CPython's own SHA-256 (``_sha2`` from 3.12, ``_sha256`` before), if built."""
    name = "_sha2" if sys.version_info >= (3, 12) else "_sha256"
    try:
        return importlib.import_module(name).sha256  # type: ignore[no-any-return]
    except ImportError:
        return None


_BUILT_IN = _built_in_sha256()


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 digest of `data`, in hex."""
    if _BUILT_IN is not None and len(data) <= BUILT_IN_LIMIT:
        digest: str = _BUILT_IN(data).hexdigest()
        return digest
    import hashlib  # noqa: PLC0415 (see the module's docstring)

    return hashlib.sha256(data).hexdigest()
