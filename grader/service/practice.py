"""Practice sets chosen for a student: more of what they get wrong, less of what they master.

Each kind gets a weight from the student's graded submissions (assignments and
practice alike): a kind never tried weighs 1; a kind answered wrongly weighs more
with its recent error rate; the misconceptions the student showed anywhere add
weight to every kind that practises them (the catalog's own wrong answers say
which); a kind whose last few answers were all right weighs little. Kinds are
drawn by weight, and every item says why it was chosen. A set may hold whole
derivations too, chosen alike (see :mod:`grader.service.practice_derivations`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import sqlalchemy as sa
import sqlalchemy.orm as so

import exercises
from exercises.derivations import PRESETS, preset
from grader.judge import labels
from grader.service import derivations, extensions, gradebook, practice_derivations, submissions, variants
from grader.service.models import Item, PracticeSet, Submission, Variant

HISTORY_LIMIT = 300  # the most recent graded submissions that count
RECENT = 5  # answers per kind that decide "mastered" and the error rate
WEIGHT_NEW = 1.0
WEIGHT_ERROR = 4.0  # times the recent error rate
WEIGHT_PER_CODE = 0.5  # per time a misconception the kind practises was shown
MAX_CODE_WEIGHT = 3.0
WEIGHT_MASTERED = 0.2
SIZES_N = (2, 4)
SIZES_K = (2, 5)
#: codes every kind with a matrix answer can show
MATRIX_CODES = frozenset({"transpose"})
GENERIC_CODES = frozenset({"sign", "scale", "partial"})
MISTAKES_SAID = 2  # the reason names at most this many mistakes


@dataclass
class KindRecord:
    """A student's graded answers to one kind, newest first."""

    recent: list[bool] = field(default_factory=list)
    attempts: int = 0
    codes: Counter[str] = field(default_factory=Counter)

    @property
    def mastered(self) -> bool:
        return len(self.recent) >= 3 and all(self.recent[:3])

    @property
    def error_rate(self) -> float:
        window = self.recent[:RECENT]
        return (len(window) - sum(window)) / len(window) if window else 0.0


@dataclass(frozen=True)
class Choice:
    kind: str
    layout: str
    n: int
    K: int
    reason: str


def history(session: so.Session, user_id: int) -> dict[str, KindRecord]:
    rows = session.execute(
        sa.select(Item.kind, Submission.correct, Submission.codes)
        .join(Item, Item.id == Submission.item_id)
        .where(Submission.user_id == user_id, Submission.correct.is_not(None))
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
        .limit(HISTORY_LIMIT)
    )
    records: dict[str, KindRecord] = {}
    for kind, correct, codes in rows:
        record = records.setdefault(kind, KindRecord())
        record.attempts += 1
        if len(record.recent) < RECENT:
            record.recent.append(bool(correct))
        record.codes.update(codes or [])
    return records


@cache
def practised_codes(kind: str) -> frozenset[str]:
    """The misconception codes an answer to ``kind`` can show."""
    exercise = exercises.get(kind)
    instance = exercise.draw(0)
    codes = set(exercise.mistakes(instance))
    if np.ndim(exercise.reference(instance)) == 2:
        codes |= MATRIX_CODES
    return frozenset(codes)


def weigh(kind: str, records: dict[str, KindRecord]) -> tuple[float, str]:
    """A kind's weight for this student and the reason in their words."""
    related: Counter[str] = Counter()
    for record in records.values():
        related.update(
            {
                code: count
                for code, count in record.codes.items()
                if code in practised_codes(kind) and code not in GENERIC_CODES
            }
        )
    code_weight = min(MAX_CODE_WEIGHT, WEIGHT_PER_CODE * sum(related.values()))
    code_reason = _mistakes_reason(kind, records, set(related))
    symbol = labels.kind_symbol(kind)

    record = records.get(kind)
    if record is None:
        return WEIGHT_NEW + code_weight, f"new to you: you have not answered {symbol} yet" + code_reason
    if record.mastered and not related:
        return WEIGHT_MASTERED, f"a refresher: your last answers to {symbol} were right"
    window = record.recent[:RECENT]
    wrong = len(window) - sum(window)
    weight = WEIGHT_NEW + WEIGHT_ERROR * record.error_rate + code_weight
    if not wrong:
        reason = f"more practice with {symbol}"
    elif len(window) == 1:
        reason = f"your answer to {symbol} was not right yet"
    elif wrong == len(window):
        reason = f"your last {wrong} answers to {symbol} were not right yet"
    else:
        verb = "was" if wrong == 1 else "were"
        reason = f"{wrong} of your last {len(window)} answers to {symbol} {verb} not right"
    return weight, reason + code_reason


def _mistakes_reason(kind: str, records: dict[str, KindRecord], codes: set[str]) -> str:
    """The student's mistakes that ``kind`` practises, each said where it was made:
    "you swapped rows and columns twice on dS/dz"."""
    made = [
        (count, code, other)
        for other, record in records.items()
        for code, count in record.codes.items()
        if code in codes
    ]
    # this kind's own mistakes first, then the most frequent
    made.sort(key=lambda found: (found[2] != kind, -found[0], found[1], found[2]))
    said = [
        f"you {labels.did(code)} {labels.times(count)} on {labels.kind_symbol(other)}"
        for count, code, other in made[:MISTAKES_SAID]
    ]
    return "; " + "; ".join(said) if said else ""


def choose(
    records: dict[str, KindRecord], kinds: list[str], count: int, rng: np.random.Generator
) -> list[Choice]:
    """``count`` items drawn from ``kinds`` by weight, each with its reason."""
    weighed = [weigh(kind, records) for kind in kinds]
    weights = np.array([weight for weight, _ in weighed])
    picks = rng.choice(len(kinds), size=count, p=weights / weights.sum())
    choices = []
    for index in picks:
        kind = kinds[index]
        exercise = exercises.get(kind)
        reason = weighed[index][1]
        layout = exercise.layouts[0]
        record = records.get(kind)
        if len(exercise.layouts) > 1 and (record is None or record.codes["transpose"] or rng.random() < 0.5):
            layout = str(rng.choice(exercise.layouts))
        choices.append(
            Choice(
                kind=kind,
                layout=layout,
                n=int(rng.integers(SIZES_N[0], SIZES_N[1] + 1)),
                K=int(rng.integers(SIZES_K[0], SIZES_K[1] + 1)),
                reason=reason,
            )
        )
    return choices


def create_set(
    session: so.Session,
    user_id: int,
    kinds: list[str] | None,
    count: int,
    seed: int | None = None,
    *,
    derivation_count: int | None = None,
    presets: list[str] | None = None,
) -> PracticeSet:
    """A new practice set for the student, its instances drawn and stored; the caller commits.

    ``count`` single items of ``kinds`` (all when None), and ``derivation_count`` whole
    derivations of ``presets`` (all when None); when ``derivation_count`` is None, one
    of each of ``presets`` if given, else
    :func:`grader.service.practice_derivations.default_count`. Unknown kinds and presets
    are an :class:`exercises.InstanceError`.
    """
    names = list(dict.fromkeys(kinds)) if kinds else list(exercises.KINDS)
    for name in names:
        exercises.get(name)
    preset_names = list(dict.fromkeys(presets)) if presets else list(PRESETS)
    for name in preset_names:
        preset(name)
    set_seed = variants.fresh_seed() if seed is None else seed
    rng = np.random.default_rng(set_seed)
    records = history(session, user_id)
    choices = choose(records, names, count, rng)
    practice_set = PracticeSet(user_id=user_id, seed=set_seed)
    practice_set.items = [
        Item(
            position=position,
            kind=choice.kind,
            n=choice.n,
            K=choice.K,
            layout=choice.layout,
            points=1.0,
            reason=choice.reason,
        )
        for position, choice in enumerate(choices)
    ]
    session.add(practice_set)
    session.flush()
    session.add_all(variants.first_practice_draw(item, user_id) for item in practice_set.items)
    session.flush()
    _add_derivations(session, practice_set, records, preset_names, derivation_count,
                     kinds_chosen=bool(kinds), asked_presets=bool(presets), rng=rng)
    return practice_set


def _add_derivations(
    session: so.Session,
    practice_set: PracticeSet,
    records: dict[str, KindRecord],
    names: list[str],
    count: int | None,
    *,
    kinds_chosen: bool,
    asked_presets: bool,
    rng: np.random.Generator,
) -> None:
    chains = practice_derivations.history(session, practice_set.user_id)
    if count is None and asked_presets:
        count = len(names)
    elif count is None:
        answers = sum(record.attempts for record in records.values())
        count = practice_derivations.default_count(answers, chains, kinds_chosen)
    kinds = {kind for name in names for kind in preset(name).parts}
    kind_weights = {kind: weigh(kind, records) for kind in kinds}
    for choice in practice_derivations.choose(names, kind_weights, chains, count, rng):
        derivations.create_for_practice(
            session, practice_set, choice.preset, n=choice.n, K=choice.K, reason=choice.reason
        )


class StaleVersion(ValueError):
    """Another version was asked from a page (or a call) that showed one that is gone already:
    a second click, another tab. A student who asked once gets one new version."""

    def __init__(self, replacing: int, current: int) -> None:
        super().__init__(
            f"version {replacing} is no longer the current one ({current} is): nothing was drawn"
        )


def another_version(session: so.Session, item: Item, replacing: int | None = None) -> Variant:
    """A fresh instance of a practice item for the set's student, drawn from the set's seed
    and never the current one again; a part of a derivation takes every part along to one new
    shared instance (flushed; the caller commits). Their earlier answers stay as they were,
    each with the instance it answered.

    ``replacing``: the version the asker was shown; :class:`StaleVersion` when it is no longer
    the current one. Raises ``ValueError`` for an item of no practice set: an assignment's
    items are re-drawn by its instructors only (:func:`grader.service.variants.redraw`).
    """
    if item.practice_set is None:
        raise ValueError(f"item {item.id} is not a practice item")
    user_id = item.practice_set.user_id
    # a submission to the current version that checked its draw is stored before this one
    # moves, and two askers at once are checked one after the other
    submissions.lock_user(session, user_id)
    current = variants.find(session, item, user_id)
    if replacing is not None and current is not None and replacing != current.draw_number:
        raise StaleVersion(replacing, current.draw_number)
    return variants.redraw(session, item, user_id)


def standing(session: so.Session, items: list[Item], user_id: int) -> dict[int, gradebook.Cell]:
    """The student's attempts and best graded score on practice ``items``, which no gradebook
    holds (so no policy, lateness nor points of a course apply).

    Asking for another version (:func:`another_version`) neither loses nor inflates it. The
    best score is over every version: a right answer stays earned when the numbers change,
    as PrairieLearn keeps a homework question's points across its variants. The attempts
    count over every version too: a new version is no attempt and resets none, so a right
    answer after several wrong ones never shows as right at the first try. And nothing is
    bought twice: a later part of a derivation earns follow-through only from answers to its
    own version (see :func:`grader.service.derivations.earlier_record`), and the page of a
    re-drawn question shows the verdicts of its current version only.
    """
    table = {item.id: gradebook.Cell(item.id) for item in items}
    if not table:
        return table
    rows = session.execute(
        sa.select(Submission.item_id, Submission.score).where(
            Submission.user_id == user_id, Submission.item_id.in_(table), extensions.IS_ATTEMPT,
        )
    )
    for item_id, score in rows:
        cell = table[item_id]
        cell.attempts += 1
        if score is not None and (cell.score is None or score > cell.score):
            cell.score = cell.best_score = score
    return table
