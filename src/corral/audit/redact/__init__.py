"""Redaction: secrets a command line or the environment carries, masked in events."""

from __future__ import annotations

from corral.audit.redact._redactor import MASK, Redactor

__all__ = ["MASK", "Redactor"]
