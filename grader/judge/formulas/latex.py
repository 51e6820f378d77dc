"""The parser's token stream, and the grammar of LaTeX commands and matrix literals.

``\\frac{a}{b}``, ``\\sqrt{a}``, ``\\hat{y}_i``, ``\\mathbf{...}`` and
``\\begin{bmatrix} ... \\end{bmatrix}`` here; ``[[a, b], [c, d]]`` and MATLAB's
``[a, b; c, d]`` too. The arithmetic they contain is the main grammar's
(:mod:`grader.judge.formulas.parser`), which this class is the base of.
"""

from __future__ import annotations

from exercises.notation import Notation
from grader.judge.formulas.lexer import FormulaError, Token
from grader.judge.formulas.names import ALIASES, MATRIX_ENVIRONMENTS, TYPEFACES
from grader.judge.formulas.tree import Binary, Call, Expression, Matrix, Symbol

MAX_DEPTH = 40  # nested groups, signs and powers


class LatexGrammar:
    """Tokens in order, with the LaTeX and matrix rules.

    The arithmetic these rules contain is the subclass's: ``expression``, ``postfix``,
    ``call``, ``summation``, ``delta``, ``subscripted``, ``subscript_indices`` and
    ``symbol_list`` are defined by :class:`grader.judge.formulas.parser._Parser`.
    """

    def __init__(self, tokens: list[Token], notation: Notation, end: int) -> None:
        self.tokens = tokens
        self.notation = notation
        self.position = 0
        self.depth = 0
        self.sums = 0
        self.end = end

    # ---- tokens -------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token | None:
        index = self.position + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise FormulaError("the formula ends too early", self.end)
        self.position += 1
        return token

    def expect(self, kind: str, text: str | None = None) -> Token:
        token = self.peek()
        if token is None or token.kind != kind or (text is not None and token.text != text):
            wanted = repr(text) if text else kind
            found = repr(token.text) if token else "the end"
            raise FormulaError(f"expected {wanted}, found {found}", token.offset if token else self.end)
        self.position += 1
        return token

    def at(self, kind: str, *texts: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == kind and (not texts or token.text in texts)

    def deeper(self, offset: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"the formula is nested too deeply (at most {MAX_DEPTH} levels)", offset)

    # ---- LaTeX and matrices ------------------------------------------------------

    def command(self, token: Token) -> Expression:
        name = token.text
        if name in ("frac", "dfrac", "tfrac"):
            numerator = self.group()
            return Binary("/", numerator, self.group())
        if name == "sqrt":
            return Call("sqrt", (self.group(),))
        if name in ("hat", "widehat"):
            self.expect("open", "{")
            inner = self.take()
            if inner.kind != "name" or inner.text not in ("y", "S", "s"):
                raise FormulaError("\\hat{y} is the softmax output; expected y inside", inner.offset)
            if ALIASES["y_hat"] not in self.notation.symbols:
                raise FormulaError(
                    f"\\hat{{y}} is not a symbol of this exercise: {self.symbol_list()}", inner.offset
                )
            node: Expression = Symbol(ALIASES["y_hat"])
            if self.at("sub"):
                sub = self.take()
                node = self.subscripted(node, self.subscript_indices(), sub.offset)
            self.expect("close", "}")
            return node
        if name == "sum":
            return self.summation(token)
        if name in ("exp", "log", "ln", "max"):
            return self.call(name, token)
        if name == "sigma":
            return self.call("sigma", token)
        if name == "delta":
            if not self.at("sub"):
                raise FormulaError("\\delta needs two indices, as in \\delta_{ij}", token.offset)
            self.take()
            return self.delta(self.subscript_indices(), token.offset)
        if name == "pi":
            return Symbol("pi")
        if name == "begin":
            return self.environment(token)
        if name in TYPEFACES:  # \mathbf{\hat{y} - y}: the typeface of a whole group
            return self.group()
        raise FormulaError(f"unexpected \\{name}", token.offset)

    def group(self) -> Expression:
        """A LaTeX argument: ``{...}``, or a single token as in ``\\frac12``."""
        if self.at("open", "{"):
            token = self.take()
            self.deeper(token.offset)
            inner = self.expression()
            self.expect("close", "}")
            self.depth -= 1
            return inner
        return self.postfix()

    def bracket_matrix(self, opening: Token) -> Expression:
        self.deeper(opening.offset)
        rows: list[list[Expression]] = []
        if self.at("open", "["):
            while True:
                self.expect("open", "[")
                rows.append(self.entries("comma", ("close",)))
                self.expect("close", "]")
                if not self.at("comma"):
                    break
                self.take()
        else:
            while True:
                rows.append(self.entries("comma", ("semicolon", "close")))
                if not self.at("semicolon"):
                    break
                self.take()
        self.expect("close", "]")
        self.depth -= 1
        return self.matrix(rows, opening.offset)

    def entries(self, separator: str, stops: tuple[str, ...]) -> list[Expression]:
        row = [self.expression()]
        while self.at(separator):
            while self.at(separator):  # the articles' '&&' separates two entries
                self.take()
            row.append(self.expression())
        return row

    def environment(self, token: Token) -> Expression:
        self.expect("open", "{")
        name = self.expect("name").text
        self.expect("close", "}")
        if name not in MATRIX_ENVIRONMENTS:
            raise FormulaError(f"unknown environment {name!r}: write a bmatrix", token.offset)
        if name == "array" and self.at("open", "{"):
            while not self.at("close", "}"):
                self.take()
            self.take()
        self.deeper(token.offset)
        rows: list[list[Expression]] = []
        while True:
            if self.at("cmd", "end"):
                break
            rows.append(self.entries("amp", ("rowbreak",)))
            if not self.at("rowbreak"):
                break
            self.take()
        self.expect("cmd", "end")
        self.expect("open", "{")
        if self.expect("name").text != name:
            raise FormulaError(f"expected \\end{{{name}}}", token.offset)
        self.expect("close", "}")
        self.depth -= 1
        return self.matrix(rows, token.offset)

    def matrix(self, rows: list[list[Expression]], offset: int) -> Expression:
        if any(len(row) != len(rows[0]) for row in rows):
            raise FormulaError("the matrix's rows have different numbers of entries", offset)
        return Matrix(tuple(tuple(row) for row in rows))
