"""Two API processes and one worker process on one PostgreSQL and one Redis, for the whole package.

API `a` runs the defaults; API `b` issues short-lived tokens, pings often and buffers few events per
subscriber, so expiry, keep-alive and slow-subscriber behaviour show up quickly. The worker runs the
real pipeline against a fake OpenAI whose transcriptions wait for the test's go-ahead.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server, run_server
from tests.fakes.openai_server import FakeOpenAI
from tests.subscriptions.helpers import Gate, admin_token, gated_openai, run_worker, worker_env

SHORT_TOKEN_SECONDS = 3


@dataclass
class Stack:
    a: Server
    b: Server
    fake: FakeOpenAI
    gate: Gate
    tmp: Path


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("live")
    with ExitStack() as exits:
        fake, gate = exits.enter_context(gated_openai())
        a, b = enter_together(
            exits,
            run_server(tmp / "a", database_url, redis_url, IN_PROCESS_WORKER="0"),
            run_server(
                tmp / "b",
                database_url,
                redis_url,
                IN_PROCESS_WORKER="0",
                ACCESS_TOKEN_TTL_SECONDS=str(SHORT_TOKEN_SECONDS),
                WS_KEEP_ALIVE_SECONDS="0.5",
                SUBSCRIPTION_QUEUE_SIZE="8",
            ),
        )
        exits.enter_context(run_worker(worker_env(a, fake), tmp / "worker.log"))
        yield Stack(a, b, fake, gate, tmp)


def enter_together(exits: ExitStack, *managers: AbstractContextManager[Server]) -> list[Server]:
    """Start servers in parallel (each takes seconds to boot); `exits` stops whichever started."""
    with ThreadPoolExecutor(len(managers)) as pool:
        futures = [pool.submit(manager.__enter__) for manager in managers]
    servers: list[Server] = []
    failure: BaseException | None = None
    for manager, future in zip(managers, futures, strict=True):
        try:
            servers.append(future.result())
            exits.push(manager)
        except BaseException as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
    return servers


@pytest.fixture(scope="package")
async def admin(stack: Stack) -> str:
    """An admin's access token from API `a` (long-lived; valid on `b` too: one secret)."""
    async with httpx.AsyncClient(timeout=60) as client:
        return await admin_token(stack.a, GraphQLClient(client, stack.a.graphql_url))
