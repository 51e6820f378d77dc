"""Cutting a formula into whitelisted tokens; anything else is a parse error at its place.

Plain text and LaTeX share one token stream: ``\\frac`` is a command token, ``{`` and
``}`` group like parentheses, ``\\left``, ``\\limits`` and LaTeX spacing vanish, and
the unicode signs a person types (− × · σ δ ŷ Σ √ ᵀ) become the tokens they mean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 2_000


class FormulaError(ValueError):
    """A formula that cannot be read or evaluated; ``code`` is the verdict's code."""

    def __init__(self, message: str, offset: int | None = None, code: str = "parse") -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.code = code
        self.tree: object = None  # a formula read, whose indices were then refused

    def __str__(self) -> str:
        if self.offset is None:
            return self.message
        return f"at character {self.offset + 1}: {self.message}"


@dataclass(frozen=True)
class Token:
    kind: str  # num, name, cmd, op, open, close, sub, sup, prime, amp, rowbreak, eq, compare
    text: str
    offset: int


# LaTeX commands that only change how a formula looks
_IGNORED_COMMANDS = frozenset(
    {
        "left",
        "right",
        "bigl",
        "bigr",
        "Bigl",
        "Bigr",
        "big",
        "Big",
        "biggl",
        "biggr",
        "limits",
        "nolimits",
        "displaystyle",
        "textstyle",
        "quad",
        "qquad",
        "middle",
    }
)
# \mathrm{diag} is the name diag; \mathbf{z} the symbol z
_TYPEFACES = r"mathrm|mathbf|mathit|mathsf|boldsymbol|bm|text|textrm|textbf|textit|operatorname\*?"
_KNOWN_COMMANDS = frozenset(
    {
        "frac",
        "dfrac",
        "tfrac",
        "sqrt",
        "hat",
        "widehat",
        "sum",
        "exp",
        "log",
        "ln",
        "sigma",
        "delta",
        "cdot",
        "times",
        "otimes",
        "top",
        "intercal",
        "pi",
        "begin",
        "end",
        "mathbf",
        "mathrm",
        "boldsymbol",
        "bm",
        "text",
        "operatorname",
        "mathsf",
        "mathit",
        "textrm",
        "textbf",
        "textit",
        "max",
        "ast",
    }
)
_UNICODE = {
    "\u2212": ("op", "-"),  # minus sign
    "\u2013": ("op", "-"),  # en dash, as the articles print a minus
    "\u00d7": ("op", "*"),
    "\u00b7": ("op", "*"),
    "\u22c5": ("op", "*"),
    "\u2217": ("op", "*"),
    "\u2297": ("op", "kron"),
    "\u03c3": ("name", "sigma"),
    "\u03b4": ("name", "delta"),
    "\u0177": ("name", "y_hat"),
    "\u03a3": ("name", "sum"),
    "\u2211": ("name", "sum"),
    "\u03c0": ("name", "pi"),
    "\u221a": ("name", "sqrt"),
    "\u1d40": ("transpose", "T"),
    "\u22a4": ("transpose", "T"),
    "\u00b2": ("power", "2"),
    "\u00b3": ("power", "3"),
}
_PATTERN = re.compile(
    r"""
    (?P<space>\s+|\\[,;:!\ ]|~)
  | (?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<typeface>\\(?:"""
    + _TYPEFACES
    + r""")\s*\{\s*(?P<typeface_name>[A-Za-z]+|\\top)\s*\})
  | (?P<yhat>y_?hat(?![A-Za-z0-9])|y\u0302)
  | (?P<name>[A-Za-z][A-Za-z0-9]*)
  | (?P<rowbreak>\\\\)
  | (?P<cmd>\\[A-Za-z]+\*?)
  | (?P<power>\*\*)
  | (?P<compare>==|!=)
  | (?P<op>[-+*/@])
  | (?P<open>[(\[{])
  | (?P<close>[)\]}])
  | (?P<sub>_)
  | (?P<sup>\^)
  | (?P<prime>')
  | (?P<amp>&)
  | (?P<comma>,)
  | (?P<semicolon>;)
  | (?P<eq>=)
    """,
    re.VERBOSE,
)


def tokenize(text: str, start: int = 0) -> list[Token]:
    """The tokens of ``text[start:]``; raises :class:`FormulaError` at the first unknown character."""
    if len(text) > MAX_CHARS:
        raise FormulaError(f"the formula is too long ({len(text):,} characters, at most {MAX_CHARS:,})")
    tokens: list[Token] = []
    position = start
    while position < len(text):
        character = text[position]
        if character in _UNICODE:
            kind, meaning = _UNICODE[character]
            if kind == "transpose":
                tokens += [Token("sup", "^", position), Token("name", "T", position)]
            elif kind == "power":
                tokens += [Token("sup", "^", position), Token("num", meaning, position)]
            else:
                tokens.append(Token(kind, meaning, position))
            position += 1
            continue
        match = _PATTERN.match(text, position)
        if match is None:
            raise FormulaError(f"unexpected {character!r}", position)
        kind = match.lastgroup or ""
        word = match.group()
        if kind == "typeface":
            inner = match.group("typeface_name")
            tokens.append(Token("name", "T" if inner == "\\top" else inner, position))
        elif kind == "yhat":
            tokens.append(Token("name", "y_hat", position))
        elif kind == "cmd":
            command = word[1:].rstrip("*")
            if command not in _IGNORED_COMMANDS:
                if command not in _KNOWN_COMMANDS:
                    raise FormulaError(f"unknown LaTeX command {word!r}", position)
                tokens.append(Token("cmd", command, position))
        elif kind == "power":
            tokens.append(Token("sup", "^", position))
        elif kind != "space" and kind not in ("typeface_name",):
            tokens.append(Token(kind, word, position))
        position = match.end()
    return tokens


def right_hand_side(text: str) -> int:
    """Where the formula starts: after the last '=' outside brackets (``dS_i/dz_j = ...``)."""
    depth = 0
    start = 0
    for offset, character in enumerate(text):
        if character in "([{":
            depth += 1
        elif character in ")]}":
            depth -= 1
        elif character == "=" and depth == 0:
            before = text[offset - 1] if offset else ""
            after = text[offset + 1] if offset + 1 < len(text) else ""
            if "=" not in (before, after) and before not in "!<>":
                start = offset + 1
    return start
