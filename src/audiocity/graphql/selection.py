"""Which fields a query selects below the current one, so a resolver reads only the columns it needs."""

from __future__ import annotations

from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def _walk(selections: list[Selection], out: set[str]) -> None:
    for sel in selections:
        if isinstance(sel, SelectedField):
            out.add(sel.name)
            _walk(sel.selections, out)
        elif isinstance(sel, FragmentSpread | InlineFragment):
            _walk(sel.selections, out)


def selected_names(info: Info) -> set[str]:  # type: ignore[type-arg]
    """Every field name (as written in the query) anywhere below the resolver's own field."""
    out: set[str] = set()
    for field in info.selected_fields:
        _walk(field.selections, out)
    return out
