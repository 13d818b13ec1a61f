"""Server-side inline SVG charts: the six-class probability bar and the SHAP waterfall.

The charts are plain SVG strings (no JavaScript, no external assets) so the page works offline
and prints as it looks. Every piece of text is escaped; the result is :class:`markupsafe.Markup`
so Jinja2's autoescape leaves it alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

from models.prediction import Contribution

#: colours that also survive greyscale printing (the signed number is always printed too)
COLOUR_UP = "#b2182b"  # pushes towards the explained class
COLOUR_DOWN = "#2166ac"  # pushes away from it
COLOUR_BAR = "#8c96a0"
COLOUR_TOP = "#1b5e20"

_FONT = "font-family='system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif'"


def pct_text(p: float) -> str:
    """A probability in percent, never "100 %" or "0 %": "> 99 %", "< 1 %", else "73 %"."""
    if p > 0.99:
        return "> 99 %"
    if p < 0.01:
        return "< 1 %"
    return f"{100 * p:.0f} %"


def _clip(text: str, n: int) -> str:
    """Shorten ``text`` to ``n`` characters with an ellipsis."""
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def probability_bars_svg(
    probabilities: Mapping[str, float],
    labels: Mapping[str, str],
    predicted: str | None = None,
    width: int = 560,
) -> Markup:
    """One horizontal bar per class with its calibrated probability in percent.

    Parameters
    ----------
    probabilities : Mapping[str, float]
        Class -> probability in [0, 1], in display order (all six classes).
    labels : Mapping[str, str]
        Class -> human label.
    predicted : str | None
        The predicted class, drawn in a stronger colour and bold.
    width : int
        Width of the SVG viewBox in px (the SVG scales to its container).

    Returns
    -------
    Markup
        An ``<svg>`` element with ``role="img"`` and a ``<title>`` listing all values.
    """
    row_h, label_w, pct_w = 24, 210, 60
    bar_w = width - label_w - pct_w
    height = row_h * len(probabilities) + 4
    summary = "; ".join(f"{labels.get(c, c)} {pct_text(p)}" for c, p in probabilities.items())
    parts = [
        f"<svg class='chart prob-bars' xmlns='http://www.w3.org/2000/svg' "
        f"viewBox='0 0 {width} {height}' width='100%' role='img' "
        f"aria-label='Class probabilities' {_FONT} font-size='13'>",
        f"<title>Class probabilities: {escape(summary)}</title>",
    ]
    for i, (cls, p) in enumerate(probabilities.items()):
        p = 0.0 if p is None or not math.isfinite(p) else min(max(float(p), 0.0), 1.0)
        y = 2 + i * row_h
        strong = cls == predicted
        colour = COLOUR_TOP if strong else COLOUR_BAR
        weight = " font-weight='700'" if strong else ""
        w = max(bar_w * p, 1.0)
        parts.append(
            f"<g class='prob-row' data-class='{escape(cls)}' data-p='{p:.4f}'>"
            f"<text x='{label_w - 8}' y='{y + 16}' text-anchor='end'{weight}>"
            f"{escape(labels.get(cls, cls))}</text>"
            f"<rect x='{label_w}' y='{y + 4}' width='{bar_w}' height='{row_h - 8}' "
            f"fill='#eef1f4'/>"
            f"<rect x='{label_w}' y='{y + 4}' width='{w:.1f}' height='{row_h - 8}' "
            f"fill='{colour}'/>"
            f"<text x='{label_w + bar_w + 6}' y='{y + 16}'{weight}>{escape(pct_text(p))}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def waterfall_svg(
    contributions: Sequence[Contribution],
    class_label: str,
    base_value: float | None = None,
    total: float | None = None,
    not_examined: float = 0.0,
    probability: float | None = None,
    width: int = 640,
) -> Markup:
    """A SHAP waterfall: the start value, one step per finding, the remaining findings, the score.

    Parameters
    ----------
    contributions : Sequence[Contribution]
        The top findings in the order to draw (largest ``|shap|`` first); ``shap`` in
        log-odds of the explained class.
    class_label : str
        Human label of the explained class (axis title).
    base_value : float | None
        The model's average raw score for the class (log-odds). ``None``: steps start at 0
        and no start/score rows are drawn.
    total : float | None
        The study's raw score for the class (log-odds). When given with ``base_value``,
        the findings not listed are drawn as one "all other findings" step.
    not_examined : float
        Summed log-odds of the listed findings that were not measured; drawn as one
        "Findings not examined" step (never as reasons of their own).
    probability : float | None
        The study's probability of the class, printed on the score row so the log-odds scale
        is never mistaken for a percentage.
    width : int
        Width of the SVG viewBox in px.

    Returns
    -------
    Markup
        An ``<svg>`` element; positive steps in :data:`COLOUR_UP`, negative in
        :data:`COLOUR_DOWN`, each with its signed value printed.
    """
    row_h, label_w, value_w, pad = 26, 300, 56, 10
    max_chars = int((label_w - 12) / 7.2)  # ~7 px per character at 12 px, with margin
    plot_w = width - label_w - value_w - pad
    start = 0.0 if base_value is None else float(base_value)
    rows: list[tuple[str, str, float, float, str]] = []  # label, tooltip, x0, x1, kind
    if base_value is not None:
        rows.append(("Average training study", "model start value", start, start, "marker"))
    x = start
    for c in contributions:
        text = c.label if not c.value_text else f"{c.label}: {c.value_text}"
        tip = c.sentence or text
        rows.append((text, tip, x, x + c.shap, "step"))
        x += c.shap
    if not_examined:
        rows.append(
            ("Findings not examined", "not measured or not assessable", x, x + not_examined, "step")
        )
        x += not_examined
    if base_value is not None and total is not None:
        rest = float(total) - x
        if abs(rest) > 1e-9:
            rows.append(("All other findings", "sum of the findings not listed", x, total, "step"))
        score = f"Score for {class_label}"
        if probability is not None:
            score += f" (probability {pct_text(probability)})"
        rows.append((score, "the study's score in log-odds", total, total, "marker"))
    if not rows:
        return Markup("<p class='muted'>No contributions to show.</p>")
    points = [v for r in rows for v in (r[2], r[3])] + [0.0]
    lo, hi = min(points), max(points)
    span = hi - lo or 1.0
    lo, hi = lo - 0.04 * span, hi + 0.04 * span

    def sx(v: float) -> float:
        return label_w + (v - lo) / (hi - lo) * plot_w

    top = 22
    height = top + row_h * len(rows) + 8
    parts = [
        f"<svg class='chart waterfall' xmlns='http://www.w3.org/2000/svg' "
        f"viewBox='0 0 {width} {height}' width='100%' role='img' "
        f"aria-label='Waterfall of contributions' {_FONT} font-size='12'>",
        f"<title>Contributions (log-odds) to {escape(class_label)}</title>",
        f"<text x='{label_w}' y='13' fill='#555'>← against · for → (log-odds, not %)</text>",
        f"<line x1='{sx(0):.1f}' x2='{sx(0):.1f}' y1='{top - 4}' y2='{height - 4}' "
        f"stroke='#bbb' stroke-dasharray='3 3'/>",
    ]
    for i, (text, tip, x0, x1, kind) in enumerate(rows):
        y = top + i * row_h
        parts.append(f"<g class='wf-row wf-{kind}'><title>{escape(tip)}</title>")
        parts.append(
            f"<text x='{label_w - 8}' y='{y + 17}' text-anchor='end'>"
            f"{escape(_clip(text, max_chars))}</text>"
        )
        if kind == "marker":
            parts.append(
                f"<line x1='{sx(x0):.1f}' x2='{sx(x0):.1f}' y1='{y + 3}' y2='{y + row_h - 3}' "
                f"stroke='#222' stroke-width='3'/>"
                f"<text x='{width - value_w + 4}' y='{y + 17}' fill='#222'>{x0:.2f}</text>"
            )
        else:
            delta = x1 - x0
            colour = COLOUR_UP if delta >= 0 else COLOUR_DOWN
            left, right = sorted((sx(x0), sx(x1)))
            parts.append(
                f"<rect x='{left:.1f}' y='{y + 5}' width='{max(right - left, 1.5):.1f}' "
                f"height='{row_h - 10}' fill='{colour}'/>"
                f"<text x='{width - value_w + 4}' y='{y + 17}' fill='{colour}'>"
                f"{delta:+.2f}</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))
