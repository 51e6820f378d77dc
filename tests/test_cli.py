"""`grader check` as shared/contract.md fixes it: verdicts, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import exercises
from grader.cli import main
from tests import articles


@pytest.fixture()
def layer_instance_file(tmp_path: Path) -> Path:
    path = tmp_path / "instance.json"
    path.write_text(json.dumps(articles.layer_instance("layer_jacobian")))
    return path


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def check(capsys: pytest.CaptureFixture[str], instance: Path, answer: Path, fmt: str, *options: str):
    """``grader check`` on two files: exit code, standard output, standard error."""
    return run(
        capsys, "check", "--instance", str(instance), "--answer", str(answer), "--format", fmt, *options
    )


def test_article_print_is_correct_as_json(tmp_path: Path, layer_instance_file: Path, capsys) -> None:
    answer = write(tmp_path, "answer.txt", articles.LAYER_DL_PRINT)
    code, out, err = check(capsys, layer_instance_file, answer, "text", "--json")
    assert code == 0 and err == ""
    verdict = json.loads(out)
    assert verdict["correct"] is True and verdict["score"] == 1.0
    assert verdict["feedback"] == []
    assert verdict["read_as"].startswith("read as a 5 x 15 matrix")
    assert verdict["kind"] == "layer_jacobian"
    assert verdict["catalog_version"] == exercises.CATALOG_VERSION
    assert verdict["tolerance"]["name"] == "typed"
    assert len(out.strip().splitlines()) == 1


def test_transposed_answer_is_named_for_a_person(tmp_path: Path, layer_instance_file: Path, capsys) -> None:
    transposed = exercises.get("layer_jacobian").reference(articles.layer_instance("layer_jacobian")).T
    answer = write(tmp_path, "answer.json", json.dumps(transposed.tolist()))
    code, out, _ = check(capsys, layer_instance_file, answer, "json")
    assert code == 0
    assert out.startswith("not correct: score 0.00")
    assert "- rows and columns swapped [transpose]: " in out


def test_unreadable_answer_is_a_parse_verdict(tmp_path: Path, layer_instance_file: Path, capsys) -> None:
    answer = write(tmp_path, "answer.txt", "[[1, 2], [3, oops]]")
    code, out, _ = check(capsys, layer_instance_file, answer, "text", "--json")
    verdict = json.loads(out)
    assert code == 0
    assert verdict["correct"] is False and verdict["feedback"][0]["code"] == "parse"
    assert "line 1" in verdict["feedback"][0]["message"]


@pytest.mark.parametrize(
    ("instance_text", "message"),
    [
        ('{"kind": "softmax", "z": [1, 2', "not valid JSON"),
        ('{"kind": "nope"}', "unknown kind"),
        ('{"kind": "layer_jacobian", "W": [[1, 2]], "x": [1, 2]}', "must agree"),
        ('{"kind": "cross_entropy_logits_grad", "z": [1, 2], "c": 5}', "out of range"),
        ('{"kind": "softmax", "z": [NaN]}', "NaN"),
    ],
)
def test_unusable_instance_exits_2_with_one_line(
    tmp_path: Path, capsys, instance_text: str, message: str
) -> None:
    instance = write(tmp_path, "instance.json", instance_text)
    answer = write(tmp_path, "answer.txt", "[1]")
    code, out, err = check(capsys, instance, answer, "text")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err


def test_missing_and_binary_files_exit_2(tmp_path: Path, layer_instance_file: Path, capsys) -> None:
    code, _, err = check(capsys, tmp_path / "no.json", layer_instance_file, "json")
    assert code == 2 and "does not exist" in err
    binary = tmp_path / "answer.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    code, _, err = check(capsys, layer_instance_file, binary, "json")
    assert code == 2 and "not UTF-8" in err


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    instance = write(tmp_path, "instance.json", json.dumps({"kind": "softmax", "z": articles.STEP_Z}))
    answer = write(tmp_path, "answer.txt", "0.0900 0.2447 0.6652")
    grader = Path(sys.executable).with_name("grader")
    done = subprocess.run(
        [
            str(grader),
            "check",
            "--instance",
            str(instance),
            "--answer",
            str(answer),
            "--format",
            "text",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["correct"] is True
    bad = subprocess.run(
        [str(grader), "check", "--format", "xml"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_every_kind_accepts_its_reference_through_the_cli(tmp_path: Path, capsys) -> None:
    for kind, exercise in exercises.KINDS.items():
        instance = exercise.draw(11)
        instance_file = write(tmp_path, f"{kind}.json", json.dumps(instance))
        answer = write(tmp_path, f"{kind}.txt", np.array2string(exercise.reference(instance), precision=8))
        code, out, _ = check(capsys, instance_file, answer, "text", "--json")
        assert code == 0 and json.loads(out)["correct"] is True, (kind, out)


def test_a_failing_function_shows_its_first_failing_instance(tmp_path: Path, capsys) -> None:
    instance = write(tmp_path, "instance.json", json.dumps({"kind": "softmax", "z": [1.0, 2.0, 3.0]}))
    answer = write(tmp_path, "answer.py", "import numpy as np\ndef softmax(z):\n    return np.exp(z)\n")
    code, out, _ = check(capsys, instance, answer, "python")
    assert code == 0 and out.startswith("not correct: score 0.00")
    assert "first failing instance:" in out
    assert 'given    {"z": [1.0, 2.0, 3.0]}' in out
    assert "expected [0.09003057" in out and "received [2.718281828" in out


@pytest.mark.parametrize("option", [["--workers", "0"], ["--threads", "0"], ["--workers", "-2"]])
def test_serve_refuses_fewer_than_one_process_or_thread(capsys, option: list[str]) -> None:
    code, out, err = run(capsys, "serve", "--port", "1", *option)
    assert code == 2 and out == ""
    assert err.strip() == "grader: --threads and --workers take a whole number of at least 1"


def test_serve_says_so_when_the_port_is_taken(tmp_path: Path, monkeypatch, capsys) -> None:
    import socket

    monkeypatch.setenv("GRADER_INSTANCE_PATH", str(tmp_path))
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code, _out, err = run(capsys, "serve", "--port", str(port), "--workers", "2")
    assert code == 2
    assert err.startswith(f"grader: cannot serve on 127.0.0.1:{port}: ") and "in use" in err


def test_a_formula_is_graded_and_read_back(tmp_path: Path, layer_instance_file: Path, capsys) -> None:
    right = write(tmp_path, "right.txt", "S_t (δ_ti − S_i) x_j\n")
    code, out, err = check(capsys, layer_instance_file, right, "formula", "--json")
    verdict = json.loads(out)
    assert code == 0 and err == "" and verdict["correct"] is True and verdict["format"] == "formula"
    assert verdict["read_as"] == "(S_t * (delta_ti - S_i)) * x_j" and verdict["suite_seed"] is not None
    wrong = write(tmp_path, "wrong.txt", r"S_t \left(\delta_{ti} - S_i\right)")
    code, out, _ = check(capsys, layer_instance_file, wrong, "formula")
    assert code == 0 and out.startswith("not correct") and "[missing_input_factor]" in out
    assert "S_t * (delta_ti - S_i)" in out
    for text, named in (("S_t x_m", "formula_index"), ("__import__('os')", "parse")):
        answer = write(tmp_path, "bad.txt", text)
        code, out, _ = check(capsys, layer_instance_file, answer, "formula", "--json")
        assert code == 0 and json.loads(out)["feedback"][0]["code"] == named
