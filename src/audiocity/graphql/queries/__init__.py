"""The read side, one module per area; `Query` merges them."""

from __future__ import annotations

import strawberry

from audiocity.graphql.queries.accounts import AccountQueries
from audiocity.graphql.queries.catalog import CatalogQueries
from audiocity.graphql.queries.commerce import CommerceQueries
from audiocity.graphql.queries.jobs import JobQueries
from audiocity.graphql.queries.library import LibraryQueries


@strawberry.type(description="Everything clients can read.")
class Query(AccountQueries, CatalogQueries, CommerceQueries, LibraryQueries, JobQueries):
    pass
