"""A statement's LaTeX as HTML: each ``$...$`` span becomes MathML, the rest is escaped text.

Rendered on the server so the pages need no script and no CDN to show the mathematics.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from latex2mathml.converter import convert
from markupsafe import Markup, escape

log = logging.getLogger(__name__)

MATH_SPAN = re.compile(r"\$([^$]+)\$")
# latex2mathml writes a matrix's brackets as operators beside the table, which a browser
# stretches only with a maths font installed; the table draws its own brackets instead
# (site.css), and keeps the row and column structure screen readers read
BRACKETED = re.compile(
    r"<mo>&#x0005B;</mo><mtable>(.*?)</mtable><mo>&#x0005D;</mo>"
    r"|<mo>&#x00028;</mo><mtable>(.*?)</mtable><mo>&#x00029;</mo>"
)


@lru_cache(maxsize=4096)
def latex_to_mathml(latex: str) -> Markup:
    """One formula as inline MathML; the LaTeX itself, in a code span, if it cannot be read."""
    try:
        mathml = convert(latex)
    except Exception:  # latex2mathml raises many kinds; a page must still show the formula
        log.warning("could not convert %r to MathML", latex)
        return Markup('<code class="tex">{}</code>').format(latex)
    return Markup(BRACKETED.sub(_bracketed_table, mathml))


def _bracketed_table(match: re.Match[str]) -> str:
    square, round_ = match.groups()
    if square is not None:
        return f'<mtable class="bmatrix">{square}</mtable>'
    return f'<mtable class="pmatrix">{round_}</mtable>'


def render_statement(latex_text: str) -> Markup:
    """Text with inline ``$...$`` math as safe HTML; a formula with a matrix in a box of its own."""
    parts: list[Markup] = []
    position = 0
    for match in MATH_SPAN.finditer(latex_text):
        parts.append(escape(latex_text[position : match.start()]))
        mathml = latex_to_mathml(match.group(1))
        # a matrix of a large instance is wider than a phone: it scrolls in its box, not the page
        parts.append(scroll_box(mathml) if "<mtable" in mathml else mathml)
        position = match.end()
    parts.append(escape(latex_text[position:]))
    return Markup("").join(parts)


def scroll_box(mathml: Markup, name: str | None = None) -> Markup:
    """MathML in an inline box that scrolls sideways when it is wider than its line (site.css).

    The page's script lets the keyboard reach the box when it does scroll, and names it then:
    ``name``, or (a statement's formula) what the formula defines and in which question.
    """
    if name is None:
        return Markup('<span class="math-wrap">{}</span>').format(mathml)
    return Markup('<span class="math-wrap" data-name="{}">{}</span>').format(name, mathml)


def formula_box(latex: str, name: str) -> Markup:
    """One formula (a student's, as it was read) as MathML in a box of its own named ``name``:
    a long one scrolls sideways in it rather than widen the page."""
    return scroll_box(latex_to_mathml(latex), name)
