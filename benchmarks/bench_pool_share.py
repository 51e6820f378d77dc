"""One student's flood of looping functions, and another student's grading meanwhile.

Issue 12, finding 4: sixteen threads of looping functions from one student took
another student's grading from 14 ms to 8 s. Here one application (the service's
own, on a fresh SQLite database, with the process's warm sandbox pool) takes
sixteen threads of ``/check`` calls with a function that never returns from one
student, while a second student checks a correct function one call at a time.
Run with the service's limits and without them, it prints the second student's
median and worst latency alone and during the flood, and how the flood's calls
were answered (200 after the time limit, or 429).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy.orm as so

from grader.service import accounts, db
from grader.web import create_app

FLOOD_THREADS = 16
FLOOD_SECONDS = 20.0
CALLS = 15
LOOPING = "def softmax(z):\n    while True:\n        pass\n"
CORRECT = "import numpy as np\ndef softmax(z):\n    e = np.exp(z - z.max())\n    return e / e.sum()\n"
INSTANCE = {"kind": "softmax", "z": [1.0, 2.0, 3.0]}


#: the service's defaults, and the same run with the per-user limits out of reach
SETUPS = {
    "per-user limits on": {},
    "per-user limits off": {"SANDBOX_RUNS_AT_ONCE": 64, "SANDBOX_RUNS_PER_MINUTE": "1000000 per minute"},
}


def main() -> int:
    for name, overrides in SETUPS.items():
        print(f"== {name}")
        run(overrides)
    return 0


def run(overrides: dict[str, object]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="grader-bench-share-"))
    url = f"sqlite:///{folder / 'grader.sqlite'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(folder),
                      **overrides})
    with so.Session(db.database(app).engine) as session, session.begin():
        tokens = [accounts.issue_token(session, accounts.create_user(session, name, "student"))
                  for name in ("flooder", "other")]
    flooder, other = ({"Authorization": f"Bearer {token}"} for token in tokens)
    print(f"sandbox runs at once per user: {app.config['SANDBOX_RUNS_AT_ONCE']}, "
          f"per minute: {app.config['SANDBOX_RUNS_PER_MINUTE']}")

    def check(headers: dict[str, str], source: str) -> tuple[int, float]:
        started = time.perf_counter()
        response = app.test_client().post("/api/v1/check", headers=headers,
                                          json={"instance": INSTANCE, "answer": source, "format": "python"})
        return response.status_code, (time.perf_counter() - started) * 1000

    def latencies() -> list[float]:
        return [check(other, CORRECT)[1] for _ in range(CALLS)]

    check(other, CORRECT)  # warm
    alone = latencies()
    answered: Counter[int] = Counter()
    stop = time.monotonic() + FLOOD_SECONDS

    def flood() -> None:
        while time.monotonic() < stop:
            status, _ = check(flooder, LOOPING)
            answered[status] += 1

    threads = [threading.Thread(target=flood) for _ in range(FLOOD_THREADS)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    during = latencies()
    for thread in threads:
        thread.join()
    for name, figures in (("alone", alone), ("during the flood", during)):
        print(f"other student's /check {name:18s} median {statistics.median(figures):7.1f} ms"
              f"   worst {max(figures):7.1f} ms")
    print(f"the flood's {sum(answered.values())} calls were answered: {dict(sorted(answered.items()))}")
    db.database(app).dispose()


if __name__ == "__main__":
    sys.exit(main())
