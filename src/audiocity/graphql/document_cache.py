"""Each distinct document is parsed, shape-checked and validated once per process.

The hot catalog page arrives thousands of times with the same text. Strawberry's validation cache
keys its LRU on the parsed `DocumentNode`, a frozen dataclass whose hash walks the whole tree on
every lookup, and the guard's limit checks (`graphql/limits.py`) walked the document again per
request. Here the key is the sha256 of the document text plus the schema and its validation rules,
and the entry keeps every outcome that depends on the document alone:

- the parsed document (parse errors are not kept: a bad document is parsed, and refused, each time);
- per operation name, the limit check's outcome (`LimitExceeded` is raised anew from its arguments);
- the validation errors (copied out, so one request's decoration never leaks into another's);
- whether a string literal holds a NUL (variables are still checked per request);
- the cost, per operation name and the values of the variables the cost read (`first: $n`).

Bounded LRU (`DOCUMENT_CACHE_SIZE` entries), one per process; the guard owns it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse
from strawberry.schema.schema import validate_document

from audiocity.graphql.limits import LimitExceeded, Limits, check_shape, has_nul, query_cost

# Module-level names so tests can count the work done (the counting test patches these).
validate = validate_document
parse_document = parse
COSTS_PER_DOCUMENT = 32  # distinct (operation, `first` variables) costs kept per document


@dataclass
class _Outcome:
    """A `check_shape` verdict: None when the document is within the limits."""

    refusal: tuple[str, str, str, dict[str, int]] | None

    def raise_if_refused(self) -> None:
        if self.refusal is not None:
            message, code, limit_name, numbers = self.refusal
            raise LimitExceeded(message, code, limit_name, **numbers)


@dataclass
class CheckedDocument:
    """What one document text earns once: its tree and every verdict that does not depend on variables."""

    document: DocumentNode
    shapes: dict[str | None, _Outcome] = field(default_factory=dict)
    errors: list[GraphQLError] | None = None
    literal_nul: bool | None = None
    costs: OrderedDict[tuple[Any, ...], int] = field(default_factory=OrderedDict)

    def check_shape(self, operation_name: str | None, limits: Limits) -> None:
        outcome = self.shapes.get(operation_name)
        if outcome is None:
            try:
                check_shape(self.document, operation_name, limits)
                outcome = _Outcome(None)
            except LimitExceeded as exc:
                ext = dict(exc.extensions or {})
                code, limit_name = str(ext.pop("code")), str(ext.pop("limit"))
                outcome = _Outcome((exc.message, code, limit_name, ext))
            self.shapes[operation_name] = outcome
        outcome.raise_if_refused()

    def validation_errors(self, schema: GraphQLSchema, rules: tuple[Any, ...]) -> list[GraphQLError]:
        if self.errors is None:
            errors: list[GraphQLError] = validate(schema, self.document, rules)
            for error in errors:
                if error.extensions is not None and "code" not in error.extensions:
                    error.extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
            self.errors = errors
        return [_copy(e) for e in self.errors]

    def has_nul(self, variables: Mapping[str, Any] | None) -> bool:
        if self.literal_nul is None:
            self.literal_nul = has_nul(self.document, None)
        return self.literal_nul or has_nul(_EMPTY, variables)

    def cost(self, schema: GraphQLSchema, operation_name: str | None, variables: Mapping[str, Any] | None) -> int:
        """`query_cost`, remembered by the operation and the values of the variables it read."""
        given = variables or {}
        for (name, read), cost in self.costs.items():
            if name == operation_name and all(_same(given.get(k, _MISSING), v) for k, v in read):
                return cost
        recording = _Recording(given)
        cost = query_cost(schema, self.document, operation_name, recording)
        self.costs[(operation_name, tuple(recording.read.items()))] = cost
        while len(self.costs) > COSTS_PER_DOCUMENT:
            self.costs.popitem(last=False)
        return cost


Key = tuple[int, tuple[Any, ...], str]
_EMPTY = DocumentNode(definitions=())
_MISSING = object()


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


class _Recording(dict[str, Any]):
    """The variables, noting which ones (and what values) the cost model looked at."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.read: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        self.read[key] = super().get(key, _MISSING)
        return super().get(key, default)


def _copy(error: GraphQLError) -> GraphQLError:
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=dict(error.extensions) if error.extensions is not None else None,
    )


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class DocumentCache:
    """Checked documents by (schema, validation rules, text hash): a bounded LRU, safe across threads."""

    def __init__(self, entries: int) -> None:
        self.entries = max(1, entries)
        self._items: OrderedDict[Key, CheckedDocument] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def key(self, schema: GraphQLSchema, rules: tuple[Any, ...], text: str) -> Key:
        return (id(schema), rules, text_key(text))

    def get(self, key: Key) -> CheckedDocument | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def parse(self, key: Key, text: str, parser: Callable[[str], DocumentNode]) -> CheckedDocument:
        """The entry for `text`, parsing it on a miss; parse errors propagate and are not kept."""
        found = self.get(key)
        if found is not None:
            return found
        checked = CheckedDocument(parser(text))
        with self._lock:
            self._items[key] = checked
            while len(self._items) > self.entries:
                self._items.popitem(last=False)
        return checked
