"""`audiocity ...`: the composition root. Only `serve` and `worker` import `workers/`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator

import uvicorn

from audiocity.config import Settings, get_settings
from audiocity.http.websocket_protocol import ClosingWebSocketProtocol


def _logging(settings: Settings) -> None:
    from audiocity.logs import setup_logging

    setup_logging(settings.log_level, settings.log_format, settings.secret_values())


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGINT/SIGTERM after shutting down, which would skip `serve`'s clean-up."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._stop) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, *_: object) -> None:
        self.force_exit = self.should_exit  # a second signal stops without waiting
        self.should_exit = True


def serve(settings: Settings, workers: int | None = None) -> None:
    """The API; with no external broker configured, also an in-process worker.

    With `workers` (or WEB_CONCURRENCY) above 1, uvicorn runs that many API processes sharing the
    port; this process then only supervises them (and runs the in-process worker, if any).
    """
    from audiocity import tracing
    from audiocity.app import create_app
    from audiocity.runtime import stop_embedded

    worker = broker = relay = None
    if settings.run_in_process_worker:
        from workers.broker import setup_broker, start_worker
        from workers.relay import start_relay

        from audiocity import migrate as migrations
        from audiocity.runtime import database_url

        # Migrations first: the worker's sweepers query tables a fresh database does not have yet.
        migrations.upgrade(database_url(settings))
        broker = setup_broker(settings)
        worker = start_worker(broker, settings.worker_threads)
        relay = start_relay(broker, settings)
    processes = workers or settings.web_concurrency
    if processes > 1:
        try:
            _serve_processes(settings, processes)
        finally:
            if relay is not None:
                relay.stop()
            if worker is not None:
                worker.stop(timeout=settings.shutdown_grace_seconds * 1000)
            tracing.flush()
            stop_embedded()
        return
    config = uvicorn.Config(
        create_app(settings, broker),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # our handler (JSON or text, scrubbed) for uvicorn's lines too
        ws=ClosingWebSocketProtocol,  # 1012 with a reason, once requests in flight are answered
        ws_ping_interval=20,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )
    try:
        _Server(config).run()
    finally:
        if relay is not None:
            relay.stop()
        if worker is not None:
            worker.stop(timeout=settings.shutdown_grace_seconds * 1000)
        tracing.flush()
        stop_embedded()


def _serve_processes(settings: Settings, processes: int) -> None:
    """Start embedded servers and migrate once here, then let uvicorn spawn the API processes."""
    from uvicorn.supervisors.multiprocess import Multiprocess

    from audiocity import migrate as migrations
    from audiocity.runtime import database_url, redis_url

    db_url = database_url(settings)
    migrations.upgrade(db_url)
    # the children read settings from the environment: point them at the same servers and secret
    os.environ["DATABASE_URL"] = db_url
    os.environ["REDIS_URL"] = redis_url(settings)
    os.environ["SECRET_KEY"] = settings.resolved_secret_key()
    config = uvicorn.Config(
        "audiocity.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=processes,
        timeout_worker_healthcheck=60,  # a busy machine can take longer than 5 s to start a child
        log_level=settings.log_level.lower(),
        log_config=None,  # our handler (JSON or text, scrubbed) for uvicorn's lines too
        ws=ClosingWebSocketProtocol,  # 1012 with a reason, once requests in flight are answered
        ws_ping_interval=20,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )
    sock = config.bind_socket()
    Multiprocess(config, sockets=[sock]).run()


def worker(settings: Settings) -> None:
    """Dramatiq workers; SIGTERM lets the current messages finish (up to SHUTDOWN_GRACE_SECONDS).

    A message still running then stays unacknowledged and goes back to the queue when another
    worker finds this one's heartbeat gone; finished chunks of a transcription are kept.
    """
    from workers.broker import setup_broker, start_worker
    from workers.metrics import queue_depth
    from workers.relay import start_relay

    from audiocity import migrate as migrations
    from audiocity import tracing
    from audiocity.gc_tuning import tune_after_startup
    from audiocity.metrics import serve_metrics
    from audiocity.runtime import database_url, stop_embedded

    tracing.setup_tracing("audiocity-worker")
    migrations.upgrade(database_url(settings))  # before the sweepers query their tables
    broker = setup_broker(settings)
    if settings.worker_metrics_port:
        serve_metrics(settings.worker_metrics_port, settings.worker_metrics_host, [queue_depth(broker)])
    running = start_worker(broker, settings.worker_threads)
    relay = start_relay(broker, settings)
    tune_after_startup()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    log = logging.getLogger(__name__)
    log.info("worker running with %d threads", settings.worker_threads)
    stop.wait()
    log.info("stopping: letting messages in flight finish")
    relay.stop()
    running.stop(timeout=settings.shutdown_grace_seconds * 1000)
    tracing.flush()
    stop_embedded()
    log.info("worker stopped")


def migrate(settings: Settings) -> None:
    from audiocity import migrate as migrations
    from audiocity.runtime import database_url

    migrations.upgrade(database_url(settings))
    print("database is at the latest revision")


def create_admin(settings: Settings, email: str, password: str) -> int:
    from audiocity import migrate as migrations
    from audiocity.db import make_engine, make_sessionmaker, session_scope
    from audiocity.runtime import database_url
    from audiocity.services.accounts import ensure_admin
    from audiocity.services.errors import ServiceError

    url = database_url(settings)
    migrations.upgrade(url)

    async def run() -> str:
        engine = make_engine(url, pool_size=1)
        try:
            async with session_scope(make_sessionmaker(engine)) as s:
                user = await ensure_admin(s, email, password)
                return user.email
        finally:
            await engine.dispose()

    try:
        print(f"admin ready: {asyncio.run(run())}")
    except ServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0


def reindex(settings: Settings) -> int:
    """Rebuild every transcribed book's passages, one transaction per book, and queue their embedding
    (sent by the next `serve` or `worker`): after an upgrade from a version without passages."""
    from audiocity import migrate as migrations
    from audiocity.db import make_engine, make_sessionmaker, session_scope
    from audiocity.runtime import database_url
    from audiocity.services import transcripts

    url = database_url(settings)
    migrations.upgrade(url)

    async def run() -> tuple[int, int]:
        engine = make_engine(url, pool_size=1)
        sessions = make_sessionmaker(engine)
        books = passages = 0
        try:
            async with session_scope(sessions) as s:
                ids = await transcripts.transcribed_books(s)
            for book_id in ids:
                async with session_scope(sessions) as s:
                    passages += await transcripts.rebuild_passages(s, book_id)
                books += 1
        finally:
            await engine.dispose()
        return books, passages

    books, passages = asyncio.run(run())
    print(f"reindexed {books} transcribed books: {passages} passages; their embeddings are queued")
    return 0


def export_schema() -> None:
    from audiocity.graphql.schema import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")


def register_operations(settings: Settings, files: list[str]) -> int:
    """Store every operation of `files` (fragments may live in any of them) for allow-list mode."""
    from pathlib import Path

    import redis.asyncio as aioredis

    from audiocity.graphql.allow_list import RegisteredOperations, operations_in
    from audiocity.runtime import redis_url

    documents = operations_in(Path(f).read_text() for f in files)

    async def run() -> dict[str, str]:
        client = aioredis.Redis.from_url(redis_url(settings))
        try:
            return await RegisteredOperations(client).register(documents)
        finally:
            await client.aclose()

    for name, digest in sorted(asyncio.run(run()).items()):
        print(f"{digest}  {name}")
    return 0


def check_schema() -> int:
    from pathlib import Path

    from audiocity.schema_changes import check

    problems = check(Path.cwd())
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="audiocity", description="AudioCity audiobook store backend")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the API (and, with no REDIS_URL, an in-process worker)")
    serve_cmd.add_argument("--workers", type=int, default=None, help="API processes (default: WEB_CONCURRENCY or 1)")
    commands.add_parser("worker", help="run Dramatiq workers for the AI pipeline")
    commands.add_parser("migrate", help="apply database migrations")
    admin = commands.add_parser("create-admin", help="create an admin account (or promote an existing one)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    commands.add_parser("reindex", help="rebuild transcript passages for search and queue their embeddings")
    seed_cmd = commands.add_parser("seed-demo", help="create a few dozen published demo audiobooks with speech")
    seed_cmd.add_argument("--count", type=int, default=30, help="how many books (default 30)")
    seed_cmd.add_argument("--tones", action="store_true", help="tones instead of espeak-ng speech")
    operations = commands.add_parser("operations", help="manage the registered operations of allow-list mode")
    operations_commands = operations.add_subparsers(dest="operations_command", required=True)
    register = operations_commands.add_parser("register", help="register the operations in .graphql files")
    register.add_argument("files", nargs="+")
    commands.add_parser("check-schema", help="fail on breaking changes since schema.released.graphql not in CHANGELOG")
    config = commands.add_parser("config", help="about the settings")
    config.add_argument("what", choices=["docs"], help="docs: print docs/configuration.md (generated)")
    args = parser.parse_args(argv)

    if args.command == "export-schema":
        export_schema()
        return 0
    if args.command == "check-schema":
        return check_schema()
    if args.command == "config":
        from audiocity.config_docs import render

        sys.stdout.write(render())
        return 0
    settings = get_settings()
    _logging(settings)
    if args.command == "serve":
        serve(settings, args.workers)
    elif args.command == "worker":
        worker(settings)
    elif args.command == "migrate":
        migrate(settings)
    elif args.command == "create-admin":
        return create_admin(settings, args.email, args.password)
    elif args.command == "reindex":
        return reindex(settings)
    elif args.command == "operations":
        return register_operations(settings, args.files)
    elif args.command == "seed-demo":
        from audiocity.seed import seed_demo

        seed_demo(settings, count=args.count, speech=False if args.tones else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
