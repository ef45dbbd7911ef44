"""The outbox relay: sends the messages whose transaction committed but whose send never happened.

It runs in every worker process (and in `serve`'s in-process worker) as a thread with its own event
loop, but only one relay works at a time across all processes: each pass first takes (or renews) a
Redis lease, and the rows are locked with SKIP LOCKED besides. The rows live in PostgreSQL, so
nothing is lost across restarts, Redis outages or a process killed between commit and send: the
next pass of any relay sends them. The lease holder also restarts the upload sweeper's chain
(workers/uploads.py) once per UPLOAD_CLEANUP_INTERVAL_SECONDS, so a lost delayed message of that
chain costs one interval, not everything until the next worker start.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from typing import Any

from dramatiq.brokers.redis import RedisBroker

from audiocity import tasks
from audiocity.config import Settings
from audiocity.db import make_engine, make_sessionmaker, session_scope
from audiocity.runtime import database_url
from audiocity.services import outbox

log = logging.getLogger(__name__)

LEASE_KEY = "audiocity:outbox-relay:lease"
BATCH = 100
# Take the lease if free, or renew it if it is ours; 1 when held.
_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class OutboxRelay:
    def __init__(self, broker: RedisBroker, settings: Settings) -> None:
        self.broker = broker
        self.settings = settings
        self.interval = max(0.05, settings.outbox_relay_interval_seconds)
        self.lease_ms = max(5_000, int(self.interval * 5_000))  # a dead holder is replaced after this
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def send(self, actor_name: str, args: list[Any], delay_ms: int | None) -> None:
        tasks.send(actor_name, *args, delay=delay_ms, broker=self.broker)

    def hold_lease(self) -> bool:
        return bool(self.broker.client.eval(_LEASE, 1, LEASE_KEY, self.token, self.lease_ms))

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        engine = make_engine(await asyncio.to_thread(database_url, self.settings), pool_size=1)
        sessions = make_sessionmaker(engine)
        cleanup_every = max(1, self.settings.upload_cleanup_interval_seconds)
        next_cleanup = time.monotonic() + cleanup_every
        try:
            while not self._stop.is_set():
                try:
                    if await asyncio.to_thread(self.hold_lease):
                        while True:
                            async with session_scope(sessions) as session:
                                sent = await outbox.relay(session, self.send, batch=BATCH)
                            if sent < BATCH:
                                break
                        if time.monotonic() >= next_cleanup:
                            from workers.uploads import start_upload_cleanup

                            start_upload_cleanup(self.broker)
                            next_cleanup = time.monotonic() + cleanup_every
                except Exception as exc:  # Redis or the database is away: try again next pass
                    log.warning("outbox relay pass failed: %s", exc)
                await asyncio.to_thread(self._stop.wait, self.interval)
        finally:
            try:
                await asyncio.to_thread(self.broker.client.eval, _RELEASE, 1, LEASE_KEY, self.token)
            except Exception:
                log.debug("could not release the outbox relay lease", exc_info=True)
            await engine.dispose()


def start_relay(broker: RedisBroker, settings: Settings) -> OutboxRelay:
    relay = OutboxRelay(broker, settings)
    relay.start()
    return relay
