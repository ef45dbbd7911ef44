"""Live updates: subscribe first, then snapshot from the database, then de-duplicated events.

Events are hints and the row is the truth: after `RESYNC` (the listener reconnected to Redis, or
nothing arrived for a while) the row is read again, so a lost event costs at most a delay, never a
stale final state.
"""

from __future__ import annotations

import contextlib
import logging
import random
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from pydantic import ValidationError
from strawberry.types import Info

from audiocity.events import (
    RESYNC,
    BusUnavailable,
    SubscriberTooSlow,
    audiobook_jobs_channel,
    job_channel,
    order_channel,
)
from audiocity.events import Subscription as EventSubscription
from audiocity.graphql.context import Context
from audiocity.graphql.errors import bad_input, forbidden
from audiocity.graphql.permissions import require_admin, require_user
from audiocity.graphql.relay import decode_id
from audiocity.graphql.sockets import RECHECK, TOO_SLOW_REASON, TRY_AGAIN_LATER, live, socket_closer
from audiocity.graphql.types.commerce import Order
from audiocity.graphql.types.job import Job, JobEvent
from audiocity.models import Job as JobModel
from audiocity.models import Order as OrderModel
from audiocity.services import jobs as job_service
from audiocity.services import orders
from audiocity.services.errors import NotFound

log = logging.getLogger(__name__)

# A subscriber that hears nothing for this long reads the row again: the safety net for an event
# dropped while only the publisher (not this process's listener) had lost Redis.
IDLE_RESYNC_SECONDS = 30.0


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


@contextlib.asynccontextmanager
async def _subscribe(info: Info[Context, None], channel: str) -> AsyncIterator[EventSubscription]:
    """Subscribe on this process's bus; a subscriber that falls behind gets its socket closed."""
    closer = socket_closer(info.context.request)

    def drop(_: EventSubscription) -> None:
        if closer is not None:
            closer(TRY_AGAIN_LATER, TOO_SLOW_REASON)

    events = info.context.resources.bus
    try:
        async with events.subscribe(
            channel,
            maxsize=info.context.settings.subscription_queue_size,
            on_drop=drop,
            # jittered, so subscribers that arrived together (after a deploy) do not re-read in lockstep
            idle_resync=IDLE_RESYNC_SECONDS * (0.75 + random.random() / 2),
        ) as sub:
            with live(info.context.request, sub):
                yield sub
    except BusUnavailable:
        raise _error("Live updates are unavailable right now; try again shortly.", "UNAVAILABLE") from None


async def _next_event(sub: EventSubscription) -> dict[str, Any]:
    try:
        return await sub.get()
    except SubscriberTooSlow:
        raise _error(TOO_SLOW_REASON, "SUBSCRIBER_TOO_SLOW") from None


async def _job_snapshot(
    info: Info[Context, None], job_id: uuid.UUID | None, book_id: uuid.UUID | None
) -> JobModel | None:
    async with info.context.resources.sessions() as s:
        if job_id is not None:
            try:
                return await job_service.get_job(s, job_id)
            except NotFound:
                return None
        assert book_id is not None
        return await job_service.latest_job_for_book(s, book_id)


# The bus hands one payload object to every subscriber of a channel: parse it once, not once each.
_last_parsed: tuple[dict[str, Any], JobModel | None] | None = None


def _parse_job(payload: dict[str, Any]) -> JobModel | None:
    global _last_parsed
    if _last_parsed is not None and _last_parsed[0] is payload:
        return _last_parsed[1]
    try:
        job: JobModel | None = JobModel.model_validate(payload)
    except ValidationError:
        log.warning("ignoring a malformed job event")
        job = None
    _last_parsed = (payload, job)
    return job


_last_event: tuple[JobModel, JobEvent] | None = None


def _event(job: JobModel) -> JobEvent:
    """The GraphQL object for a row; shared by the subscribers of one event, like the row itself."""
    global _last_event
    if _last_event is None or _last_event[0] is not job:
        _last_event = (job, JobEvent.from_job(Job.from_model(job)))
    return _last_event[1]


class _JobFollower:
    """Which rows to pass on: newer sequences of the followed job, or (by audiobook) a newer job.

    Keeps three values, not the row: an idle subscriber should cost little.
    """

    __slots__ = ("current", "job_id")

    def __init__(self, job_id: uuid.UUID | None) -> None:
        self.job_id = job_id
        self.current: tuple[uuid.UUID, int, datetime] | None = None

    def accept(self, job: JobModel) -> bool:
        current = self.current
        if self.job_id is not None and job.id != self.job_id:
            return False
        if current is not None:
            current_id, sequence, created_at = current
            if job.id == current_id:
                if job.sequence <= sequence:
                    return False
            elif job.created_at <= created_at:
                return False  # an older job of the same audiobook
        self.current = (job.id, job.sequence, job.created_at)
        return True


async def _order_row(info: Info[Context, None], order_id: uuid.UUID, user_id: uuid.UUID) -> OrderModel | None:
    async with info.context.resources.sessions() as s:
        try:
            return await orders.get_order(s, order_id, viewer_id=user_id, admin=False)
        except NotFound:
            return None


@strawberry.type(description="Live updates over WebSocket (graphql-transport-ws or the legacy graphql-ws).")
class Subscription:
    @strawberry.subscription(
        description=(
            "A job's current state, then every change in `sequence` order, ending after the terminal event "
            "(admin). By `audiobookId`: the book's latest job, then its jobs' changes until one ends."
        )
    )
    async def job_updates(
        self,
        info: Info[Context, None],
        job_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Follow this job (give this or `audiobookId`).")
        ] = None,
        audiobook_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Follow the latest job of this audiobook (give this or `jobId`)."),
        ] = None,
    ) -> AsyncGenerator[JobEvent, None]:
        await require_admin(info)
        if (job_id is None) == (audiobook_id is None):
            raise bad_input("Pass exactly one of jobId and audiobookId.")
        jid = decode_id(job_id, "Job") if job_id is not None else None
        bid = decode_id(audiobook_id, "Audiobook") if audiobook_id is not None else None
        channel = job_channel(jid) if jid is not None else audiobook_jobs_channel(bid)  # type: ignore[arg-type]
        follower = _JobFollower(jid)
        async with _subscribe(info, channel) as sub:
            job = await _job_snapshot(info, jid, bid)
            if job is None and jid is not None:
                raise bad_input("No such job.")
            # By audiobook, a finished latest job is shown but not the end: the book's next job is.
            first_by_book = bid is not None
            while True:
                if job is not None and follower.accept(job):
                    yield _event(job)
                    if job.status.terminal and not first_by_book:
                        return
                first_by_book = False
                job = None  # hold no row while waiting
                payload = await _next_event(sub)
                if payload is RECHECK:  # the account's role changed: a demoted admin stops here
                    await require_admin(info)
                elif payload is RESYNC:
                    job = await _job_snapshot(info, jid, bid)
                    if job is None and jid is not None:
                        return  # deleted with its audiobook: nothing more will happen to it
                else:
                    job = _parse_job(payload)

    @strawberry.subscription(description="The order now, then each time its status changes (the order's owner).")
    async def order_updates(
        self,
        info: Info[Context, None],
        order_id: Annotated[strawberry.ID, strawberry.argument(description="One of the viewer's orders.")],
    ) -> AsyncGenerator[Order, None]:
        user = await require_user(info)
        oid = decode_id(order_id, "Order")
        async with _subscribe(info, order_channel(oid)) as sub:
            async with info.context.resources.sessions() as s:
                try:
                    order = await orders.get_order(s, oid, viewer_id=user.id, admin=False)
                except NotFound:
                    # the same answer for "not yours" and "no such order": ids are not confirmed to strangers
                    raise forbidden("You can only follow your own orders.") from None
                lines = (await orders.lines_for_orders(s, [oid]))[oid]
            status = None
            while True:
                if order.status != status:
                    status = order.status
                    yield Order.build(order, lines)
                # Any event (or RESYNC) means "read the row": across API processes the row, not the
                # arrival order of events, says which status is the latest.
                if await _next_event(sub) is RECHECK:
                    await require_user(info)
                latest = await _order_row(info, oid, user.id)
                if latest is None:
                    return
                order = latest
