"""What a search matched: the field, a snippet, and (in a transcript) where to start playing.

The audiobooks connection is spelled out here (rather than the generic `Connection[Audiobook]`) so its
edges can carry `matches`.
"""

from __future__ import annotations

import enum

import strawberry

from audiocity.graphql.relay import PageInfo
from audiocity.graphql.types.audiobook import Audiobook


@strawberry.enum(description="The part of an audiobook a search matched.")
class SearchField(enum.Enum):
    TITLE = strawberry.enum_value("TITLE", description="The title (or subtitle).")
    AUTHORS = strawberry.enum_value("AUTHORS", description="An author's name.")
    NARRATORS = strawberry.enum_value("NARRATORS", description="A narrator's name.")
    SERIES = strawberry.enum_value("SERIES", description="The series name.")
    TAGS = strawberry.enum_value("TAGS", description="One of the tags.")
    SUMMARY = strawberry.enum_value("SUMMARY", description="The AI-written summary.")
    DESCRIPTION = strawberry.enum_value("DESCRIPTION", description="The publisher's description.")
    TRANSCRIPT = strawberry.enum_value("TRANSCRIPT", description="A passage of the transcript.")


@strawberry.type(description="One place where a search matched an audiobook.")
class SearchMatch:
    field: SearchField = strawberry.field(description="The part of the audiobook that matched.")
    snippet: str = strawberry.field(description="The matching text (a transcript passage, or the summary).")
    start_seconds: float | None = strawberry.field(
        description="For TRANSCRIPT matches: where the passage starts on the book's timeline; else null."
    )


@strawberry.type(description="One audiobook of a catalog page, with its cursor and what a search matched.")
class AudiobookEdge:
    cursor: str = strawberry.field(description="Opaque; pass it as `after` to continue after this item.")
    node: Audiobook = strawberry.field(description="The item.")
    matches: list[SearchMatch] = strawberry.field(
        description="With `search` or `semantic`: where the audiobook matched, best first; empty otherwise."
    )


@strawberry.type(description="One page of audiobooks (Relay cursor connection).")
class AudiobookConnection:
    edges: list[AudiobookEdge] = strawberry.field(description="The items of this page, in order.")
    page_info: PageInfo = strawberry.field(description="How to fetch the next page.")
    total_count: int = strawberry.field(description="Items in the whole list, over all pages.")

    @classmethod
    def build(
        cls,
        nodes: list[Audiobook],
        cursors: list[str],
        has_next_page: bool,
        total_count: int,
        matches: list[list[SearchMatch]] | None = None,
    ) -> AudiobookConnection:
        found = matches if matches is not None else [[] for _ in nodes]
        return cls(
            edges=[AudiobookEdge(cursor=c, node=n, matches=m) for n, c, m in zip(nodes, cursors, found, strict=True)],
            page_info=PageInfo(
                has_next_page=has_next_page,
                has_previous_page=False,
                start_cursor=cursors[0] if cursors else None,
                end_cursor=cursors[-1] if cursors else None,
            ),
            total_count=total_count,
        )
