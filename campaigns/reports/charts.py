"""Charts as inline SVG rendered on the server: no JavaScript, no third-party CDN, readable in any browser
(and in a screenshot). Labels are escaped; values are numbers."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 640, 180, 36


def _number(value) -> float:
    return float(value or 0)


def line_chart(points: Sequence[tuple[str, float]], title: str, unit: str = "") -> SafeString:
    """A line over time (``points`` are (label, value), oldest first), with the first and last labels and
    the maximum on the axis. Each point has a tooltip."""
    if not points:
        return format_html('<p class="report-empty">No data for {}.</p>', title)
    values = [_number(v) for _, v in points]
    top = max(values) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)

    def xy(i: int, value: float) -> tuple[float, float]:
        return PAD + i * step, HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top

    coords = [xy(i, v) for i, v in enumerate(values)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5"><title>{escape(label)}: {escape(unit)}{v:,.2f}</title></circle>'
        for (x, y), (label, _), v in zip(coords, points, values, strict=True))
    svg = (
        f'<svg class="report-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet">'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
        f'<text x="{PAD + 4}" y="{PAD - 8}">max {escape(unit)}{top:,.2f}</text>'
        f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" text-anchor="end">0</text>'
        f'<text x="{PAD}" y="{HEIGHT - 12}">{escape(points[0][0])}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 12}" text-anchor="end">{escape(points[-1][0])}</text>'
        f'<polyline points="{path}" class="line"/>{dots}</svg>'
    )
    return mark_safe(svg)  # noqa: S308  (every label above is escaped)


def _amount(value, unit: str, suffix: str) -> str:
    number = f"{value:,}" if isinstance(value, int) else f"{_number(value):,.2f}"
    return f"{unit}{number}{suffix}"


def bar_chart(bars: Sequence[tuple[str, float]], title: str, unit: str = "", suffix: str = "") -> SafeString:
    """Horizontal bars with their label and value (``unit`` before it, ``suffix`` after)."""
    if not bars:
        return format_html('<p class="report-empty">No data for {}.</p>', title)
    top = max(_number(v) for _, v in bars) or 1.0
    row, label_w = 22, 280
    height = row * len(bars) + 8
    parts = []
    for i, (label, value) in enumerate(bars):
        width = (WIDTH - label_w - 90) * _number(value) / top
        y = 4 + i * row
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(str(label)[:44])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{max(width, 1):.1f}" height="{row - 8}" class="bar">'
            f'<title>{escape(label)}: {escape(_amount(value, unit, suffix))}</title></rect>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + 14}">{escape(_amount(value, unit, suffix))}</text>')
    svg = (f'<svg class="report-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
           f'width="100%">{"".join(parts)}</svg>')
    return mark_safe(svg)  # noqa: S308  (every label above is escaped)


def lines_chart(series: Sequence[tuple[str, Sequence[tuple[str, float]]]], title: str) -> SafeString:
    """Several lines over the same days (``series`` is (name, points) with points (label, value), oldest
    first, all on the same labels), with a legend; used for segment sizes."""
    series = [(name, points) for name, points in series if points]
    if not series:
        return format_html('<p class="report-empty">No data for {}.</p>', title)
    labels = sorted({label for _, points in series for label, _ in points})
    at = {label: i for i, label in enumerate(labels)}
    top = max(_number(v) for _, points in series for _, v in points) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(labels) - 1, 1)
    legend_h = 16 * len(series)
    height = HEIGHT + legend_h
    parts = []
    for n, (name, points) in enumerate(series):
        cls = f"series{n % 8}"
        coords = [(PAD + at[label] * step, HEIGHT - PAD - (HEIGHT - 2 * PAD) * _number(v) / top, label, v)
                  for label, v in points]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in coords)
        parts.append(f'<polyline points="{path}" class="line {cls}"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" class="{cls}"><title>{escape(name)}, '
                     f'{escape(label)}: {_number(v):,.0f}</title></circle>' for x, y, label, v in coords)
        y = HEIGHT + 16 * n
        last = _number(points[-1][1])
        parts.append(f'<rect x="{PAD}" y="{y}" width="12" height="4" class="{cls}"/>'
                     f'<text x="{PAD + 18}" y="{y + 6}">{escape(name[:60])}: {last:,.0f}</text>')
    svg = (
        f'<svg class="report-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet">'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
        f'<text x="{PAD + 4}" y="{PAD - 8}">max {top:,.0f}</text>'
        f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" text-anchor="end">0</text>'
        f'<text x="{PAD}" y="{HEIGHT - 12}">{escape(labels[0])}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 12}" text-anchor="end">{escape(labels[-1])}</text>'
        f'{"".join(parts)}</svg>'
    )
    return mark_safe(svg)  # noqa: S308  (every label above is escaped)
