"""The figures an export run sends beside its records: OTLP metrics, delta temporality.

Each run counts the records the collector accepted in it and sends the counts
once, at its end; a collector sums the deltas into totals per machine.  The
tally is total: a value a metric cannot take (a duration that is no finite,
non-negative number) is left out of that metric, and labels travel escaped as
the records do (`corral.audit.export._otlp.escaped`).

| metric | kind, unit | attributes | counts |
|---|---|---|---|
| ``corral.commands`` | counter, ``{command}`` | ``decision``, ``outcome`` | commands that ended: command.finished (outcome ``ok``, ``failed``, ``timed_out``), command.refused (``refused``), command.error (``error``) |
| ``corral.command.duration`` | histogram, ``ms`` | ``outcome`` | command.finished's ``duration_ms`` |
| ``corral.network.connections`` | counter, ``{connection}`` | ``decision`` | network.connection records (``allow``, ``refuse``) |
| ``corral.approvals`` | counter, ``{approval}`` | ``scope``, ``answer`` | approval.granted (``granted``) and approval.declined (``declined``) |
| ``corral.events`` | counter, ``{event}`` | ``event`` | every record, by event name |
"""  # noqa: E501 (a table row is one line)

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping

from opentelemetry.sdk.metrics import Counter as CounterInstrument
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    InMemoryMetricReader,
    MetricsData,
)

import corral
from corral.audit.export._otlp import escaped, resource

__all__ = ["Tally"]

# Command durations span milliseconds (a failed lookup) to an hour (a build).
_DURATION_BOUNDS_MS = (
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000,
    300_000, 900_000, 3_600_000,
)  # fmt: skip

_Attributes = tuple[tuple[str, str], ...]


class Tally:
    """The figures of the records one run shipped, ready to send as OTLP metrics."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, _Attributes]] = Counter()
        self.durations: list[tuple[_Attributes, float]] = []

    def __bool__(self) -> bool:
        return bool(self.counts)

    def add(self, record: Mapping[str, object]) -> None:
        """Count one record the collector accepted."""
        event = _label(record.get("event"), "")
        self._count("corral.events", event=event)
        outcome = _outcome(record)
        if outcome is not None:
            decision = _label(record.get("decision"), "unknown")
            self._count("corral.commands", decision=decision, outcome=outcome)
        duration = _number(record.get("duration_ms"))
        if event == "command.finished" and duration is not None:
            self.durations.append(((("outcome", str(outcome)),), duration))
        if event == "network.connection":
            decision = _label(record.get("decision"), "unknown")
            self._count("corral.network.connections", decision=decision)
        if event in ("approval.granted", "approval.declined"):
            answer = event.removeprefix("approval.")
            scope = _label(record.get("scope"), "unknown")
            self._count("corral.approvals", scope=scope, answer=answer)

    def metrics_data(self) -> MetricsData:
        """Return the tally as the SDK's metrics data, ready for an OTLP exporter."""
        reader = InMemoryMetricReader(
            preferred_temporality={
                CounterInstrument: AggregationTemporality.DELTA,
                Histogram: AggregationTemporality.DELTA,
            }
        )
        provider = MeterProvider(
            metric_readers=[reader], resource=resource(), shutdown_on_exit=False
        )
        try:
            meter = provider.get_meter("corral.audit", corral.__version__)
            counters = {
                name: meter.create_counter(name, unit=unit, description=description)
                for name, (unit, description) in _COUNTERS.items()
            }
            for (name, attributes), count in sorted(self.counts.items()):
                counters[name].add(count, dict(attributes))
            duration = meter.create_histogram(
                "corral.command.duration",
                unit="ms",
                description="how long commands ran, to the end of their process tree",
                explicit_bucket_boundaries_advisory=_DURATION_BOUNDS_MS,
            )
            for attributes, milliseconds in self.durations:
                duration.record(milliseconds, dict(attributes))
            data = reader.get_metrics_data()
        finally:
            provider.shutdown()
        if data is None:
            raise ValueError("the metrics reader collected nothing")
        return data

    def _count(self, name: str, **attributes: str) -> None:
        self.counts[name, tuple(sorted(attributes.items()))] += 1


_COUNTERS = {
    "corral.commands": ("{command}", "commands that ended, by decision and outcome"),
    "corral.network.connections": (
        "{connection}",
        "connection attempts through the proxy, by decision",
    ),
    "corral.approvals": ("{approval}", "answers people gave, by scope and answer"),
    "corral.events": ("{event}", "event records, by event name"),
}


def _outcome(record: Mapping[str, object]) -> str | None:
    """Return how a command ended, for the records that end one; None otherwise."""
    event = record.get("event")
    if event == "command.refused":
        return "refused"
    if event == "command.error":
        return "error"
    if event != "command.finished":
        return None
    if record.get("timed_out") is True:
        return "timed_out"
    return "ok" if record.get("exit_status") == 0 else "failed"


def _label(value: object, default: str) -> str:
    """Return `value` as a metric attribute carries it; `default` when empty."""
    if not value:
        return default
    try:
        return escaped(value if isinstance(value, str) else str(value))
    except ValueError:  # an int too long to write out
        return default


def _number(value: object) -> float | None:
    """Return `value` as a duration a histogram takes; None for anything else."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        return None
    return number if math.isfinite(number) and number >= 0 else None
