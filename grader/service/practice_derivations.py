"""Whole derivations chosen for a practice set: the chains, where carried mistakes show.

A preset weighs what its parts' kinds weigh for the student (the mean of
:func:`grader.service.practice.weigh`, misconceptions included), and more for each
time the student carried a mistake along one of its links: a later part graded with
follow-through, right only for their own wrong earlier part. Presets are drawn by
weight, and every derivation says why it was chosen, as the single items do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa
import sqlalchemy.orm as so

from exercises.derivations import PRESETS, Preset, letter, preset, sources
from grader.judge import labels
from grader.service.models import Derivation, Item, Submission

HISTORY_LIMIT = 300  # the most recent graded answers to parts that count
WEIGHT_PER_CARRIED = 1.0  # per time a mistake was carried along one of the preset's links
MAX_CARRIED_WEIGHT = 4.0
CARRIED_SAID = 2  # the reason names at most this many links
#: graded answers after which a set asked for with no options holds a derivation
FEW_ANSWERS = 5
DEFAULT_COUNT = 1
MAX_COUNT = 3
# a chain's later parts are large (dS/dvec(W) is K x nK): smaller sizes than single items'
SIZES_N = (2, 3)
SIZES_K = (2, 4)


@dataclass
class ChainRecord:
    """What a student did with whole derivations, in assignments and practice alike."""

    #: (later kind, earlier kind): times a later part was right only for a wrong earlier one
    carried: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: presets of which the student answered every part of some derivation
    completed: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class PresetChoice:
    preset: str
    n: int
    K: int
    reason: str


def history(session: so.Session, user_id: int) -> ChainRecord:
    record = ChainRecord()
    rows = session.execute(
        sa.select(Item.kind, Submission.verdict)
        .join(Item, Item.id == Submission.item_id)
        .where(
            Submission.user_id == user_id,
            Item.derivation_id.is_not(None),
            Submission.correct.is_not(None),
        )
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
        .limit(HISTORY_LIMIT)
    )
    for kind, verdict in rows:
        carried = (verdict or {}).get("follow_through") or {}
        record.carried.update((kind, earlier) for earlier in carried.get("from", []))
    answered = session.execute(
        sa.select(Derivation.preset, sa.func.count(sa.distinct(Submission.item_id)))
        .join(Item, Item.derivation_id == Derivation.id)
        .join(Submission, Submission.item_id == Item.id)
        .where(Submission.user_id == user_id)
        .group_by(Derivation.id, Derivation.preset)
    )
    record.completed = {
        name for name, parts in answered if name in PRESETS and parts >= len(PRESETS[name].parts)
    }
    return record


def default_count(answers: int, chains: ChainRecord, kinds_chosen: bool) -> int:
    """How many derivations a set holds when the request does not say.

    None while the student has answered fewer than :data:`FEW_ANSWERS` questions: a
    chain asks for four answers on one instance, each built on the last, and a
    newcomer meets the kinds one at a time first. None either when the student chose
    kinds: they asked for those. Otherwise one, at once if they have carried a
    mistake along a chain before; one, not more, so that a set stays quick to do.
    """
    if kinds_chosen:
        return 0
    return DEFAULT_COUNT if answers >= FEW_ANSWERS or chains.carried else 0


def weigh(
    chosen: Preset, kind_weights: Mapping[str, tuple[float, str]], chains: ChainRecord
) -> tuple[float, str]:
    """A preset's weight for this student and the reason in their words; ``kind_weights``
    holds :func:`grader.service.practice.weigh` of each of its parts' kinds."""
    base = float(np.mean([kind_weights[kind][0] for kind in chosen.parts]))
    carried = sorted(
        (
            (-count, chosen.parts.index(later), chosen.parts.index(earlier), later, earlier)
            for (later, earlier), count in chains.carried.items()
            if earlier in sources(chosen, later)
        ),
    )
    times = sum(-found[0] for found in carried)
    weight = base + min(MAX_CARRIED_WEIGHT, WEIGHT_PER_CARRIED * times)
    if carried:
        said = [
            f"your answers to ({letter(later_at)}) {labels.kind_symbol(later)} carried a wrong "
            f"({letter(earlier_at)}) {labels.kind_symbol(earlier)} {labels.times(-count)}"
            for count, later_at, earlier_at, later, earlier in carried[:CARRIED_SAID]
        ]
        return weight, "a chain: " + "; ".join(said)
    if not chains.completed:
        return weight, "new to you: you have not done a whole derivation yet"
    if chosen.name not in chains.completed:
        return weight, f"new to you: you have not done “{chosen.title}” as a whole yet"
    heaviest = max(chosen.parts, key=lambda kind: kind_weights[kind][0])
    return weight, f"a chain through {labels.kind_symbol(heaviest)}: {kind_weights[heaviest][1]}"


def choose(
    names: list[str],
    kind_weights: Mapping[str, tuple[float, str]],
    chains: ChainRecord,
    count: int,
    rng: np.random.Generator,
) -> list[PresetChoice]:
    """``count`` derivations drawn from the presets ``names`` by weight, each with its reason;
    no preset twice while there are others to draw."""
    if count <= 0 or not names:
        return []
    weighed = [weigh(preset(name), kind_weights, chains) for name in names]
    weights = np.array([weight for weight, _ in weighed])
    picks = rng.choice(len(names), size=count, replace=count > len(names), p=weights / weights.sum())
    return [
        PresetChoice(
            preset=names[index],
            n=int(rng.integers(SIZES_N[0], SIZES_N[1] + 1)),
            K=int(rng.integers(SIZES_K[0], SIZES_K[1] + 1)),
            reason=weighed[index][1],
        )
        for index in picks
    ]
