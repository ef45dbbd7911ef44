"""The catalog page without graphql-core's per-field execution: a compiled plan from rows to JSON.

graphql-core spends most of a catalog page's time resolving a few thousand small fields one by one
(an info object, a path, an awaitable check and a resolver call each). For documents whose every
root field is `audiobooks(...)` (or `__typename`) and whose selections stay within the fields this
plan knows, the `FastPath` extension builds the answer itself, before execution, from the same
service calls the resolver makes (`catalog.list_audiobook_rows`, `catalog.file_rows_for_books`),
with the same permission rules (drafts for admins only, `owned` per viewer), into plain dicts in the
order and shape graphql-core produces: response keys in first-occurrence order with aliases and
merged fields, fragments and inline fragments on matching types, `__typename`, and every leaf
through its GraphQL type's own `serialize` (enums, DateTime, Float, ID, CurrencyCode). Parsing,
validation, limits and `extensions.cost` (the guard), masking and telemetry run as for any request.

Anything else goes to the normal executor: a directive, a field or type the plan does not know,
`semantic`, `matches` with a search, a bad token, variables that do not coerce, a service error (bad
cursor, long search) or a null where the schema promises a value. `FAST_PATH=0` turns it off.
tests/api/test_fast_path.py runs a corpus of documents through both and compares the JSON bytes.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.extensions import SchemaExtension

from audiocity import metrics
from audiocity.graphql.context import Context
from audiocity.graphql.limits import pick_operation
from audiocity.graphql.relay import to_global_id
from audiocity.models import Role
from audiocity.services import catalog
from audiocity.services.catalog import CatalogFilter
from audiocity.services.covers import cover_links
from audiocity.services.errors import ServiceError
from audiocity.services.pagination import Page

Build = Callable[[Any], Any]


class Unsupported(Exception):
    """The document asks for something the plan does not cover (decided once per document)."""


class Fallback(Exception):
    """This request cannot be answered by the plan after all: run the normal executor."""


# -- what each type's fields are, from the plan's sources --------------------------------------------


@dataclass(frozen=True, slots=True)
class BookSource:
    row: Any  # a row of `list_audiobook_rows`
    files: list[Any] | None
    owned: bool | None
    resources: Any

    def cover_url(self) -> str | None:
        """`Audiobook.cover_url`: the uploaded cover's signed link, else the URL an admin set."""
        b, res = self.row, self.resources
        if not b.cover_key:
            return b.cover_url  # type: ignore[no-any-return]
        links = cover_links(
            res.storage, b.id, b.cover_key, b.cover_width, b.cover_height, list(b.cover_sizes or []),
            ttl_seconds=res.settings.cover_url_ttl_seconds, signed=res.cover_links,
        )  # fmt: skip
        return links[0].url if links else b.cover_url


@dataclass(frozen=True, slots=True)
class EdgeSource:
    cursors: Sequence[str]  # the page's, encoded when read (`Cursors`)
    index: int
    book: BookSource


@dataclass(frozen=True, slots=True)
class ConnectionSource:
    page: Page[Any]
    edges: list[EdgeSource]


def _need(value: Any) -> Any:
    if value is None:  # the resolver would load it lazily: not the plan's case
        raise Fallback
    return value


# How each field is read from its source: an attribute path ("row.title") or a function.
Getter = str | Callable[[Any], Any]
GETTERS: dict[str, dict[str, Getter]] = {
    "AudiobookConnection": {
        "edges": "edges",
        "pageInfo": "page",
        "totalCount": "page.total_count",
    },
    "AudiobookEdge": {
        "cursor": lambda e: e.cursors[e.index],
        "node": "book",
        "matches": lambda e: [],  # only without a search (checked per request)
    },
    "PageInfo": {
        "hasNextPage": "has_next_page",
        "hasPreviousPage": lambda p: False,
        "startCursor": lambda p: p.cursors[0] if p.cursors else None,
        "endCursor": lambda p: p.cursors[-1] if p.cursors else None,
    },
    "Audiobook": {
        "id": lambda b: to_global_id("Audiobook", b.row.id),
        "title": "row.title",
        "subtitle": "row.subtitle",
        "description": "row.description",
        "summary": "row.summary",
        "authors": "row.authors",
        "narrators": "row.narrators",
        "tags": "row.tags",
        "language": "row.language",
        "price": "row",
        "seriesPosition": "row.series_position",
        "publishedYear": "row.published_year",
        "publisher": "row.publisher",
        "isbn": "row.isbn",
        "durationSeconds": "row.duration_seconds",
        "published": "row.published",
        "transcriptStatus": "row.transcript_status",
        "createdAt": "row.created_at",
        "updatedAt": "row.updated_at",
        "coverUrl": lambda b: b.cover_url(),
        "files": lambda b: _need(b.files),
        "categories": lambda b: _need(b.row.categories),
        "owned": lambda b: _need(b.owned),
    },
    "SearchMatch": {  # `matches` is always empty on the plan's pages (no search, or not asked for)
        "field": lambda m: _need(None),
        "snippet": lambda m: _need(None),
        "startSeconds": lambda m: _need(None),
    },
    "Money": {
        "amountCents": "price_cents",
        "currency": "currency",
    },
    "AudioFile": {
        "id": lambda f: to_global_id("AudioFile", f.id),
        "position": "position",
        "fileName": "file_name",
        "contentType": "content_type",
        "sizeBytes": lambda f: float(f.size_bytes),
        "durationSeconds": "duration_seconds",
        "codec": "codec",
        "createdAt": "created_at",
    },
    "Category": {  # the catalog row's JSON: [id, name, slug]
        "id": lambda c: to_global_id("Category", c[0]),
        "name": lambda c: c[1],
        "slug": lambda c: c[2],
        "audiobookCount": lambda c: None,
    },
}
ROOT_FIELDS = frozenset({"audiobooks", "__typename"})


# -- compiling a document ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Compiler:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]

    def matches(self, condition: str | None, object_type: GraphQLObjectType) -> bool:
        if condition is None or condition == object_type.name:
            return True
        found = self.schema.get_type(condition)
        return found is not None and is_abstract_type(found) and self.schema.is_sub_type(found, object_type)  # type: ignore[arg-type]

    def collect(
        self, object_type: GraphQLObjectType, sets: list[SelectionSetNode], out: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> dict[str, list[FieldNode]]:  # fmt: skip
        """graphql-core's `collect_fields`: fields by response key, first occurrence first."""
        for selection_set in sets:
            for sel in selection_set.selections:
                if sel.directives:
                    raise Unsupported("directives")
                if isinstance(sel, FieldNode):
                    out.setdefault((sel.alias or sel.name).value, []).append(sel)
                elif isinstance(sel, InlineFragmentNode):
                    condition = sel.type_condition.name.value if sel.type_condition else None
                    if self.matches(condition, object_type):
                        self.collect(object_type, [sel.selection_set], out, visited)
                elif isinstance(sel, FragmentSpreadNode):
                    name = sel.name.value
                    if name in visited:
                        continue
                    visited.add(name)
                    fragment = self.fragments.get(name)
                    if fragment is None or fragment.directives:
                        raise Unsupported("fragment")
                    if self.matches(fragment.type_condition.name.value, object_type):
                        self.collect(object_type, [fragment.selection_set], out, visited)
        return out

    def object(self, object_type: GraphQLObjectType, nodes: list[FieldNode]) -> Build:
        getters = GETTERS.get(object_type.name)
        if getters is None:
            raise Unsupported(object_type.name)
        sets = [n.selection_set for n in nodes if n.selection_set is not None]
        fields: list[_Field] = []
        for key, field_nodes in self.collect(object_type, sets, {}, set()).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                fields.append(_Field(key, None, None, None))
                continue
            if name not in getters or field_nodes[0].arguments:
                raise Unsupported(f"{object_type.name}.{name}")
            graphql_type = object_type.fields[name].type
            complete = self.complete(graphql_type, field_nodes)
            scalar = _named(graphql_type)
            fields.append(_Field(key, getters[name], complete, None if scalar is None else _INLINE.get(scalar)))
        return _generated(object_type.name, fields)

    def complete(self, graphql_type: Any, nodes: list[FieldNode]) -> Build:
        """graphql-core's `complete_value`, decided once per field instead of per value."""
        if isinstance(graphql_type, GraphQLNonNull):
            if is_leaf_type(graphql_type.of_type):
                return _leaf(graphql_type.of_type, required=True)
            inner = self.complete(graphql_type.of_type, nodes)

            def non_null(value: Any) -> Any:
                done = inner(value)
                if done is None:
                    raise Fallback  # graphql-core would answer with an error here
                return done

            return non_null
        if isinstance(graphql_type, GraphQLList):
            item = self.complete(graphql_type.of_type, nodes)
            return lambda value: None if value is None else [item(v) for v in value]
        if is_leaf_type(graphql_type):
            return _leaf(graphql_type, required=False)
        if isinstance(graphql_type, GraphQLObjectType):
            build = self.object(graphql_type, nodes)
            return lambda value: None if value is None else build(value)
        raise Unsupported(str(graphql_type))


# Built-in scalars whose `serialize` returns a value of exactly this type unchanged (graphql-core's
# scalars.py); anything else, and every custom scalar and enum, goes through `serialize` itself.
_UNCHANGED: dict[str, type] = {"String": str, "ID": str, "Boolean": bool}


def _leaf(leaf_type: Any, *, required: bool) -> Build:
    serialize = leaf_type.serialize
    same = _UNCHANGED.get(leaf_type.name)
    name = leaf_type.name

    def leaf(value: Any) -> Any:
        if value is None:
            if required:
                raise Fallback
            return None
        kind = type(value)
        if kind is same:
            return value
        if name == "Float" and kind is float and math.isfinite(value):
            return value
        if name == "Int" and kind is int and -(2**31) <= value < 2**31:
            return value
        done = serialize(value)
        if done is None and required:
            raise Fallback
        return done

    return leaf


@dataclass(frozen=True)
class _Field:
    key: str  # the response key
    get: Getter | None  # None: `__typename`
    complete: Build | None
    inline: tuple[str, str | None] | None  # a built-in scalar's common case (`_INLINE`)


# For these scalars, the value as read is already the answer when it has exactly this Python type (and
# passes the check on `v`); `_leaf`, with its checks and `serialize`, is called only otherwise.
_INLINE: dict[str, tuple[str, str | None]] = {
    "String": ("str", None),
    "ID": ("str", None),
    "Boolean": ("bool", None),
    "Int": ("int", "-2147483648 <= v < 2147483648"),
    "Float": ("float", "_isfinite(v)"),
}


def _named(graphql_type: Any) -> str | None:
    inner = graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type
    return inner.name if is_leaf_type(inner) else None


def _generated(typename: str, fields: list[_Field]) -> Build:
    """One function per object in the document, from a source to its dict: a dict display whose values
    read the source's attributes directly, in response-key order. Per-field loops and calls were most
    of a catalog page's CPU; the names in the code are response keys (GraphQL names) and the plan's own
    attribute paths, never a request's values."""
    names: dict[str, Any] = {"_isfinite": math.isfinite}
    values = []
    for i, f in enumerate(fields):
        if f.get is None:
            values.append(f"{f.key!r}: {typename!r}")
            continue
        if isinstance(f.get, str):
            read = f"source.{f.get}"
        else:
            names[f"get{i}"], read = f.get, f"get{i}(source)"
        names[f"complete{i}"] = f.complete
        if f.inline is None:
            values.append(f"{f.key!r}: complete{i}({read})")
        else:
            kind, check = f.inline
            test = f"type(v := {read}) is {kind}" + (f" and {check}" if check else "")
            values.append(f"{f.key!r}: (v if {test} else complete{i}(v))")
    code = "def build(source):\n    return {" + ", ".join(values) + "}\n"
    exec(compile(code, f"<fast path: {typename}>", "exec"), names)
    return names["build"]  # type: ignore[no-any-return]


def _names(sets: list[SelectionSetNode], fragments: dict[str, FragmentDefinitionNode], out: set[str]) -> set[str]:
    """`graphql.selection.selected_names` on the AST: every field name below, through fragments."""
    for selection_set in sets:
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                out.add(sel.name.value)
                if sel.selection_set is not None:
                    _names([sel.selection_set], fragments, out)
            elif isinstance(sel, InlineFragmentNode):
                _names([sel.selection_set], fragments, out)
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value in fragments:
                _names([fragments[sel.name.value].selection_set], fragments, out)
    return out


@dataclass(frozen=True)
class RootStep:
    key: str
    node: FieldNode | None  # None: `__typename`
    build: Build | None
    wanted: frozenset[str]


@dataclass(frozen=True)
class Plan:
    operation: OperationDefinitionNode
    steps: tuple[RootStep, ...]


def compile_plan(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Plan | None:
    """The plan for the operation, or None when the document is not (entirely) the plan's."""
    operation = pick_operation(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY or operation.directives:
        return None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    compiler = _Compiler(schema, fragments)
    query = schema.query_type
    assert query is not None
    try:
        fields = compiler.collect(query, [operation.selection_set], {}, set())
        steps = []
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name not in ROOT_FIELDS:
                return None
            if name == "__typename":
                steps.append(RootStep(key, None, None, frozenset()))
                continue
            sets = [n.selection_set for n in nodes if n.selection_set is not None]
            build = compiler.complete(query.fields[name].type, nodes)
            steps.append(RootStep(key, nodes[0], build, frozenset(_names(sets, fragments, set()))))
    except Unsupported:
        return None
    return Plan(operation, tuple(steps))


# -- running a plan ----------------------------------------------------------------------------------


def _plain(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def _audiobooks(step: RootStep, args: dict[str, Any], context: Any) -> Any:
    """`CatalogQueries.audiobooks`, the same calls and rules, into the plan's sources."""
    if args.get("semantic") is not None:
        raise Fallback
    search, wanted = args.get("search"), step.wanted
    if "matches" in wanted and search is not None:
        raise Fallback
    given = args.get("filter")
    flt = None
    if given is not None:
        flt = CatalogFilter(
            category=_plain(given.get("category")), author=_plain(given.get("author")),
            narrator=_plain(given.get("narrator")), language=_plain(given.get("language")),
            tag=_plain(given.get("tag")), series=_plain(given.get("series")),
        )  # fmt: skip
    viewer = await context.viewer()
    if viewer is None and context.token_error:
        raise Fallback  # the executor answers UNAUTHENTICATED
    include_drafts = viewer is not None and viewer.role == Role.ADMIN
    owned_by = viewer.id if viewer is not None and "owned" in wanted else None
    anonymous_owned = False if viewer is None else None
    async with context.catalog_reads(include_drafts) as s:
        try:
            page = await catalog.list_audiobook_rows(
                s, first=args.get("first"), after=args.get("after"), search=search, flt=flt, sort=args.get("sort"),
                include_drafts=include_drafts, with_text=bool(wanted & {"description", "summary"}),
                with_categories="categories" in wanted, owned_by=owned_by,
            )  # fmt: skip
        except ServiceError:
            raise Fallback from None  # the executor reports it as bad input
        files = await catalog.file_rows_for_books(s, [b.id for b in page.items]) if "files" in wanted else None
    res = context.resources

    def owned(b: Any) -> bool | None:
        return b.owned if owned_by else anonymous_owned  # type: ignore[no-any-return]

    edges = [
        EdgeSource(page.cursors, i, BookSource(b, None if files is None else files[b.id], owned(b), res))
        for i, b in enumerate(page.items)
    ]
    return ConnectionSource(page, edges)


async def run_plan(plan: Plan, schema: GraphQLSchema, context: Any, variables: dict[str, Any] | None) -> dict[str, Any]:
    coerced = get_variable_values(schema, plan.operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        raise Fallback  # the executor words the variable errors
    query = schema.query_type
    assert query is not None
    data: dict[str, Any] = {}
    for step in plan.steps:
        if step.node is None:
            data[step.key] = query.name
            continue
        args = get_argument_values(query.fields[step.node.name.value], step.node, coerced)
        source = await _audiobooks(step, args, context)
        assert step.build is not None
        try:
            data[step.key] = step.build(source)
        except (GraphQLError, TypeError, ValueError):
            raise Fallback from None  # a value a scalar refuses: the executor reports it on its field
    return data


class Plans:
    """Compiled plans per (document, operation name): a bounded LRU, one per schema."""

    def __init__(self, entries: int) -> None:
        self.entries = max(1, entries)
        self._items: OrderedDict[tuple[int, str | None], tuple[DocumentNode, Plan | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Plan | None:
        key = (id(document), operation_name)
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0] is document:
                self._items.move_to_end(key)
                return found[1]
        plan = compile_plan(schema, document, operation_name)
        with self._lock:
            self._items[key] = (document, plan)  # holding the document keeps its id from being reused
            while len(self._items) > self.entries:
                self._items.popitem(last=False)
        return plan


class FastPath(SchemaExtension):
    """Answer planned catalog documents before execution; Strawberry then skips graphql-core."""

    def __init__(self, plans: Plans) -> None:
        super().__init__()
        self.plans = plans

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        ec = self.execution_context
        context = ec.context
        enabled = isinstance(context, Context) and context.resources.settings.fast_path
        if enabled and ec.graphql_document is not None and not ec.pre_execution_errors and ec.result is None:
            schema = ec.schema._schema
            plan = self.plans.get(schema, ec.graphql_document, ec.operation_name)
            if plan is None:
                metrics.GRAPHQL_FAST_PATH.labels("unsupported").inc()
            else:
                try:
                    data = await run_plan(plan, schema, context, ec.variables)
                except Fallback:
                    metrics.GRAPHQL_FAST_PATH.labels("fallback").inc()
                else:
                    metrics.GRAPHQL_FAST_PATH.labels("fast").inc()
                    ec.result = ExecutionResult(data=data)
        yield
