"""AI processing jobs (admin)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import bad_input
from audiocity.graphql.nodes import node_fetcher
from audiocity.graphql.permissions import require_admin
from audiocity.graphql.relay import Connection, decode_id
from audiocity.graphql.types.common import JobStatus
from audiocity.graphql.types.job import Job
from audiocity.services import jobs as job_service
from audiocity.services.errors import NotFound, ServiceError


@node_fetcher("Job")
async def _job(info: Info[Context, None], id: strawberry.ID) -> Job | None:
    await require_admin(info)
    async with info.context.resources.sessions() as s:
        try:
            return Job.from_model(await job_service.get_job(s, decode_id(id, "Job")))
        except NotFound:
            return None


@strawberry.type
class JobQueries:
    @strawberry.field(description="AI processing jobs, newest first (admin).")
    async def jobs(
        self,
        info: Info[Context, None],
        first: int | None = 20,
        after: str | None = None,
        status: JobStatus | None = None,  # type: ignore[valid-type]
    ) -> Connection[Job]:
        await require_admin(info)
        async with info.context.resources.sessions() as s:
            try:
                page = await job_service.list_jobs(s, first=first, after=after, status=status)
            except ServiceError as exc:
                raise bad_input(exc.message) from exc
        nodes = [Job.from_model(j) for j in page.items]
        return Connection[Job].build(nodes, page.cursors, page.has_next_page, page.total_count)

    @strawberry.field
    async def job(self, info: Info[Context, None], id: strawberry.ID) -> Job | None:
        return await _job(info, id)
