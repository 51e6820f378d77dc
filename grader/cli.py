"""The ``grader`` command (shared/contract.md): check, serve, db upgrade, user add, regrade."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from grader.judge.follow_through import EarlierAnswer
from grader.judge.verdict import FORMATS, Verdict

EXIT_UNUSABLE = 2


class UsageError(Exception):
    """Options, files or an instance the command cannot use: exit 2 with one line."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UsageError as error:
        print(f"grader: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        return 130


class _Parser(argparse.ArgumentParser):
    """Unusable options are one line on standard error and exit 2, as for a bad file."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_UNUSABLE, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="grader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="grade one answer against an instance")
    check.add_argument("--instance", required=True, type=Path, help="the instance, a JSON file")
    check.add_argument("--answer", required=True, type=Path, help="the answer's text")
    check.add_argument("--format", required=True, choices=FORMATS, help="how the answer is written")
    check.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    check.add_argument(
        "--earlier", action="append", default=[], metavar="KIND=FILE",
        help="the student's own answer to an earlier part of the same instance (repeatable): "
        "a wrong answer right for it earns follow-through credit",
    )
    check.set_defaults(handler=_check)

    serve = commands.add_parser("serve", help="serve the web application and its API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="load the demo course on first start")
    serve.add_argument("--threads", type=int, default=8, help="threads of each process (default 8)")
    serve.add_argument(
        "--workers", type=int, default=None,
        help="server processes (default: one on SQLite, else one per core up to 4)",
    )
    serve.set_defaults(handler=_serve)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="migrate the database to the newest schema")
    upgrade.set_defaults(handler=_db_upgrade)

    regrade = commands.add_parser(
        "regrade", help="grade an assignment's submissions again (a dry run unless --apply)"
    )
    regrade.add_argument("--assignment", required=True, type=int, metavar="ID")
    regrade.add_argument("--apply", action="store_true", help="store the new verdicts")
    regrade.set_defaults(handler=_regrade)

    user = commands.add_parser("user", help="accounts")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = user_commands.add_parser("add", help="create a user and print a new API token")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("student", "instructor"))
    add.add_argument("--password-file", type=Path)
    add.set_defaults(handler=_user_add)
    return parser


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{what} file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"{what} file {str(path)!r} is a directory") from None
    except UnicodeDecodeError:
        raise UsageError(f"{what} file {str(path)!r} is not UTF-8 text") from None
    except OSError as error:
        raise UsageError(f"cannot read {what} file {str(path)!r}: {error.strerror}") from None


def _check(args: argparse.Namespace) -> int:
    from exercises import InstanceError
    from grader.judge.grading import grade

    instance_text = _read_text(args.instance, "instance")
    try:
        instance = json.loads(instance_text)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"instance file is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    answer = _read_text(args.answer, "answer")
    earlier = [_earlier_answer(option) for option in args.earlier]
    try:
        verdict = grade(instance, answer, args.format, earlier=earlier)
    except InstanceError as error:
        raise UsageError(f"unusable instance: {error}") from None
    if args.json:
        print(verdict.model_dump_json())
    else:
        print(format_verdict(verdict))
    return 0


def _earlier_answer(option: str) -> EarlierAnswer:
    import exercises

    kind, sep, path = option.partition("=")
    if not sep or not kind or not path:
        raise UsageError(f"--earlier takes KIND=FILE, not {option!r}")
    if kind not in exercises.KINDS:
        raise UsageError(f"--earlier: unknown kind {kind!r}: the kinds are {', '.join(exercises.KINDS)}")
    return EarlierAnswer(kind, _read_text(Path(path), "earlier answer"))


def format_verdict(verdict: Verdict) -> str:
    """A verdict for a person at a terminal."""
    head = "correct" if verdict.correct else "not correct"
    lines = [f"{head}: score {verdict.score:.2f}"]
    if verdict.read_as:
        lines.append(f"  {verdict.read_as}")
    if verdict.instances_total:
        lines.append(f"  passed {verdict.instances_passed} of {verdict.instances_total} instances")
    for item in verdict.feedback:
        lines.append(f"- [{item.code}] {item.message}")
    failed = verdict.failed_instance
    if failed is not None:
        lines.append("first failing instance:")
        given = {key: value for key, value in failed.get("instance", {}).items() if key != "kind"}
        lines.append(f"  given    {json.dumps(given)}")
        for key in ("expected", "received"):
            if failed.get(key) is not None:
                lines.append(f"  {key:8s} {json.dumps(failed[key])}")
    return "\n".join(lines)


def _serve(args: argparse.Namespace) -> int:
    from grader.server import serve

    if args.threads < 1 or (args.workers is not None and args.workers < 1):
        raise UsageError("--threads and --workers take a whole number of at least 1")
    try:
        return serve(host=args.host, port=args.port, demo=args.demo, threads=args.threads,
                     workers=args.workers)
    except OSError as error:  # the port is taken, the host is not this machine's...
        raise UsageError(f"cannot serve on {args.host}:{args.port}: {error.strerror or error}") from None


def _db_upgrade(args: argparse.Namespace) -> int:
    from grader.service.db import upgrade_database

    upgrade_database()
    print("database is at the newest migration")
    return 0


def _regrade(args: argparse.Namespace) -> int:
    from grader.service import regrade

    try:
        plan, applied = regrade.run(args.assignment, store=args.apply, by="grader regrade")
    except LookupError as error:
        raise UsageError(str(error)) from None
    print("\n".join(regrade.summary(plan, applied)))
    return 0


def _user_add(args: argparse.Namespace) -> int:
    from grader.service.accounts import create_user_with_token

    password = None
    if args.password_file is not None:
        password = _read_text(args.password_file, "password").strip()
    try:
        token = create_user_with_token(args.name, role=args.role, password=password)
    except ValueError as error:  # a taken name, an empty password...
        raise UsageError(str(error)) from None
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
