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


@lru_cache(maxsize=4096)
def latex_to_mathml(latex: str) -> Markup:
    """One formula as inline MathML; the LaTeX itself, in a code span, if it cannot be read."""
    try:
        return Markup(convert(latex))
    except Exception:  # latex2mathml raises many kinds; a page must still show the formula
        log.warning("could not convert %r to MathML", latex)
        return Markup('<code class="tex">{}</code>').format(latex)


def render_statement(latex_text: str) -> Markup:
    """Text with inline ``$...$`` math as safe HTML."""
    parts: list[Markup] = []
    position = 0
    for match in MATH_SPAN.finditer(latex_text):
        parts.append(escape(latex_text[position : match.start()]))
        parts.append(latex_to_mathml(match.group(1)))
        position = match.end()
    parts.append(escape(latex_text[position:]))
    return Markup("").join(parts)
