"""What is asked: the catalog of exercise kinds.

``KINDS`` maps a kind's name to its :class:`~exercises.base.Exercise`; adding a
kind is adding a module that lists its exercises in ``EXERCISES`` and naming
that module below.
"""

from __future__ import annotations

from exercises import cross_entropy, layer, softmax, warmup
from exercises.base import DrawOptions, Exercise, Instance, InstanceError, Property, Statement

CATALOG_VERSION = "1"

KINDS: dict[str, Exercise] = {
    exercise.name: exercise
    for module in (softmax, layer, cross_entropy, warmup)
    for exercise in module.EXERCISES
}


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
    "Instance",
    "InstanceError",
    "Property",
    "Statement",
    "get",
    "validate",
]
