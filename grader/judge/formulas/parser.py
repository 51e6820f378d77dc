"""A recursive-descent parser from tokens to the expression tree; nothing is ever run.

Precedence, loosest first: ``+ -``; ``* / @ · × ⊗`` and juxtaposition; unary sign;
``^`` (right-associative, its exponent a single factor: ``e^x1 x2`` is
``e^(x1) * x2``); subscripts, ``^T`` and ``'``. A sum's body is the product that
follows it (``sum_k exp(z_k) + 1`` sums ``exp(z_k)`` only).
"""

from __future__ import annotations

import re

from exercises.notation import Notation
from grader.judge.formulas.evaluate import one_number
from grader.judge.formulas.indices import check_indices
from grader.judge.formulas.latex import LatexGrammar
from grader.judge.formulas.lexer import FormulaError, Token, right_hand_side, tokenize
from grader.judge.formulas.names import (
    ALIASES,
    CONSTANTS,
    FACTOR_COMMANDS,
    FUNCTIONS,
    MULTIPLY_COMMANDS,
    is_index_name,
)
from grader.judge.formulas.tree import (
    Binary,
    Call,
    Delta,
    Expression,
    Negate,
    Number,
    Subscript,
    Sum,
    Symbol,
    Transpose,
    children,
)

MAX_SUMS = 4  # each sum adds an axis to the evaluation grid
MAX_EXPONENT = 1_000  # a numeric exponent beyond this is refused: 10^10^10 is no answer
_SYMBOL_PIECES = re.compile(r"x[12]|[A-Za-z]")


def parse(text: str, notation: Notation) -> Expression:
    """The tree of ``text`` (its right-hand side, if it has a ``=``), read for ``notation``."""
    if not isinstance(text, str):
        raise FormulaError("the formula must be text")
    start = right_hand_side(text)
    if not text[start:].strip():
        raise FormulaError("the formula is empty", start if start else None)
    parser = _Parser(tokenize(text, start), notation, len(text))
    tree = parser.expression()
    if parser.position < len(parser.tokens):
        token = parser.tokens[parser.position]
        raise FormulaError(f"unexpected {token.text!r}", token.offset)
    try:
        check_indices(tree, notation)
    except FormulaError as error:
        error.tree = tree
        raise
    return tree


class _Parser(LatexGrammar):
    """The arithmetic: sums, products, signs, powers, subscripts, names and calls."""

    # ---- grammar ------------------------------------------------------------------

    def expression(self) -> Expression:
        left = self.term()
        while self.at("op", "+", "-"):
            operator = self.take().text
            left = Binary(operator, left, self.term())
        if self.at("compare"):
            token = self.take()
            right = self.term()
            if not (_is_index(left) and _is_index(right)):
                raise FormulaError("'==' compares two indices, as in (i==t)", token.offset)
            delta = Delta(left.indices[0], right.indices[0])  # type: ignore[union-attr]
            return delta if token.text == "==" else Binary("-", Number(1.0, "1"), delta)
        return left

    def term(self) -> Expression:
        left = self.unary()
        while True:
            token = self.peek()
            if token is None:
                return left
            if (token.kind == "op" and token.text == "kron") or (
                token.kind == "cmd" and token.text == "otimes"
            ):
                self.take()
                left = Call("kron", (left, self.unary()))
            elif token.kind == "op" and token.text in ("*", "@", "/"):
                self.take()
                left = Binary("/" if token.text == "/" else "*", left, self.unary())
            elif token.kind == "cmd" and token.text in MULTIPLY_COMMANDS:
                self.take()
                left = Binary("*", left, self.unary())
            elif self.starts_factor(token):
                if token.kind == "num" and self.tokens[self.position - 1].kind == "num":
                    raise FormulaError("two numbers side by side: write * between them", token.offset)
                left = Binary("*", left, self.power())
            else:
                return left

    def starts_factor(self, token: Token) -> bool:
        if token.kind in ("num", "name"):
            return True
        if token.kind == "open":
            return True
        return token.kind == "cmd" and token.text in FACTOR_COMMANDS

    def unary(self) -> Expression:
        token = self.peek()
        if token is not None and token.kind == "op" and token.text in ("-", "+"):
            self.take()
            self.deeper(token.offset)
            operand = self.unary()
            self.depth -= 1
            return Negate(operand) if token.text == "-" else operand
        return self.power()

    def power(self) -> Expression:
        base = self.postfix()
        if self.at("sup"):
            token = self.take()
            self.deeper(token.offset)
            exponent = self.exponent()
            self.depth -= 1
            if _numbers_only(exponent):
                value = one_number(exponent)
                if not abs(value) <= MAX_EXPONENT:
                    raise FormulaError(f"the exponent is too large (at most {MAX_EXPONENT})", token.offset)
            return Binary("^", base, exponent)
        return base

    def exponent(self) -> Expression:
        token = self.peek()
        if token is not None and token.kind == "op" and token.text in ("-", "+"):
            self.take()
            self.deeper(token.offset)
            operand = self.exponent()
            self.depth -= 1
            return Negate(operand) if token.text == "-" else operand
        return self.power()

    def postfix(self) -> Expression:
        node = self.primary()
        while True:
            if self.at("sub"):
                token = self.take()
                node = self.subscripted(node, self.subscript_indices(), token.offset)
            elif self.at("prime"):
                self.take()
                node = Transpose(node)
            elif self.at("sup") and self.transpose_follows():
                node = Transpose(node)
            else:
                return node

    def transpose_follows(self) -> bool:
        """Consumes ``^T``, ``^\\top``, ``^{T}`` and says so; leaves any other power alone."""
        after = self.peek(1)
        if after is None:
            return False
        if (after.kind == "name" and after.text == "T") or (
            after.kind == "cmd" and after.text in ("top", "intercal")
        ):
            self.position += 2
            return True
        inner, close = self.peek(2), self.peek(3)
        if (
            after.kind == "open"
            and after.text == "{"
            and inner is not None
            and close is not None
            and (
                (inner.kind == "name" and inner.text == "T") or (inner.kind == "cmd" and inner.text == "top")
            )
            and close.text == "}"
        ):
            self.position += 4
            return True
        return False

    def subscript_indices(self) -> tuple[str, ...]:
        token = self.take()
        if token.kind == "num":
            return tuple(token.text)
        if token.kind == "name":
            letters = re.match(r"[a-z0-9]*", token.text).group()  # type: ignore[union-attr]
            if not letters:
                raise FormulaError(f"expected an index after '_', found {token.text!r}", token.offset)
            rest = token.text[len(letters) :]
            if rest:  # S_iS_j: the subscript is "i", then comes S_j
                self.position -= 1
                self.tokens[self.position] = Token("name", rest, token.offset + len(letters))
            return tuple(letters)
        if token.kind == "open" and token.text == "{":
            indices: list[str] = []
            while not self.at("close", "}"):
                part = self.take()
                if part.kind in ("name", "num") and re.fullmatch(r"[a-z0-9]+", part.text):
                    indices += list(part.text)
                elif part.kind != "comma":
                    raise FormulaError(f"expected an index, found {part.text!r}", part.offset)
            self.take()
            if indices:
                return tuple(indices)
        raise FormulaError(f"expected an index after '_', found {token.text!r}", token.offset)

    def subscripted(self, node: Expression, indices: tuple[str, ...], offset: int) -> Expression:
        if isinstance(node, Symbol) and not node.indices and node.name not in ("index",):
            if node.name == "x" and "x1" in self.notation.symbols and indices in (("1",), ("2",)):
                return Symbol("x" + indices[0])
            if node.name in ("z", "S", "x", "y") and len(indices) > 1 and all(i.isdigit() for i in indices):
                indices = ("".join(indices),)  # z_12 is the twelfth entry of a vector
            if node.name in ("e", "pi", "K", "n", "x1", "x2"):
                raise FormulaError(f"{node.name} is a number and takes no subscript", offset)
            return Symbol(node.name, indices)
        if isinstance(node, Symbol) and node.indices:
            raise FormulaError("a second subscript: write the indices together, as in W_ji", offset)
        return Subscript(node, indices)

    def primary(self) -> Expression:
        token = self.take()
        if token.kind == "num":
            return Number(float(token.text), token.text)
        if token.kind == "name":
            return self.named(token)
        if token.kind == "cmd":
            return self.command(token)
        if token.kind == "open":
            if token.text == "[":
                return self.bracket_matrix(token)
            self.deeper(token.offset)
            inner = self.expression()
            self.expect("close", ")" if token.text == "(" else "}")
            self.depth -= 1
            return inner
        raise FormulaError(f"expected a number, a symbol or '(', found {token.text!r}", token.offset)

    def named(self, token: Token) -> Expression:
        word = token.text
        if word == "sum":
            return self.summation(token)
        if word in FUNCTIONS:
            return self.call(word, token)
        if word == "delta":
            if not self.at("sub"):
                raise FormulaError("delta needs two indices, as in delta_ij", token.offset)
            self.take()
            return self.delta(self.subscript_indices(), token.offset)
        if word in ALIASES:
            name = ALIASES[word]
            if name == "x" and "x1" in self.notation.symbols and self.at("sub"):
                return Symbol("x")  # x_1 is x1: the subscript makes it
            if name not in self.notation.symbols:
                raise FormulaError(
                    f"{word} is not a symbol of this exercise: {self.symbol_list()}", token.offset
                )
            return Symbol(name)
        if word in CONSTANTS:
            return Symbol(word)
        if is_index_name(word):
            return Symbol("index", (word,))
        if word == "T":
            raise FormulaError("T transposes what comes before it: write S^T", token.offset)
        pieces = _SYMBOL_PIECES.findall(word)
        if len(pieces) > 1 and all(p in ALIASES or p in CONSTANTS for p in pieces):
            self.position -= 1  # SS^T is S S^T: read the pieces one by one
            offsets = [token.offset + m.start() for m in _SYMBOL_PIECES.finditer(word)]
            self.tokens[self.position : self.position + 1] = [
                Token("name", p, o) for p, o in zip(pieces, offsets, strict=True)
            ]
            return self.primary()
        raise FormulaError(f"unknown name {word!r}: {self.symbol_list()}", token.offset)

    def symbol_list(self) -> str:
        known = [*sorted(self.notation.symbols - {"K", "n"}), "e", "delta", "exp", "log", "sum"]
        return "the names here are " + ", ".join(known)

    def delta(self, indices: tuple[str, ...], offset: int) -> Expression:
        if len(indices) != 2:
            raise FormulaError("delta takes two indices, as in delta_ij", offset)
        return Delta(indices[0], indices[1])

    def call(self, function: str, token: Token) -> Expression:
        arity = FUNCTIONS.get(function, 1)
        if function in ("sigma", "softmax") and "S" not in self.notation.symbols:
            raise FormulaError("softmax is what is asked here: write it with exp and sum", token.offset)
        function = {"ln": "log", "sigma": "softmax"}.get(function, function)
        if self.at("open", "("):
            opening = self.take()
            self.deeper(opening.offset)
            arguments = [self.expression()]
            while self.at("comma"):
                self.take()
                arguments.append(self.expression())
            self.expect("close", ")")
            self.depth -= 1
        elif function == "onehot":
            raise FormulaError("onehot takes the class in parentheses: onehot(c)", token.offset)
        else:
            arguments = [self.group()]  # \exp{z_i}, \exp z_i, \log S_c
        if len(arguments) != arity:
            raise FormulaError(
                f"{function} takes {arity} argument{'s' if arity > 1 else ''}, got {len(arguments)}",
                token.offset,
            )
        return Call(function, tuple(arguments))

    def summation(self, token: Token) -> Expression:
        if self.at("open", "("):
            return self.call("sum", token)
        if not self.at("sub"):
            raise FormulaError(
                "a sum needs its index, as in sum_k exp(z_k), or parentheses: sum(exp(z))", token.offset
            )
        self.take()
        lower = upper = None
        index_token = self.take()
        if index_token.kind == "open" and index_token.text == "{":
            name_token = self.expect("name")
            index = name_token.text
            if self.at("eq"):
                self.take()
                lower = self.expression()
            self.expect("close", "}")
        elif index_token.kind == "name":
            index = index_token.text[:1]
            name_token = index_token
            if len(index_token.text) > 1:  # sum_kexp(z_k): the index is k
                self.position -= 1
                self.tokens[self.position] = Token("name", index_token.text[1:], index_token.offset + 1)
        else:
            raise FormulaError("expected the sum's index, as in sum_k", index_token.offset)
        if not is_index_name(index):
            raise FormulaError(
                f"{index!r} cannot be a sum's index: use a letter such as k", name_token.offset
            )
        if self.at("sup"):
            self.take()
            upper = self.group()
        self.sums += 1
        if self.sums > MAX_SUMS:
            raise FormulaError(f"too many sums (at most {MAX_SUMS})", token.offset)
        self.deeper(token.offset)
        body = self.term()
        self.depth -= 1
        return Sum(index, body, lower, upper)


def _numbers_only(node: Expression) -> bool:
    if isinstance(node, Symbol):
        return node.name in ("e", "pi")
    if isinstance(node, Call) and node.function not in ("exp", "log", "sqrt"):
        return False
    return isinstance(node, Number | Negate | Binary | Call) and all(_numbers_only(c) for c in children(node))


def _is_index(node: Expression) -> bool:
    return isinstance(node, Symbol) and node.name == "index"
