"""What is asked: the catalog of exercise kinds.

``KINDS`` maps a kind's name to its :class:`~exercises.base.Exercise`. Adding a
kind is adding a module that lists its exercises in ``EXERCISES`` and naming that
module below; the grader, the API and the pages follow the kind's own
declarations (its inputs, its mistakes and their messages) and need no change.
:func:`registered` adds a kind for a block only, as tests of a new kind do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from exercises import cross_entropy, layer, softmax, warmup
from exercises.base import (
    DrawOptions,
    Exercise,
    Input,
    Instance,
    InstanceError,
    Misconception,
    Property,
    Statement,
)

CATALOG_VERSION = "1"
RESERVED_FIELDS = ("kind", "layout")  # an instance's own fields, never a given value's name

KINDS: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    """Add ``exercise`` to the catalog, after checking its declarations.

    Raises :class:`ValueError` for a name already taken or declarations that do
    not hold together (a repeated or reserved input name, a class index whose
    size no vector or matrix gives).
    """
    if exercise.name in KINDS:
        raise ValueError(f"the kind {exercise.name!r} is already in the catalog")
    names = exercise.given
    if len(set(names)) != len(names) or set(names) & set(RESERVED_FIELDS):
        raise ValueError(f"{exercise.name}: input names must be distinct and not {RESERVED_FIELDS}")
    sized = {symbol for given in exercise.inputs if given.is_array for symbol in given.size}
    for given in exercise.inputs:
        if given.type == "class_index" and given.size[0] not in sized:
            raise ValueError(
                f"{exercise.name}: the class index {given.name!r} counts {given.size[0]} classes, "
                "which no vector or matrix of the kind gives"
            )
    KINDS[exercise.name] = exercise
    return exercise


@contextmanager
def registered(exercise: Exercise) -> Iterator[Exercise]:
    """``exercise`` in the catalog for the block only, then gone again."""
    register(exercise)
    try:
        yield exercise
    finally:
        del KINDS[exercise.name]


def _register_modules() -> None:
    for module in (softmax, layer, cross_entropy, warmup):
        for exercise in module.EXERCISES:
            register(exercise)


_register_modules()


def get(kind: str) -> Exercise:
    """The exercise kind named ``kind``; an unknown name is an :class:`InstanceError`."""
    try:
        return KINDS[kind]
    except (KeyError, TypeError):
        known = ", ".join(KINDS)
        raise InstanceError(f"unknown kind {kind!r}: the kinds are {known}") from None


def validate(instance: object) -> tuple[Exercise, Instance]:
    """The kind of an instance and the instance normalised, or an :class:`InstanceError`."""
    if not isinstance(instance, dict):
        raise InstanceError("the instance must be a JSON object with a 'kind'")
    exercise = get(instance.get("kind"))  # type: ignore[arg-type]
    return exercise, exercise.validate(instance)


__all__ = [
    "CATALOG_VERSION",
    "KINDS",
    "DrawOptions",
    "Exercise",
    "Input",
    "Instance",
    "InstanceError",
    "Misconception",
    "Property",
    "Statement",
    "get",
    "register",
    "registered",
    "validate",
]
