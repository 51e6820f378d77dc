"""Plain words for every feedback code and every kind: one table, read by badges, charts,
practice reasons and exports, so a student never has to learn the codes.

Each code has a ``label`` (a noun phrase: "rows and columns swapped") and a ``did``
(what the student did, after "you": "swapped rows and columns").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeLabel:
    label: str
    did: str


LABELS: dict[str, CodeLabel] = {
    # the mathematics
    "shape": CodeLabel("wrong shape", "gave an answer of the wrong shape"),
    "not_finite": CodeLabel("NaN or infinity", "gave NaN or infinity"),
    "parse": CodeLabel("not readable", "wrote an answer that could not be read"),
    "transpose": CodeLabel("rows and columns swapped", "swapped rows and columns"),
    "vec_order": CodeLabel("W flattened row by row", "flattened W row by row instead of column by column"),
    "sign": CodeLabel("sign flipped", "flipped the sign"),
    "scale": CodeLabel("off by a constant factor", "were off by a constant factor"),
    "diagonal_only": CodeLabel("only the diagonal terms", "kept only the diagonal terms S_i (1 - S_i)"),
    "outer_only": CodeLabel("the diag(S) term missing", "left out the diag(S) term"),
    "used_logits": CodeLabel("z used instead of S", "used z where S belongs"),
    "missing_input_factor": CodeLabel("the x_j factor missing", "left out the x_j factor"),
    "forgot_one_hot": CodeLabel("the one-hot y not subtracted", "forgot to subtract the one-hot y"),
    "partial": CodeLabel("some entries off", "had some entries off"),
    "not_normalised": CodeLabel("not divided by the sum", "forgot to divide by the sum"),
    "precision": CodeLabel("rounded too far", "rounded too far"),
    "class_index": CodeLabel("class counted from 1", "counted the class from 1"),
    "power_rule": CodeLabel("power rule slip (3 x2^2)", "wrote 3 x2^2 for 9 x2^2"),
    "other_instance": CodeLabel("answer to another instance", "answered another instance"),
    "follow_through": CodeLabel(
        "carried over from an earlier part", "carried a mistake over from an earlier part"
    ),
    "formula_index": CodeLabel("an index the entry does not have", "used an index the entry does not have"),
    "incorrect": CodeLabel("no entry right", "had no entry right"),
    "property": CodeLabel("a property of the answer fails", "broke a property every right answer has"),
    "unstable_softmax": CodeLabel("overflow for large logits", "let exp overflow for large logits"),
    # the code a function answer is, rather than its mathematics
    "syntax_error": CodeLabel("code does not compile", "wrote code that does not compile"),
    "missing_function": CodeLabel("function not defined", "did not define the function"),
    "runtime_error": CodeLabel("code raised an error", "wrote code that raised an error"),
    "timeout": CodeLabel("code ran too long", "wrote code that ran too long"),
    "memory": CodeLabel("code ran out of memory", "wrote code that ran out of memory"),
    "forbidden": CodeLabel("forbidden operation", "did something the sandbox forbids"),
    "too_long": CodeLabel("code too long", "sent code that is too long"),
    "sandbox_unavailable": CodeLabel("not run: sandbox unavailable", "could not be run"),
}

#: codes about the program a function answer is, not about its mathematics
CODE_ERRORS = frozenset(
    {
        "syntax_error",
        "missing_function",
        "runtime_error",
        "timeout",
        "memory",
        "forbidden",
        "too_long",
        "sandbox_unavailable",
    }
)
#: codes that say nothing about the mathematics: the program failed, or the text was unreadable
NOT_MATHEMATICS = CODE_ERRORS | {"parse"}

#: how a kind's answer is named in a sentence ("on dS/dz")
KIND_SYMBOLS: dict[str, str] = {
    "softmax": "softmax(z)",
    "softmax_jacobian": "dS/dz",
    "logits_weight_jacobian": "dz/dvec(W)",
    "layer_jacobian": "dS/dvec(W)",
    "cross_entropy_logits_grad": "dL/dz",
    "cross_entropy_weight_grad": "dL/dW",
    "jacobian_warmup": "the warm-up Jacobian",
}


def label(code: str) -> str:
    """A code in plain words; a code not in the table (the list is open) reads as its words."""
    found = LABELS.get(code)
    return found.label if found else code.replace("_", " ")


def did(code: str) -> str:
    found = LABELS.get(code)
    return found.did if found else f"made the mistake '{label(code)}'"


def is_code_error(code: str) -> bool:
    return code in CODE_ERRORS


def is_mathematics(code: str) -> bool:
    return code not in NOT_MATHEMATICS


def kind_symbol(kind: str) -> str:
    return KIND_SYMBOLS.get(kind, kind.replace("_", " "))


def times(count: int) -> str:
    """1 -> "once", 2 -> "twice", 5 -> "5 times"."""
    return {1: "once", 2: "twice"}.get(count, f"{count} times")
