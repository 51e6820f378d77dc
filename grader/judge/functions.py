"""Grading a function answer: run it in the sandbox on a suite of hidden instances.

The suite (the given instance first, random ones, then edge cases) and every
expected answer stay in this process; the sandbox gets only the arguments and
returns plain float64 arrays. A function answer always returns the numerator
layout, whatever layout an instance asks a typed answer for.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from exercises import CATALOG_VERSION, Exercise, Instance
from grader import __version__
from grader.judge.compare import FUNCTION, Array, agrees
from grader.judge.diagnose import judge_array
from grader.judge.verdict import Feedback, Verdict
from grader.sandbox import CallOutcome, SandboxPool, SandboxResult, SandboxUnavailable, default_pool
from grader.sandbox.limits import MAX_SOURCE_CHARS

LARGE_LOGIT = 500.0  # beyond this, exp(z) over- or underflows unless the maximum is subtracted
MAX_RECEIVED_SHOWN = 4096  # entries of a received array copied into the verdict

UNSTABLE_MESSAGE = (
    "Your function is right for moderate logits but returns NaN or infinity for large ones "
    "(such as z = [1000, 1001, 1002]): exp(1000) overflows to infinity, and exp(-1000) underflows "
    "to 0, so the ratio becomes inf/inf or 0/0. Subtract the largest logit first: with "
    "m = max(z), softmax(z) = exp(z - m) / sum(exp(z - m)) is the same ratio (the factor exp(-m) "
    "cancels), and every exponent is then at most 0."
)

STOP_CODES = {
    "timeout": "timeout",
    "memory": "memory",
    "forbidden": "forbidden",
    "crashed": "runtime_error",
    "exited": "runtime_error",
    "output_limit": "runtime_error",
    "garbled": "runtime_error",
    "sandbox_error": "sandbox_unavailable",
}


@dataclass(frozen=True)
class Case:
    """One hidden instance, in numerator layout, with its expected answer (never sent out)."""

    instance: Instance
    expected: Array
    given: bool = False
    logits: Array | None = None  # what the instance feeds to softmax, if the kind says

    @property
    def large_logits(self) -> bool:
        return self.logits is not None and bool(np.abs(self.logits).max() >= LARGE_LOGIT)


def grade_function(
    exercise: Exercise,
    source: str,
    given: Instance | None,
    *,
    seed: int | None = None,
    pool: SandboxPool | None = None,
) -> Verdict:
    """Run ``source``'s function on the kind's hidden suite and grade every result."""
    started = time.perf_counter()
    seed = secrets.randbits(32) if seed is None else seed
    instances = suite_instances(exercise, given, seed)
    verdict = Verdict(
        correct=False,
        score=0.0,
        kind=exercise.name,
        format="python",
        instance=dict(given) if given is not None else {"kind": exercise.name},
        tolerance=FUNCTION.as_dict(),
        catalog_version=CATALOG_VERSION,
        grader_version=__version__,
        instances_passed=0,
        instances_total=len(instances),
        suite_seed=seed,
    )
    if len(source) > MAX_SOURCE_CHARS:
        message = f"Your code is longer than {MAX_SOURCE_CHARS} characters; it was not run."
        return _finish(verdict, [Feedback(code="too_long", message=message)], started)
    calls = [[_plain(v) for v in exercise.arguments(instance).values()] for instance in instances]
    sent = time.perf_counter()
    try:
        with (pool or default_pool()).started(source, exercise.name, calls) as pending:
            # the expected answers are computed here, while the child runs elsewhere
            cases = expected_cases(exercise, instances, given is not None)
            result = pending.result()
    except SandboxUnavailable as error:
        message = f"The sandbox is unavailable: {error}. Your code was not run."
        return _finish(verdict, [Feedback(code="sandbox_unavailable", message=message)], started)
    ran = time.perf_counter()
    verdict.timings_ms = {
        "prepare": _ms(sent - started),
        "sandbox": _ms(ran - sent),
        "sandbox_child": round(result.elapsed_ms, 3),
        "cpu": round(result.cpu_ms, 3),
    }
    if result.setup != "ok":
        return _finish(verdict, _setup_feedback(exercise, result), started)
    return _finish(verdict, _judge_suite(exercise, cases, result, verdict), started)


def build_cases(exercise: Exercise, given: Instance | None, seed: int) -> list[Case]:
    """The hidden suite with expected answers, every instance in numerator layout."""
    return expected_cases(exercise, suite_instances(exercise, given, seed), given is not None)


def suite_instances(exercise: Exercise, given: Instance | None, seed: int) -> list[Instance]:
    """The hidden suite, every instance in numerator layout (what a function returns)."""
    return [
        {**instance, "layout": "numerator"} if "layout" in instance else instance
        for instance in exercise.suite(seed, given)
    ]


def expected_cases(exercise: Exercise, instances: list[Instance], given_first: bool) -> list[Case]:
    return [
        Case(
            instance,
            exercise.reference(instance),
            given=given_first and index == 0,
            logits=exercise.logits(instance),
        )
        for index, instance in enumerate(instances)
    ]


def _judge_suite(
    exercise: Exercise, cases: list[Case], result: SandboxResult, verdict: Verdict
) -> list[Feedback]:
    passed = [
        i < len(result.calls)
        and result.calls[i].ok
        and agrees(case.expected, result.calls[i].value, FUNCTION)  # type: ignore[arg-type]
        for i, case in enumerate(cases)
    ]
    verdict.instances_passed = sum(passed)
    verdict.score = sum(passed) / len(cases)
    feedback: list[Feedback] = []
    if result.stop is not None:
        feedback.append(_stop_feedback(result, len(result.calls), len(cases)))
        if result.stop == "forbidden":  # no credit for an attempt to break out
            verdict.score = 0.0
            return feedback
    if all(passed):
        verdict.correct, verdict.score = True, 1.0
        return feedback
    first = passed.index(False)
    case = cases[first]
    outcome = result.calls[first] if first < len(result.calls) else None
    verdict.failed_instance = _failed_instance(first, case, outcome)
    if outcome is None:
        return feedback  # the stop above says why it never returned
    if not outcome.ok:
        feedback.append(_call_feedback(exercise, first, case, outcome))
        return feedback
    if _unstable(cases, result.calls, passed):
        feedback.append(Feedback(code="unstable_softmax", message=UNSTABLE_MESSAGE))
        return feedback
    if outcome.value is not None and outcome.value.ndim == 0 and case.expected.ndim > 0:
        number = f"{float(outcome.value):.6g}"
        verdict.expected_shape, verdict.received_shape = list(case.expected.shape), []
        where, due = _where(exercise, first, case), _due(case)
        message = f"{where}: your function returned a single number ({number}); {due} is due."
        feedback.append(Feedback(code="shape", message=message))
        return feedback
    judged = judge_array(exercise, case.instance, outcome.value, FUNCTION, expected=case.expected)  # type: ignore[arg-type]
    verdict.expected_shape = judged.expected_shape
    verdict.received_shape = judged.received_shape
    verdict.wrong_entries = judged.wrong_entries
    verdict.wrong_count = judged.wrong_count
    verdict.total_count = judged.total_count
    where = f"{_where(exercise, first, case)}: "
    feedback.extend(Feedback(code=f.code, message=where + f.message) for f in judged.feedback)
    if not judged.feedback:
        feedback.append(
            Feedback(code="partial", message=where + "your result differs from the expected one.")
        )
    return feedback


def _unstable(cases: list[Case], calls: list[CallOutcome], passed: list[bool]) -> bool:
    """Right wherever the logits are moderate, NaN, infinite or failing where they are large."""
    failed = [i for i, ok in enumerate(passed) if not ok]
    if not failed or not all(cases[i].large_logits for i in failed):
        return False
    if not any(ok and not cases[i].large_logits for i, ok in enumerate(passed)):
        return False
    return any(
        i < len(calls) and (not calls[i].ok or not np.all(np.isfinite(calls[i].value)))  # type: ignore[arg-type]
        for i in failed
    )


def _setup_feedback(exercise: Exercise, result: SandboxResult) -> list[Feedback]:
    if result.setup == "syntax_error":
        message = f"Your code does not compile: {result.setup_message}"
        return [Feedback(code="syntax_error", message=message)]
    if result.setup == "missing_function":
        found = ", ".join(result.defined) or "none"
        message = (
            f"Your code does not define the function {exercise.signature}; "
            f"functions defined: {found}."
        )
        return [Feedback(code="missing_function", message=message)]
    if result.setup == "runtime_error":
        message = f"Your code raised an error before the function was called:\n{result.setup_message}"
        return [Feedback(code="runtime_error", message=message)]
    if result.setup == "memory":
        message = "Your code ran out of memory before the function was called."
        return [Feedback(code="memory", message=message)]
    if result.stop is not None:
        return [_stop_feedback(result, 0, 0)]
    return [Feedback(code="runtime_error", message="Your code did not run to the function.")]


def _stop_feedback(result: SandboxResult, returned: int, total: int) -> Feedback:
    code = STOP_CODES.get(result.stop or "", "runtime_error")
    message = result.stop_message[:1].upper() + result.stop_message[1:]
    if code == "forbidden":
        message += (
            " (starting programs, opening sockets, signalling other processes and changing limits "
            "are not allowed); the score is 0"
        )
    if code == "sandbox_unavailable":
        message = f"The sandbox is unavailable: {result.stop_message}. Please submit again."
    elif total:
        message += f"; it returned results for {returned} of {total} instances"
    return Feedback(code=code, message=message + ".")


def _call_feedback(exercise: Exercise, index: int, case: Case, outcome: CallOutcome) -> Feedback:
    where = _where(exercise, index, case)
    if outcome.status == "memory":
        return Feedback(code="memory", message=f"{where} your function ran out of memory.")
    if outcome.status == "not_array":
        return Feedback(code="shape", message=f"{where} {outcome.message}; {_due(case)} is due.")
    message = f"{where} your function raised an error:\n{outcome.message}"
    return Feedback(code="runtime_error", message=message)


def _failed_instance(index: int, case: Case, outcome: CallOutcome | None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "index": index,
        "given": case.given,
        "instance": case.instance,
        "expected": case.expected.tolist(),
        "received": None,
    }
    if outcome is not None and outcome.value is not None:
        value = outcome.value
        shown["received_shape"] = list(value.shape)
        if value.size <= MAX_RECEIVED_SHOWN:
            shown["received"] = _shown(value)
    if outcome is not None and outcome.message:
        shown["error"] = outcome.message
    return shown


def _due(case: Case) -> str:
    """What the function should have returned, in words: "a 3 x 3 matrix"."""
    shape = case.expected.shape
    if len(shape) == 2:
        return f"a {shape[0]} x {shape[1]} matrix"
    if len(shape) == 1:
        return f"a vector of {shape[0]}"
    return "a single number"


def _shown(value: Array) -> Any:
    """An array as JSON can carry it: NaN and infinities written out ("NaN", "inf", "-inf"),
    since JSON has no such numbers and would store them as null."""
    if np.all(np.isfinite(value)):
        return value.tolist()
    shown = value.astype(object)
    shown[np.isnan(value)] = "NaN"
    shown[np.isposinf(value)] = "inf"
    shown[np.isneginf(value)] = "-inf"
    return shown.tolist()


def _where(exercise: Exercise, index: int, case: Case) -> str:
    if case.given:
        return f"On the instance given ({exercise.describe(case.instance)})"
    return f"On hidden instance {index + 1} ({exercise.describe(case.instance)})"


def _plain(value: Any) -> Any:
    """A value as JSON carries it: arrays as nested lists (floats round-trip exactly)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _finish(verdict: Verdict, feedback: list[Feedback], started: float) -> Verdict:
    verdict.feedback = feedback
    verdict.timings_ms["total"] = _ms(time.perf_counter() - started)
    return verdict


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
