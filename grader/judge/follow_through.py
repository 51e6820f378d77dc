"""Follow-through: a later part that is wrong, but right for the student's own earlier part.

The mistake was made once, upstream, and is not charged twice: such an answer
earns a share of the credit and a message that points upstream. An earlier
answer that is no real attempt (unreadable, the wrong shape, not finite, all
zeros, a constant) buys nothing, and neither does a later answer that is no
real attempt itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

import exercises
from exercises import Exercise, Instance
from exercises.chains import CHAINS, SYMBOLS, truth
from grader.judge.answers import ParseError, read_answer
from grader.judge.answers.detect import detect_format
from grader.judge.compare import TYPED, Array, agrees
from grader.judge.formulas.grading import formula_answer
from grader.judge.verdict import Feedback, Verdict

SHARE_DEFAULT = 0.75  # of a part's credit, for a part right for the student's own wrong earlier part
EARLIER_FORMATS = ("json", "text", "formula")


@dataclass(frozen=True)
class EarlierAnswer:
    """A student's own answer to an earlier part of the same instance, as typed."""

    kind: str
    answer: str
    format: str = "auto"


def read_earlier(earlier: EarlierAnswer, instance: Instance) -> Array | None:
    """The earlier answer in numerator layout, or None when it is no real attempt."""
    fmt = detect_format(earlier.answer) if earlier.format == "auto" else earlier.format
    if fmt not in EARLIER_FORMATS:
        return None
    if fmt == "formula":  # evaluated on the shared instance, as that part is asked
        numerator = {**instance, "layout": "numerator"}
        return formula_answer(exercises.get(earlier.kind), earlier.answer, numerator)
    try:
        array = read_answer(earlier.answer, fmt).array  # type: ignore[arg-type]
    except ParseError:
        return None
    if instance.get("layout") == "denominator" and "denominator" in exercises.get(earlier.kind).layouts:
        array = array.T
    return array


def real_attempt(answer: Array, shape: tuple[int, ...]) -> bool:
    """Whether an answer is a real attempt at an array of ``shape`` (a vector as a row or a column)."""
    as_vector = len(shape) == 1 and answer.size == shape[0] and max(answer.shape, default=1) == answer.size
    if answer.shape != shape and not as_vector:
        return False
    if not np.all(np.isfinite(answer)) or not np.any(answer):
        return False
    return answer.size == 1 or bool(np.ptp(answer) > 0)


def follow_through(
    verdict: Verdict,
    exercise: Exercise,
    instance: Instance,
    received: Array,
    earlier: Mapping[str, Array | None],
    share: float = SHARE_DEFAULT,
) -> Verdict:
    """The verdict, with follow-through credit where ``received`` is right for the earlier parts.

    ``received`` is the later answer as read, in the instance's layout; ``earlier``
    maps a part's kind to the student's own answer (numerator layout), None if unreadable.
    """
    chain = CHAINS.get(exercise.name)
    if verdict.correct or chain is None:
        return verdict
    parts: dict[str, Array] = {}
    theirs: list[str] = []
    for kind in chain.sources:
        right = truth(kind, instance)
        own = earlier.get(kind)
        if own is not None and real_attempt(own, right.shape):
            own = own.reshape(right.shape)
            if not agrees(right, own, TYPED):
                parts[kind] = own
                theirs.append(kind)
                continue
        parts[kind] = right
    if not theirs:
        return verdict
    implied = chain.build(instance, parts)
    later = np.asarray(received, dtype=np.float64)
    if instance.get("layout") == "denominator":
        later = later.T
    if not real_attempt(later, implied.shape):
        return verdict
    if not agrees(implied, later.reshape(implied.shape), TYPED):
        return verdict
    return verdict.model_copy(
        update={
            "score": min(max(share, 0.0), 0.99),  # the share, whatever fraction of entries happen to agree
            "feedback": [Feedback(code="follow_through", message=_message(exercise.name, theirs, share))],
            "follow_through": {"from": theirs, "share": share},
        }
    )


def _message(later: str, theirs: list[str], share: float) -> str:
    earlier = " and ".join(f"your {SYMBOLS[kind]}" for kind in theirs)
    parts = "part" if len(theirs) == 1 else "parts"
    return (
        f"Your {SYMBOLS[later]} is right for {earlier} from the earlier {parts}, which "
        f"{'is' if len(theirs) == 1 else 'are'} wrong: fix {earlier.replace('your ', '')} first. "
        f"This step follows correctly from it, so it earns {share:.0%} of its credit."
    )
