"""Every schema change is a migration: the migrated database matches the models exactly."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import audiocity.models  # noqa: F401


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    def diff(connection: Any) -> list[Any]:
        # On a PostgreSQL without pgvector the migration leaves the embeddings table out on purpose.
        has_vectors = inspect(connection).has_table("embeddings")

        def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
            table = obj if type_ == "table" else getattr(obj, "table", None)
            return has_vectors or getattr(table, "name", None) != "embeddings"

        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include})
        return list(compare_metadata(context, SQLModel.metadata))

    async with engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert changes == [], f"models changed without a migration: {changes}"
