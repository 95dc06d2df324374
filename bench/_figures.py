"""Figures: one measured quantity each, with its unit, median, spread and peers.

Every section of the benchmark reduces its measurements to `Figure`s, or to a
`Missing` that says why a figure could not be measured, so that the table and
``bench/results.json`` say the same thing in the same shape.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of a non-empty sample."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def spread(samples: Sequence[float]) -> dict[str, float]:
    """How far the samples range: nearest-rank p10 and p90, least and most."""
    return {
        "p10": round(percentile(samples, 0.1), 3),
        "p90": round(percentile(samples, 0.9), 3),
        "min": round(min(samples), 3),
        "max": round(max(samples), 3),
    }


@dataclass(frozen=True)
class Figure:
    """One quantity, measured `len(samples)` times in this run.

    `peers` holds the medians of the same quantity for the other ways of doing
    the same thing, measured in the same run (bubblewrap alone, the other
    sandboxes, a baseline); `ratios` this figure's median over each of them.
    """

    id: str
    section: str
    label: str
    unit: str
    samples: tuple[float, ...]
    better: str = "lower"
    peers: dict[str, float | None] = field(default_factory=dict)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def ratios(self) -> dict[str, float]:
        """This median over each peer's, for the peers that were measured."""
        return {
            name: round(self.median / value, 3)
            for name, value in self.peers.items()
            if value
        }

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "section": self.section,
            "label": self.label,
            "unit": self.unit,
            "better": self.better,
            "median": round(self.median, 3),
            "spread": spread(self.samples),
            "runs": len(self.samples),
            "samples": [round(s, 3) for s in self.samples],
            "peers": {
                k: None if v is None else round(v, 3) for k, v in self.peers.items()
            },
            "ratios": self.ratios(),
            **({"note": self.note} if self.note else {}),
        }


@dataclass(frozen=True)
class Missing:
    """A figure this run could not measure, and why."""

    id: str
    section: str
    label: str
    reason: str

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "section": self.section,
            "label": self.label,
            "missing": self.reason,
        }


Result = Figure | Missing


def table(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """Render rows as aligned plain text; the first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: Sequence[str]) -> str:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return (
        "\n".join(
            [line(rows[0]), line(["-" * w for w in widths])]
            + [line(row) for row in rows[1:]]
        )
        + "\n"
    )


def markdown(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """Render rows as a Markdown table; the first row is the header."""
    rule = ["---:" if i in right else "---" for i in range(len(rows[0]))]
    lines = [rows[0], rule, *rows[1:]]
    return "".join("| " + " | ".join(row) + " |\n" for row in lines)


def number(value: float) -> str:
    """A figure to about three significant digits, without exponent."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def write_json(path: Path, report: dict[str, object]) -> None:
    """Write `report` to `path` whole or not at all."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    temporary.replace(path)
