"""The shell parser: bash text into every simple command it can run.

`parse` reads the text with tree-sitter's bash grammar and flattens what it
finds (chains, pipes, groups, substitutions, here-documents) into a `Script`
of `Invocation`s whose words are known, globs, or known only at run time.
"""

from __future__ import annotations

from corral.approvals.shell._parse import MAX_DEPTH, MAX_TEXT_BYTES, parse

__all__ = ["MAX_DEPTH", "MAX_TEXT_BYTES", "parse"]
