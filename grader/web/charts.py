"""Charts as inline SVG drawn on the server: no script, no library, readable without colour.

Each chart carries a title and a description for screen readers; the pages show the
same numbers in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 480  # narrow: on a phone the chart shrinks less, so its text stays readable
BARS_WIDTH = 400  # the bars' labels sit above them, so they need less width still
BAR_COLOUR = "#2b6cb0"  # 5.9:1 against white
AXIS_COLOUR = "#4a5568"
FONT = 'font-family="system-ui, sans-serif" font-size="14"'


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    note: str = ""  # written beside the bar instead of the bare count, e.g. "2 of 3 (67%)"

    @property
    def shown(self) -> str:
        return self.note or str(self.count)


def histogram(
    bars: Sequence[Bar], title: str, x_label: str, y_label: str = "students", chart_id: str = "histogram"
) -> Markup:
    """Vertical bars, one per bin, with the count written above each."""
    height, left, bottom, top = 280, 44, 74, 24
    plot_w, plot_h = WIDTH - left - 12, height - bottom - top
    most = max((bar.count for bar in bars), default=0) or 1
    slot = plot_w / max(len(bars), 1)
    parts = _open(chart_id, WIDTH, height, title, _describe(bars, x_label, y_label))
    parts.append(_axes(left, top, plot_w, plot_h))
    for step in _ticks(most):
        y = top + plot_h - plot_h * step / most
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{AXIS_COLOUR}" {FONT}>'
            f"{step}</text>"
        )
    for i, bar in enumerate(bars):
        bar_h = plot_h * bar.count / most
        x = left + i * slot + slot * 0.12
        y = top + plot_h - bar_h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.76:.1f}" height="{bar_h:.1f}" '
            f'fill="{BAR_COLOUR}"><title>{escape(bar.label)}: {bar.count}</title></rect>'
        )
        if bar.count:
            parts.append(
                f'<text x="{x + slot * 0.38:.1f}" y="{y - 4:.1f}" text-anchor="middle" {FONT}>'
                f"{bar.count}</text>"
            )
        label_x, label_y = left + (i + 0.5) * slot, top + plot_h + 14
        parts.append(
            f'<text x="{label_x:.1f}" y="{label_y}" text-anchor="end" '
            f'transform="rotate(-35 {label_x:.1f} {label_y})" fill="{AXIS_COLOUR}" {FONT}>'
            f"{escape(bar.label)}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" {FONT}>'
        f"{escape(x_label)}</text></svg>"
    )
    return Markup("".join(parts))


def frequency_bars(
    bars: Sequence[Bar], title: str, unit: str = "submissions", chart_id: str = "frequency"
) -> Markup:
    """Horizontal bars, most frequent first, each with its name above it and its count beside it.

    The name sits above the bar, not to its left, so long plain-word labels keep the full
    width and stay readable when a phone shrinks the chart.
    """
    ordered = sorted(bars, key=lambda bar: (-bar.count, bar.label))
    row, left, top = 46, 8, 8
    height = top * 2 + row * max(len(ordered), 1)
    plot_w = BARS_WIDTH - left - 120
    most = max((bar.count for bar in ordered), default=0) or 1
    parts = _open(chart_id, BARS_WIDTH, height, title, _describe(ordered, "code", unit), "chart bars")
    if not ordered:
        parts.append(f'<text x="8" y="{top + 18}" {FONT}>No data yet.</text>')
    for i, bar in enumerate(ordered):
        y = top + i * row
        bar_w = plot_w * bar.count / most
        parts.append(
            f'<text x="{left}" y="{y + 14}" {FONT}>{escape(bar.label)}</text>'
            f'<rect x="{left}" y="{y + 20}" width="{bar_w:.1f}" height="{row - 28}" fill="{BAR_COLOUR}">'
            f"<title>{escape(bar.label)}: {escape(bar.shown)}</title></rect>"
            f'<text x="{left + bar_w + 6:.1f}" y="{y + 34}" {FONT}>{escape(bar.shown)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(
    chart_id: str, width: int, height: int, title: str, description: str, css_class: str = "chart"
) -> list[str]:
    # viewBox + width 100%: the chart scales down to a phone without a scroll bar
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" class="{css_class}" id="{chart_id}">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
    ]


def _axes(left: int, top: int, width: float, height: float) -> str:
    return (
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + height}" stroke="{AXIS_COLOUR}"/>'
        f'<line x1="{left}" y1="{top + height}" x2="{left + width}" y2="{top + height}" '
        f'stroke="{AXIS_COLOUR}"/>'
    )


def _ticks(most: int) -> list[int]:
    step = max(1, -(-most // 4))
    return list(range(0, most + 1, step))


def _describe(bars: Sequence[Bar], x_label: str, y_label: str) -> str:
    listed = "; ".join(f"{bar.label}: {bar.shown}" for bar in bars) or "no data"
    return f"{y_label} per {x_label}: {listed}"
