"""Charts as inline SVG, drawn on the server: no JavaScript, no CDN.

Each function returns `Markup` for a template. Every text that goes into the
SVG is escaped here. Colours are SVG presentation attributes (the console's
CSP refuses inline `style`). Each bar carries `data-day`, `data-series` and
`data-value`, and a `<title>` a browser shows on hover.
"""
from __future__ import annotations

from markupsafe import Markup, escape

PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 40, 10, 28, 24


def _nice_max(value: float) -> int:
    """The smallest 'round' number (1, 2, 5 × 10^n) at or above value."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m >= value:
                return step * m
        step *= 10


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _open(chart_id: str, title: str, width: float, height: float, desc: str) -> list[str]:
    cid = escape(chart_id)
    return [f'<svg id="{cid}" class="chart" viewBox="0 0 {_num(width)} {_num(height)}" width="100%" '
            f'role="img" aria-labelledby="{cid}-title {cid}-desc" xmlns="http://www.w3.org/2000/svg" '
            f'font-family="system-ui, sans-serif" font-size="11">',
            f'<title id="{cid}-title">{escape(title)}</title><desc id="{cid}-desc">{escape(desc)}</desc>']


def _legend(series, y: float = 12) -> list[str]:
    out, x = [], PAD_LEFT
    for key, label, colour in series:
        out.append(f'<rect class="legend legend-{escape(key)}" x="{x}" y="{y - 9}" width="10" height="10" '
                   f'fill="{escape(colour)}"/><text x="{x + 14}" y="{y}">{escape(label)}</text>')
        x += 22 + 7 * len(label)
    return out


def _y_axis(plot_h: float, width: float, top: int, suffix: str = "") -> list[str]:
    out = []
    for frac in (0, .5, 1):
        y = PAD_TOP + plot_h * (1 - frac)
        out.append(f'<line x1="{PAD_LEFT}" x2="{_num(width - PAD_RIGHT)}" y1="{_num(y)}" y2="{_num(y)}" '
                   f'stroke="#dfe5e1" stroke-width="1"/>'
                   f'<text x="{PAD_LEFT - 4}" y="{_num(y + 4)}" text-anchor="end" fill="#5f6b66">'
                   f'{escape(_num(top * frac))}{escape(suffix)}</text>')
    return out


def _x_labels(days: list[str], slot: float, height: float) -> list[str]:
    every = max(1, len(days) // 7)
    out = []
    for i, day in enumerate(days):
        last = i == len(days) - 1 and (i % every) * 2 > every  # no clash with the one before
        if i % every == 0 or last:
            x = PAD_LEFT + slot * (i + .5)
            out.append(f'<text x="{_num(x)}" y="{_num(height - 8)}" text-anchor="middle" fill="#5f6b66">'
                       f'{escape(day[5:])}</text>')
    return out


def stacked_bars(chart_id: str, title: str, days: list[str], series, values: dict[str, dict[str, int]],
                 *, width: float = 640, height: float = 220) -> Markup:
    """Vertical bars per day, one stacked segment per series.

    series: [(key, label, colour)]; values: {day: {key: n}}.
    """
    plot_w, plot_h = width - PAD_LEFT - PAD_RIGHT, height - PAD_TOP - PAD_BOTTOM
    slot = plot_w / max(len(days), 1)
    top = _nice_max(max((sum(values.get(d, {}).values()) for d in days), default=0))
    total = sum(sum(values.get(d, {}).values()) for d in days)
    out = _open(chart_id, title, width, height, f"{total} in {len(days)} days")
    out += _legend(series) + _y_axis(plot_h, width, top)
    bar_w = max(slot * .7, 1)
    for i, day in enumerate(days):
        x = PAD_LEFT + slot * i + (slot - bar_w) / 2
        base = PAD_TOP + plot_h
        for key, label, colour in series:
            n = values.get(day, {}).get(key, 0)
            if not n:
                continue
            h = plot_h * n / top
            base -= h
            out.append(f'<rect class="bar bar-{escape(key)}" data-day="{escape(day)}" data-series="{escape(key)}" '
                       f'data-value="{n}" x="{_num(x)}" y="{_num(base)}" width="{_num(bar_w)}" height="{_num(h)}" '
                       f'fill="{escape(colour)}"><title>{escape(day)}: {n} {escape(label)}</title></rect>')
    out += _x_labels(days, slot, height)
    out.append("</svg>")
    return Markup("".join(out))


def line(chart_id: str, title: str, days: list[str], points: dict[str, float | None], *,
         label: str, colour: str = "#1b6e4a", top: float = 100, suffix: str = "%",
         width: float = 640, height: float = 200) -> Markup:
    """A line through the days that have a value (gaps where None), with a dot per day."""
    plot_w, plot_h = width - PAD_LEFT - PAD_RIGHT, height - PAD_TOP - PAD_BOTTOM
    slot = plot_w / max(len(days), 1)
    known = [points[d] for d in days if points.get(d) is not None]
    desc = f"{len(known)} days with data" if known else "no data"
    out = _open(chart_id, title, width, height, desc)
    out += _legend([("line", label, colour)]) + _y_axis(plot_h, width, int(top), suffix)
    segment: list[str] = []
    dots = []
    for i, day in enumerate(days):
        value = points.get(day)
        if value is None:
            if len(segment) > 1:
                out.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{escape(colour)}" stroke-width="2"/>')
            segment = []
            continue
        x = PAD_LEFT + slot * (i + .5)
        y = PAD_TOP + plot_h * (1 - min(value, top) / top)
        segment.append(f"{_num(x)},{_num(y)}")
        dots.append(f'<circle class="point" data-day="{escape(day)}" data-value="{escape(_num(value))}" '
                    f'cx="{_num(x)}" cy="{_num(y)}" r="3" fill="{escape(colour)}">'
                    f'<title>{escape(day)}: {escape(_num(value))}{escape(suffix)}</title></circle>')
    if len(segment) > 1:
        out.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{escape(colour)}" stroke-width="2"/>')
    out += dots + _x_labels(days, slot, height)
    out.append("</svg>")
    return Markup("".join(out))


def lines(chart_id: str, title: str, days: list[str], series, values: dict[str, dict[str, int | None]], *,
          suffix: str = "", width: float = 640, height: float = 220) -> Markup:
    """Several lines over the same days, gaps where a day has no value, one
    dot per known value (`data-series`, `data-day`, `data-value`), the y axis
    from 0 to a round number above the highest value.

    series: [(key, label, colour)]; values: {key: {day: value or None}}.
    """
    plot_w, plot_h = width - PAD_LEFT - PAD_RIGHT, height - PAD_TOP - PAD_BOTTOM
    slot = plot_w / max(len(days), 1)
    known = [v for key, _, _ in series for d in days if (v := values.get(key, {}).get(d)) is not None]
    top = _nice_max(max(known, default=0))
    out = _open(chart_id, title, width, height, f"{len(known)} values in {len(days)} days" if known else "no data")
    out += _legend(series) + _y_axis(plot_h, width, top, suffix)
    for key, label, colour in series:
        points = values.get(key, {})
        segment: list[str] = []
        for i, day in enumerate([*days, None]):  # the None closes the last segment
            value = points.get(day) if day is not None else None
            if value is None:
                if len(segment) > 1:
                    out.append(f'<polyline class="line-{escape(key)}" points="{" ".join(segment)}" fill="none" '
                               f'stroke="{escape(colour)}" stroke-width="2"/>')
                segment = []
                continue
            x, y = PAD_LEFT + slot * (i + .5), PAD_TOP + plot_h * (1 - value / top)
            segment.append(f"{_num(x)},{_num(y)}")
            out.append(f'<circle class="point" data-series="{escape(key)}" data-day="{escape(day)}" '
                       f'data-value="{escape(_num(value))}" cx="{_num(x)}" cy="{_num(y)}" r="3" '
                       f'fill="{escape(colour)}"><title>{escape(day)}: {escape(_num(value))}{escape(suffix)} '
                       f'{escape(label)}</title></circle>')
    out += _x_labels(days, slot, height)
    out.append("</svg>")
    return Markup("".join(out))


LABEL_CHARS = 30  # a longer step label is cut to fit its 200 units (the full text is its tooltip)


def _cut(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\N{HORIZONTAL ELLIPSIS}"


def funnel(chart_id: str, title: str, steps, series, *, labels: dict[str, str] | None = None,
           width: float = 640, row: float = 26) -> Markup:
    """Horizontal bars, one row per step, stacked by series.

    steps: [(step id, {key: n})]; series: [(key, label, colour)]; labels:
    step id -> what the row is called (default: the id). `data-step` is the id.
    """
    labels = labels or {}
    label_w = 200
    height = PAD_TOP + row * len(steps) + 8
    top = _nice_max(max((sum(c.values()) for _, c in steps), default=0))
    plot_w = width - label_w - 50
    total = sum(sum(c.values()) for _, c in steps)
    out = _open(chart_id, title, width, height, f"{total} sessions ended on these screens")
    out += _legend(series)
    for i, (step, counts) in enumerate(steps):
        y = PAD_TOP + row * i
        name = labels.get(step, step)
        out.append(f'<text class="step-label" data-step="{escape(step)}" x="{label_w - 6}" '
                   f'y="{_num(y + row * .6)}" text-anchor="end"><title>{escape(name)}</title>'
                   f'{escape(_cut(name))}</text>')
        x = float(label_w)
        for key, label, colour in series:
            n = counts.get(key, 0)
            if not n:
                continue
            w = plot_w * n / top
            out.append(f'<rect class="bar bar-{escape(key)}" data-step="{escape(step)}" data-series="{escape(key)}" '
                       f'data-value="{n}" x="{_num(x)}" y="{_num(y + 3)}" width="{_num(w)}" height="{_num(row - 8)}" '
                       f'fill="{escape(colour)}"><title>{escape(name)}: {n} {escape(label)}</title></rect>')
            x += w
        out.append(f'<text class="step-total" data-step="{escape(step)}" x="{_num(x + 4)}" '
                   f'y="{_num(y + row * .6)}" fill="#5f6b66">{sum(counts.values())}</text>')
    out.append("</svg>")
    return Markup("".join(out))
