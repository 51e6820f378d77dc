"""The ``grader`` command (shared/contract.md): check, serve, db upgrade, user add, token, regrade;
worker and queue status where workers grade (``GRADER_QUEUE=procrastinate``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from grader.judge import labels
from grader.judge.follow_through import EarlierAnswer
from grader.judge.verdict import FORMATS, Verdict

if TYPE_CHECKING:
    from grader.service.settings import Settings

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

    worker = commands.add_parser(
        "worker", help="grade submissions from the queue on the database (GRADER_QUEUE=procrastinate)"
    )
    worker.add_argument("--concurrency", type=int, default=None,
                        help="submissions graded at once (default: two per sandbox daemon)")
    worker.add_argument(
        "--sandbox-slots-from", type=int, default=None, metavar="N",
        help="first sandbox slot (each slot runs as a uid of its own); by default the first "
        "block of this machine's slots that no other grader process holds",
    )
    worker.set_defaults(handler=_worker)

    queue = commands.add_parser("queue", help="the grading queue (GRADER_QUEUE=procrastinate)")
    queue_commands = queue.add_subparsers(dest="queue_command", required=True, metavar="ACTION")
    status = queue_commands.add_parser("status", help="depth, oldest waiting task, live workers")
    status.set_defaults(handler=_queue_status)

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

    _lti_parser(commands)
    token = commands.add_parser("token", help="API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    listing = token_commands.add_parser("list", help="a user's tokens: id, name, expiry")
    listing.add_argument("user")
    listing.set_defaults(handler=_token_list)
    revoke = token_commands.add_parser(
        "revoke", help="revoke a user's tokens (all of them, or by --name or --id)"
    )
    revoke.add_argument("user")
    which = revoke.add_mutually_exclusive_group()
    which.add_argument("--name", help="only the tokens with this name")
    which.add_argument("--id", type=int, help="only the token with this id")
    revoke.set_defaults(handler=_token_revoke)
    return parser


def _lti_parser(commands: Any) -> None:
    lti = commands.add_parser("lti", help="LTI 1.3: LMS platforms, this tool's keys, scores for the LMS")
    actions = lti.add_subparsers(dest="lti_command", required=True, metavar="ACTION")
    platform = actions.add_parser("add-platform", help="register an LMS")
    platform.add_argument("--issuer", required=True, help="the platform's iss, exactly")
    platform.add_argument("--client-id", required=True, help="the client id the platform gave this tool")
    platform.add_argument("--deployment-id", action="append", required=True, dest="deployment_ids",
                          help="a deployment id (repeatable)")
    platform.add_argument("--auth-login-url", required=True, help="its OIDC authentication URL")
    platform.add_argument("--auth-token-url", required=True, help="its OAuth 2 access token URL")
    platform.add_argument("--key-set-url", required=True, help="its public JWKS URL")
    platform.add_argument("--token-audience", help="the token endpoint's audience, if not its URL")
    platform.add_argument("--name", default="")
    platform.set_defaults(handler=_lti, action="add_platform")
    actions.add_parser("rotate-key", help="add a new signing key (the old stay published)").set_defaults(
        handler=_lti, action="rotate_key")
    retire = actions.add_parser("retire-key", help="stop publishing an old signing key")
    retire.add_argument("kid")
    retire.set_defaults(handler=_lti, action="retire_key")
    actions.add_parser("keys", help="the published keys").set_defaults(handler=_lti, action="list_keys")
    link = actions.add_parser("link-course", help="connect an LMS course (context id) to a course here")
    link.add_argument("--platform", type=int, required=True, dest="platform_id")
    link.add_argument("--context", required=True, dest="context_id")
    link.add_argument("--course", required=True, dest="course_code", help="the course's code here")
    link.set_defaults(handler=_lti, action="link_course")
    actions.add_parser("contexts", help="the connected LMS courses").set_defaults(
        handler=_lti, action="list_contexts")
    actions.add_parser("push", help="send the scores that are due to the LMS").set_defaults(
        handler=_lti, action="push_scores")
    roster = actions.add_parser("sync-roster", help="enrol an LMS course's roster (names and roles)")
    roster.add_argument("context_row_id", type=int, help="the id `grader lti contexts` lists")
    roster.set_defaults(handler=_lti, action="sync_roster")


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
    for item in verdict.feedback:  # the plain words first, the code for whoever looks it up
        lines.append(f"- {labels.label(item.code)} [{item.code}]: {item.message}")
    failed = verdict.failed_instance
    if failed is not None:
        lines.append("first failing instance:")
        given = {key: value for key, value in failed.get("instance", {}).items() if key != "kind"}
        lines.append(f"  given    {json.dumps(given)}")
        for key in ("expected", "received"):
            if failed.get(key) is not None:
                lines.append(f"  {key:8s} {json.dumps(failed[key])}")
    return "\n".join(lines)


@contextmanager
def _storage_errors() -> Iterator[None]:
    """A database or a folder the command cannot use: its true reason in one line, exit 2."""
    import sqlalchemy as sa

    from grader.service import settings, storage

    try:
        yield
    except sa.exc.DBAPIError as error:
        trouble = storage.describe(error, settings.database_url())
        raise UsageError(f"cannot use the database: {trouble.message}") from None
    except OSError as error:
        raise UsageError(storage.describe_os_error(error)) from None


def _serve(args: argparse.Namespace) -> int:
    from grader.server import serve
    from grader.service import settings
    from grader.service.db import upgrade_database

    if args.threads < 1 or (args.workers is not None and args.workers < 1):
        raise UsageError("--threads and --workers take a whole number of at least 1")
    # first, and here: an unusable folder or database is named in one line, before gunicorn
    # logs anything, and not blamed on the address (gunicorn's start then finds it migrated)
    with _storage_errors():
        upgrade_database()
        settings.secret_key(settings.instance_path())
    try:
        return serve(host=args.host, port=args.port, demo=args.demo, threads=args.threads,
                     workers=args.workers)
    except OSError as error:  # the port is taken, the host is not this machine's...
        raise UsageError(f"cannot serve on {args.host}:{args.port}: {error.strerror or error}") from None


def _remote_settings() -> Settings:
    from grader.service import settings

    config = settings.Settings()
    if config.queue != "procrastinate" or not settings.database_url(config).startswith("postgresql"):
        raise UsageError("workers need GRADER_QUEUE=procrastinate and GRADER_DATABASE_URL on PostgreSQL")
    return config


def _worker(args: argparse.Namespace) -> int:
    import logging

    from grader.sandbox.slots import SlotsTaken
    from grader.service.remote import worker

    config = _remote_settings()
    concurrency = args.concurrency or worker.default_concurrency()
    if concurrency < 1 or (args.sandbox_slots_from or 0) < 0:
        raise UsageError("--concurrency takes a whole number of at least 1, --sandbox-slots-from of 0")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(process)d] %(levelname)s %(name)s: "
                        "%(message)s")
    try:
        worker.run(worker.WorkerConfig.from_settings(concurrency, config), args.sandbox_slots_from)
    except SlotsTaken as error:
        raise UsageError(str(error)) from None
    return 0


def _queue_status(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from grader.service import settings
    from grader.service.remote.database import queue_status

    config = _remote_settings()
    engine = sa.create_engine(settings.database_url(config), poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            status = queue_status(connection, config.worker_stalled_seconds)
    finally:
        engine.dispose()
    oldest = status.oldest_waiting_since.isoformat() if status.oldest_waiting_since else "none"
    print(f"waiting {status.waiting}  running {status.running}  failed {status.failed}  "
          f"oldest waiting since {oldest}  live workers {status.live_workers}")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from grader.service import settings
    from grader.service.db import upgrade_database

    with _storage_errors():
        upgrade_database()
        if settings.Settings().queue == "procrastinate":
            from grader.service.remote.database import ensure_schema

            ensure_schema(settings.database_url())
    print("database is at the newest migration")
    return 0


def _regrade(args: argparse.Namespace) -> int:
    from grader.service import regrade_command

    try:
        plan, applied = regrade_command.run(args.assignment, store=args.apply, by="grader regrade")
    except LookupError as error:
        raise UsageError(str(error)) from None
    print("\n".join(regrade_command.summary(plan, applied)))
    return 0


def _lti(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from grader.service.lti import commands

    options = {k: v for k, v in vars(args).items()
               if k not in ("command", "lti_command", "handler", "action")}
    try:
        print(getattr(commands, args.action)(**options))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise UsageError(problems) from None
    except (ValueError, LookupError) as error:
        raise UsageError(str(error)) from None
    return 0


def _user_add(args: argparse.Namespace) -> int:
    from grader.service.accounts import create_user_with_token

    password = None
    if args.password_file is not None:
        password = _read_text(args.password_file, "password").strip()
    try:
        with _storage_errors():
            token = create_user_with_token(args.name, role=args.role, password=password)
    except ValueError as error:  # a taken name, an empty password...
        raise UsageError(str(error)) from None
    print(token)
    return 0


def _token_list(args: argparse.Namespace) -> int:
    from grader.service.tokens import list_named

    try:
        with _storage_errors():
            rows = list_named(args.user)
    except ValueError as error:
        raise UsageError(str(error)) from None
    for row in rows:
        expires = row.expires_at.strftime("%Y-%m-%d %H:%M UTC") if row.expires_at else "never"
        print(f"{row.id}\t{row.name or '-'}\tcreated {row.created_at:%Y-%m-%d}\texpires {expires}")
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from grader.service.tokens import revoke_named

    try:
        with _storage_errors():
            count = revoke_named(args.user, name=args.name, token_id=args.id)
    except ValueError as error:
        raise UsageError(str(error)) from None
    print(f"revoked {count} token{'s' if count != 1 else ''} of {args.user}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
