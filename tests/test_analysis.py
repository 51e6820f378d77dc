"""Item analysis on a built class whose answers are known: every figure worked by hand."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from grader.service import analysis
from grader.service.models import Assignment, Submission, utcnow

Z3 = {"kind": "softmax", "z": [1.0, 2.0, 3.0]}
Z4 = {"kind": "softmax", "z": [0.0, 1.0, 2.0, 3.0]}
J3 = {"kind": "softmax_jacobian", "z": [0.5, 0.1, -0.2]}


@pytest.fixture
def klass(build, people):
    """alice, bob, carol, dave; item 1 softmax, item 2 softmax_jacobian, 1 point each.

    item 1: alice wrong (transpose) then right, K = 3; bob right at once, K = 3;
            carol wrong (sign), K = 4; dave nothing.
    item 2: alice right; bob half (partial); carol and dave nothing.
    totals: alice 2, bob 1.5, carol 0, dave 0 -> upper 27% of 4 = alice, lower = carol.
    """
    carol, dave = build.user("carol"), build.user("dave")
    build.enrol(people["course_id"], carol)
    build.enrol(people["course_id"], dave)
    assignment_id, (first, second) = build.assignment(
        people["course_id"], [{"kind": "softmax"}, {"kind": "softmax_jacobian", "K": 3}]
    )
    start = utcnow()
    answers = [
        (people["alice"], first, Z3, 0.0, ["transpose"]),
        (people["alice"], first, Z3, 1.0, []),
        (people["bob"], first, Z3, 1.0, []),
        (carol, first, Z4, 0.0, ["sign"]),
        (people["alice"], second, J3, 1.0, []),
        (people["bob"], second, J3, 0.5, ["partial"]),
        (people["teacher"], second, J3, 0.0, ["sign"]),  # trying it out: not counted
    ]
    with build.sessionmaker.begin() as session:
        for i, (account, item_id, instance, score, codes) in enumerate(answers):
            session.add(Submission(
                item_id=item_id, user_id=account.id, instance=instance, answer="[]", format="json",
                submitted_at=start + timedelta(seconds=i), verdict={"score": score}, score=score,
                correct=score == 1.0, codes=codes,
            ))
    return assignment_id


def analyse(build, assignment_id) -> analysis.Analysis:
    with build.sessionmaker() as session:
        return analysis.analyse(session, session.get(Assignment, assignment_id))


def test_each_items_figures(build, klass):
    result = analyse(build, klass)
    assert (result.enrolled, result.group_size) == (4, 1)
    first, second = result.items
    assert (first.students, first.facility, first.discrimination) == (3, 0.6667, 1.0)
    assert (first.first_try_correct, first.attempts_to_first_correct) == (0.3333, 1.5)
    assert first.codes == {"sign": 0.3333, "transpose": 0.3333}
    assert (second.students, second.facility, second.discrimination) == (2, 0.75, 1.0)
    assert (second.first_try_correct, second.attempts_to_first_correct) == (0.5, 1.0)
    assert second.codes == {"partial": 0.5}


def test_broken_down_by_the_instances_parameters(build, klass):
    first = analyse(build, klass).items[0]
    k3, k4 = first.groups
    assert (k3.K, k3.n, k3.layout, k3.students, k3.facility) == (3, None, "numerator", 2, 1.0)
    assert (k3.first_try_correct, k3.attempts_to_first_correct, k3.codes) == (0.5, 1.5, {"transpose": 0.5})
    assert (k4.K, k4.students, k4.facility, k4.first_try_correct) == (4, 1, 0.0, 0.0)
    assert (k4.attempts_to_first_correct, k4.codes) == (None, {"sign": 1.0})


@pytest.mark.parametrize(
    "instance, expected",
    [
        ({"kind": "softmax", "z": [1, 2]}, (2, None, "numerator")),
        ({"kind": "layer_jacobian", "W": [[1, 2, 3], [4, 5, 6]], "x": [1, 2]}, (3, 2, "numerator")),
        ({"kind": "logits_weight_jacobian", "W": [[1], [2]], "x": [1, 2], "layout": "denominator"},
         (1, 2, "denominator")),
        ({"kind": "jacobian_warmup", "x1": 0.3, "x2": -0.5}, (None, None, "numerator")),
    ],
)
def test_parameters_are_read_from_the_given_values(instance, expected):
    assert analysis.parameters(instance) == expected


def test_the_csv_has_a_row_per_item_and_per_group(build, klass):
    rows = list(csv.DictReader(io.StringIO(analysis.to_csv(analyse(build, klass)))))
    assert [(r["position"], r["K"]) for r in rows] == [("1", ""), ("1", "3"), ("1", "4"), ("2", ""),
                                                       ("2", "3")]
    assert rows[0]["facility"] == "0.6667" and rows[0]["discrimination"] == "1.0"
    assert rows[0]["codes"] == "sign:0.3333;transpose:0.3333"


def test_an_assignment_nobody_answered(build, people):
    assignment_id, _ = build.assignment(people["course_id"], [{"kind": "softmax"}], title="Empty")
    (item,) = analyse(build, assignment_id).items
    assert (item.students, item.facility, item.discrimination, item.groups) == (0, None, 0.0, [])


def test_the_api_gives_json_and_csv_to_instructors_only(client, people, klass):
    teacher, alice = people["teacher"].headers, people["alice"].headers
    body = client.get(f"/api/v1/assignments/{klass}/analysis", headers=teacher).get_json()
    assert body["group_size"] == 1 and body["items"][0]["facility"] == 0.6667
    assert [g["K"] for g in body["items"][0]["groups"]] == [3, 4]
    response = client.get(f"/api/v1/assignments/{klass}/analysis.csv", headers=teacher)
    assert response.mimetype == "text/csv" and response.get_data(as_text=True).startswith("item,")
    assert client.get(f"/api/v1/assignments/{klass}/analysis", headers=alice).status_code == 403
    assert client.get("/api/v1/assignments/4242/analysis", headers=teacher).status_code == 404
