"""Export of the event log to an OpenTelemetry collector, beside the local log.

`start_export` (after a command records) starts a background exporter when
records wait; `export_pending` sends them in the foreground.  Nothing here
imports the OpenTelemetry SDK: the exporting process does, in `_ship`.
"""

from __future__ import annotations

from corral.audit.export._start import ExportReport, export_pending, start_export

__all__ = ["ExportReport", "export_pending", "start_export"]
