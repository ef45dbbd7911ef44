"""Live updates: subscribe first, then snapshot from the database, then de-duplicated events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from audiocity.events import RESYNC, audiobook_jobs_channel, job_channel, order_channel
from audiocity.graphql.context import Context
from audiocity.graphql.errors import bad_input
from audiocity.graphql.permissions import require_admin, require_user
from audiocity.graphql.relay import decode_id
from audiocity.graphql.types.commerce import Order
from audiocity.graphql.types.job import Job, JobEvent
from audiocity.models import Job as JobModel
from audiocity.services import jobs as job_service
from audiocity.services import orders
from audiocity.services.errors import NotFound


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


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="A job's current state, then every change, ending after the terminal event (admin)."
    )
    async def job_updates(
        self,
        info: Info[Context, None],
        job_id: strawberry.ID | None = None,
        audiobook_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[JobEvent, None]:
        await require_admin(info)
        if (job_id is None) == (audiobook_id is None):
            raise bad_input("Pass exactly one of jobId and audiobookId.")
        jid = decode_id(job_id, "Job") if job_id else None
        bid = decode_id(audiobook_id, "Audiobook") if audiobook_id else None
        channel = job_channel(jid) if jid else audiobook_jobs_channel(bid)  # type: ignore[arg-type]
        last: dict[uuid.UUID, int] = {}
        current: uuid.UUID | None = jid
        async with info.context.resources.events.subscribe(channel) as sub:
            snapshot = await _job_snapshot(info, jid, bid)
            if snapshot is None:
                if jid is not None:
                    raise bad_input("No such job.")
            else:
                current = snapshot.id
                last[snapshot.id] = snapshot.sequence
                yield JobEvent.from_job(Job.from_model(snapshot))
                if snapshot.status.terminal and jid is not None:
                    return
            while True:
                payload = await sub.get()
                if payload is RESYNC or payload.get("type") == "resync":
                    snapshot = await _job_snapshot(info, current, bid)
                    if snapshot is None:
                        continue
                    job = snapshot
                else:
                    job = JobModel.model_validate(payload)
                if job.sequence <= last.get(job.id, -1):
                    continue
                last[job.id] = job.sequence
                current = job.id
                yield JobEvent.from_job(Job.from_model(job))
                if job.status.terminal:
                    return

    @strawberry.subscription(description="The order each time its status changes (the order's owner).")
    async def order_updates(self, info: Info[Context, None], order_id: strawberry.ID) -> AsyncGenerator[Order, None]:
        user = await require_user(info)
        oid = decode_id(order_id, "Order")
        async with info.context.resources.events.subscribe(order_channel(oid)) as sub:
            async with info.context.resources.sessions() as s:
                try:
                    order = await orders.get_order(s, oid, viewer_id=user.id, admin=False)
                except NotFound:
                    raise bad_input("No such order.") from None
                lines = await orders.lines_for_orders(s, [oid])
            status = order.status
            yield Order.build(order, lines[oid])
            while True:
                payload = await sub.get()
                async with info.context.resources.sessions() as s:
                    order = await orders.get_order(s, oid, viewer_id=user.id, admin=False)
                if payload is not RESYNC and order.status == status:
                    continue
                if order.status != status:
                    status = order.status
                    yield Order.build(order, lines[oid])
