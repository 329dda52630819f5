"""Charts as server-rendered SVG: no script, no CDN; the numbers sit in a table beside each.

Each chart scales to its container (viewBox, width 100%) and carries a <title> per bar, so a
pointer shows the value; the page puts the same numbers in a <details> table under it.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    css: str  # chart-a, chart-b … (colours in clinico.css)


def _axis(value: float) -> tuple[float, float]:
    """A round axis top at or above `value` and its step (1, 2, 2.5, 5 × 10^n; 4 or 5 steps)."""
    if value <= 0:
        return 1.0, 0.25
    rough = value / 4
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if rough <= m * power)
    if value <= 5 and value == int(value):  # small counts: whole numbers
        step = 1
    return math.ceil(value / step) * step, step


def _number(value: float) -> str:
    """Localised (a decimal comma in pt-BR), one decimal at most."""
    if value == int(value):
        return formats.number_format(int(value))
    return formats.number_format(round(value, 1), 1)


def _tick(value: float) -> str:
    """An axis mark as exact as its step needs: 0,25 and 0,75 (not 0,2 and 0,8), localised."""
    decimals = len(f"{round(value, 2):g}".partition(".")[2])
    return formats.number_format(round(value, 2), decimals) if decimals else _number(value)


def bar_chart(
    *, labels: Sequence[str], series: Sequence[Series], label: str, unit: str = ""
) -> SafeString:
    """Vertical grouped bars: one group per label (e.g. hours), one bar per series."""
    width, height = 420, 200
    left, right, top, bottom = 34, 6, 10, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s.values if v is not None]
    top_value, step = _axis(max(values, default=0))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet">'
    ]
    for i in range(round(top_value / step) + 1):
        tick = step * i
        y = top + plot_h - plot_h * tick / top_value
        parts.append(
            f'<line class="chart-rule" x1="{left}" x2="{width - right}" y1="{y:.1f}" '
            f'y2="{y:.1f}"/><text class="chart-axis" x="{left - 4}" y="{y + 4:.1f}" '
            f'text-anchor="end">{_tick(tick)}</text>'
        )
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bar_w = min(group_w * 0.8 / max(len(series), 1), 28)
    every = max(1, math.ceil(groups / 8))  # at most 8 labels on the axis
    for g, text in enumerate(labels):
        x0 = left + g * group_w + (group_w - bar_w * len(series)) / 2
        for k, one in enumerate(series):
            value = one.values[g]
            if value is None:
                continue
            bar_h = plot_h * value / top_value
            x = x0 + k * bar_w
            y = top + plot_h - bar_h
            parts.append(
                f'<rect class="{one.css}" x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.92:.1f}" '
                f'height="{bar_h:.1f}"><title>{escape(text)} · {escape(one.name)}: '
                f"{_number(value)}{escape(unit)}</title></rect>"
            )
        if g % every == 0:
            parts.append(
                f'<text class="chart-axis" x="{left + g * group_w + group_w / 2:.1f}" '
                f'y="{height - 10}" text-anchor="middle">{escape(text)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def hbar_chart(
    *,
    labels: Sequence[str],
    values: Sequence[float | None],
    label: str,
    unit: str = "",
    css="chart-a",
) -> SafeString:
    """Horizontal bars, one per label (services, desks, attendants, clinics), each name on its
    own line above its bar so that long names stay readable on a phone."""
    row_h, right, width = 40, 64, 420
    height = max(row_h * len(labels), row_h) + 4
    plot_w = width - right
    top_value, _step = _axis(max((v for v in values if v is not None), default=0))
    parts = [
        f'<svg class="chart chart-h" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="xMinYMin meet">'
    ]
    for i, (text, value) in enumerate(zip(labels, values, strict=True)):
        y = 2 + i * row_h
        short = text if len(text) <= 48 else text[:47] + "…"
        parts.append(f'<text class="chart-axis" x="0" y="{y + 14}">{escape(short)}</text>')
        if value is None:
            parts.append(f'<text class="chart-value" x="0" y="{y + 33}">–</text>')
            continue
        bar_w = plot_w * value / top_value
        parts.append(
            f'<rect class="{css}" x="0" y="{y + 20}" width="{bar_w:.1f}" height="14">'
            f"<title>{escape(text)}: {_number(value)}{escape(unit)}</title></rect>"
            f'<text class="chart-value" x="{bar_w + 4:.1f}" y="{y + 32}">'
            f"{_number(value)}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
