"""Search results: where a book matched (`SearchMatch`), carried on the catalog's edges.

Text search fills `matches` from `services.search`; meaning search reuses `SearchMatch` for the
passage it found.
"""

from __future__ import annotations

from collections.abc import Sequence

import strawberry

from audiocity.graphql.relay import PageInfo
from audiocity.graphql.types.audiobook import Audiobook
from audiocity.graphql.types.common import described
from audiocity.services.search import Match
from audiocity.services.search import SearchField as SearchFieldModel

SearchField = described(
    SearchFieldModel,
    "SearchField",
    "The part of an audiobook a search matched.",
    {
        "TITLE": "The title.",
        "AUTHORS": "An author's name.",
        "NARRATORS": "A narrator's name.",
        "SERIES": "The series name.",
        "TAGS": "One of the tags.",
        "SUMMARY": "The summary written from the transcript.",
        "DESCRIPTION": "The publisher's description.",
        "TRANSCRIPT": "A passage of the transcript; `startSeconds` says where it starts.",
    },
)


@strawberry.type(description="Where a search matched an audiobook, with the matched words highlighted.")
class SearchMatch:
    field: SearchField = strawberry.field(description="The part of the audiobook that matched.")  # type: ignore[valid-type]
    snippet: str = strawberry.field(
        description=(
            "The matching text, or the part of it around the match, as HTML-safe text: matched words are "
            "wrapped in `<b>` and `</b>`, and `<`, `>` and `&` of the text itself are escaped."
        )
    )
    start_seconds: float | None = strawberry.field(
        description="For a TRANSCRIPT match, where the passage starts on the book's timeline; null otherwise."
    )

    @classmethod
    def from_match(cls, m: Match) -> SearchMatch:
        return cls(field=m.field, snippet=m.snippet, start_seconds=m.start_seconds)


@strawberry.type(description="One audiobook of a catalog page, with its cursor and, for a search, where it matched.")
class AudiobookEdge:
    cursor: str = strawberry.field(description="Opaque; pass it as `after` to continue after this item.")
    node: Audiobook = strawberry.field(description="The item.")
    matches: list[SearchMatch] = strawberry.field(
        description=(
            "Where a `search` matched this audiobook: each matching field, then up to three transcript "
            "passages, best first; with `semantic`, the passage or summary closest in meaning. Empty "
            "without either."
        )
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
        cursors: Sequence[str],
        has_next_page: bool,
        total_count: int,
        matches: list[list[SearchMatch]] | None = None,
    ) -> AudiobookConnection:
        found = matches if matches is not None else [[] for _ in nodes]
        return cls(
            edges=[AudiobookEdge(cursor=c, node=n, matches=m) for n, c, m in zip(nodes, cursors, found, strict=True)],
            page_info=PageInfo.of(cursors, has_next_page),
            total_count=total_count,
        )
