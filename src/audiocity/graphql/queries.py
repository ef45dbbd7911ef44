"""Read side of the API."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import bad_input
from audiocity.graphql.permissions import optional_user, require_admin, require_user
from audiocity.graphql.relay import Connection, Node, decode_id, from_global_id
from audiocity.graphql.types.audiobook import Audiobook, AudioFile, Category
from audiocity.graphql.types.commerce import Cart, Order
from audiocity.graphql.types.common import AudiobookSort, JobStatus
from audiocity.graphql.types.job import Job
from audiocity.graphql.types.library import DownloadLink, LibraryItem
from audiocity.graphql.types.user import User
from audiocity.models import AudioFile as AudioFileModel
from audiocity.services import cart as cart_service
from audiocity.services import catalog, library, orders
from audiocity.services import jobs as job_service
from audiocity.services.catalog import CatalogFilter, Sort
from audiocity.services.errors import NotFound, ServiceError


@strawberry.input
class AudiobookFilter:
    category: str | None = strawberry.UNSET
    author: str | None = strawberry.UNSET
    narrator: str | None = strawberry.UNSET
    language: str | None = strawberry.UNSET
    tag: str | None = strawberry.UNSET


def _plain(value: str | None) -> str | None:
    return value if isinstance(value, str) else None


async def _orders_page(info: Info[Context, None], first: int | None, after: str | None) -> Connection[Order]:
    user = await require_user(info)
    async with info.context.resources.sessions() as s:
        try:
            page = await orders.list_orders(
                s, viewer_id=user.id, admin=await info.context.is_admin(), first=first, after=after
            )
        except ServiceError as exc:
            raise bad_input(exc.message) from exc
        lines = await orders.lines_for_orders(s, [o.id for o in page.items])
    nodes = [Order.build(o, lines[o.id]) for o in page.items]
    return Connection[Order].build(nodes, page.cursors, page.has_next_page, page.total_count)


async def _audiobook(info: Info[Context, None], id: strawberry.ID) -> Audiobook | None:
    await optional_user(info)
    book_id = decode_id(id, "Audiobook")
    async with info.context.resources.sessions() as s:
        try:
            book = await catalog.get_audiobook(s, book_id, include_drafts=await info.context.is_admin())
        except NotFound:
            return None
    return Audiobook.from_model(book)


async def _order(info: Info[Context, None], id: strawberry.ID) -> Order | None:
    user = await require_user(info)
    async with info.context.resources.sessions() as s:
        try:
            order = await orders.get_order(
                s, decode_id(id, "Order"), viewer_id=user.id, admin=await info.context.is_admin()
            )
        except NotFound:
            return None
        lines = await orders.lines_for_orders(s, [order.id])
    return Order.build(order, lines[order.id])


async def _job(info: Info[Context, None], id: strawberry.ID) -> Job | None:
    await require_admin(info)
    async with info.context.resources.sessions() as s:
        try:
            return Job.from_model(await job_service.get_job(s, decode_id(id, "Job")))
        except NotFound:
            return None


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in viewer.")
    async def me(self, info: Info[Context, None]) -> User:
        return User.from_model(await require_user(info))

    @strawberry.field(description="Fetch any object by its global ID.")
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        type_name, _ = from_global_id(id)
        if type_name == "Audiobook":
            return await _audiobook(info, id)
        if type_name == "Job":
            return await _job(info, id)
        if type_name == "Order":
            return await _order(info, id)
        if type_name == "User":
            viewer = await require_user(info)
            if User.from_model(viewer).id == id:
                return User.from_model(viewer)
            await require_admin(info)
            async with info.context.resources.sessions() as s:
                from audiocity.services.accounts import get_user

                user = await get_user(s, decode_id(id, "User"))
            return User.from_model(user) if user else None
        if type_name == "AudioFile":
            admin = await info.context.is_admin()
            async with info.context.resources.sessions() as s:
                f = await s.get(AudioFileModel, decode_id(id, "AudioFile"))
                if f is None:
                    return None
                try:
                    await catalog.get_audiobook(s, f.audiobook_id, include_drafts=admin)
                except NotFound:
                    return None
            return AudioFile.from_model(f)
        return None

    @strawberry.field(description="The catalog: published audiobooks (admins also see drafts).")
    async def audiobooks(
        self,
        info: Info[Context, None],
        first: int | None = 20,
        after: str | None = None,
        search: str | None = None,
        filter: AudiobookFilter | None = None,
        sort: AudiobookSort = Sort.NEWEST,  # type: ignore[valid-type]
    ) -> Connection[Audiobook]:
        await optional_user(info)
        flt = None
        if filter is not None:
            flt = CatalogFilter(
                category=_plain(filter.category),
                author=_plain(filter.author),
                narrator=_plain(filter.narrator),
                language=_plain(filter.language),
                tag=_plain(filter.tag),
            )
        async with info.context.resources.sessions() as s:
            try:
                page = await catalog.list_audiobooks(
                    s, first=first, after=after, search=search, flt=flt, sort=sort,
                    include_drafts=await info.context.is_admin(),
                )  # fmt: skip
            except ServiceError as exc:
                raise bad_input(exc.message) from exc
        nodes = [Audiobook.from_model(b) for b in page.items]
        return Connection[Audiobook].build(nodes, page.cursors, page.has_next_page, page.total_count)

    @strawberry.field
    async def audiobook(self, info: Info[Context, None], id: strawberry.ID) -> Audiobook | None:
        return await _audiobook(info, id)

    @strawberry.field
    async def order(self, info: Info[Context, None], id: strawberry.ID) -> Order | None:
        return await _order(info, id)

    @strawberry.field
    async def job(self, info: Info[Context, None], id: strawberry.ID) -> Job | None:
        return await _job(info, id)

    @strawberry.field(description="Categories with the number of audiobooks the viewer can see in each.")
    async def categories(self, info: Info[Context, None]) -> list[Category]:
        async with info.context.resources.sessions() as s:
            rows = await catalog.categories_with_counts(s, include_drafts=await info.context.is_admin())
        return [Category.from_model(c, n) for c, n in rows]

    @strawberry.field(description="The viewer's cart.")
    async def cart(self, info: Info[Context, None]) -> Cart:
        user = await require_user(info)
        async with info.context.session() as s:
            cart = await cart_service.cart_for_user(s, user.id)
            books = await cart_service.cart_books(s, cart.id)
        return Cart.build(cart, books)

    @strawberry.field(description="The viewer's orders, newest first; admins see everyone's.")
    async def orders(
        self, info: Info[Context, None], first: int | None = 20, after: str | None = None
    ) -> Connection[Order]:
        return await _orders_page(info, first, after)

    @strawberry.field(description="Audiobooks the viewer owns, with fresh download links.")
    async def library(
        self, info: Info[Context, None], first: int | None = 20, after: str | None = None
    ) -> Connection[LibraryItem]:
        user = await require_user(info)
        res = info.context.resources
        async with res.sessions() as s:
            try:
                page = await library.list_library(s, user.id, first=first, after=after)
            except ServiceError as exc:
                raise bad_input(exc.message) from exc
            files = await catalog.files_for_books(s, [e.audiobook.id for e in page.items])
        nodes = [
            LibraryItem(
                audiobook=Audiobook.from_model(e.audiobook),
                purchased_at=e.purchased_at,
                downloads=[
                    DownloadLink.from_model(link)
                    for link in library.download_links(
                        res.storage,
                        user_id=user.id,
                        book=e.audiobook,
                        files=files[e.audiobook.id],
                        ttl_seconds=res.settings.download_url_ttl_seconds,
                    )
                ],
            )
            for e in page.items
        ]
        return Connection[LibraryItem].build(nodes, page.cursors, page.has_next_page, page.total_count)

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
