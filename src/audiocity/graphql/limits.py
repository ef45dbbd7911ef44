"""What one GraphQL document may ask for: depth, aliases, root fields, credential checks and cost.

Pure functions over graphql-core's AST, run before validation (validating 10,000 aliases is itself
the attack) and off the event loop for big documents. Fragments are followed and memoised per name,
so a document that spreads fragments into each other is measured by what it would execute, in time
linear in its size. The cost model follows Shopify's: objects cost 1, scalars and enums 0, and a
connection costs 2 plus `first` times the cost of one item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
    visit,
)
from graphql.language import DocumentNode, Visitor

# Mutations that check a password or a sign-in secret: one per document, so aliases cannot batch guesses.
CREDENTIAL_FIELDS = frozenset(
    {"login", "changePassword", "resetPassword", "signInWithGoogle", "exchangeSignInCode", "refreshToken"}
)
DEFAULT_PAGE = 100  # `first` left out or given as a variable without a value: assume the cap


@dataclass(frozen=True)
class Limits:
    tokens: int = 5_000
    depth: int = 12
    aliases: int = 30
    root_fields: int = 20
    cost: int = 1_000


class LimitExceeded(GraphQLError):
    """A document over a limit; `extensions` carries the code, which limit, and the numbers."""

    def __init__(self, message: str, code: str, limit_name: str, **numbers: int) -> None:
        super().__init__(message, extensions={"code": code, "limit": limit_name, **numbers})


def too_complex(what: str, found: int, allowed: int) -> LimitExceeded:
    return LimitExceeded(
        f"The query exceeds the {what} limit ({found} > {allowed}).",
        "QUERY_TOO_COMPLEX",
        what,
        found=found,
        allowed=allowed,
    )


def pick_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


@dataclass
class _Walker:
    fragments: dict[str, FragmentDefinitionNode]
    depth_memo: dict[str, int] = field(default_factory=dict)
    alias_memo: dict[str, int] = field(default_factory=dict)
    visiting: set[str] = field(default_factory=set)

    def depth(self, selection_set: SelectionSetNode | None, cap: int) -> int:
        """Deepest field nesting below here; stops counting past `cap` (so it never recurses far)."""
        if selection_set is None:
            return 0
        deepest = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                d = 1 + (self.depth(sel.selection_set, cap - 1) if sel.selection_set and cap > 0 else 0)
            elif isinstance(sel, InlineFragmentNode):
                d = self.depth(sel.selection_set, cap)
            elif isinstance(sel, FragmentSpreadNode):
                d = self._fragment(sel.name.value, self.depth_memo, lambda f: self.depth(f.selection_set, cap))
            else:  # pragma: no cover - no other selection kinds exist
                d = 0
            deepest = max(deepest, d)
            if deepest > cap:
                break
        return deepest

    def aliases(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        total = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                total += (1 if sel.alias else 0) + self.aliases(sel.selection_set)
            elif isinstance(sel, InlineFragmentNode):
                total += self.aliases(sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode):
                total += self._fragment(sel.name.value, self.alias_memo, lambda f: self.aliases(f.selection_set))
        return total

    def root_fields(self, selection_set: SelectionSetNode, seen: set[str] | None = None) -> list[FieldNode]:
        """Top-level fields by response key (duplicates merge, as execution does)."""
        seen = set() if seen is None else seen
        found: list[FieldNode] = []
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                key = (sel.alias or sel.name).value
                if key not in seen:
                    seen.add(key)
                    found.append(sel)
            elif isinstance(sel, InlineFragmentNode):
                found += self.root_fields(sel.selection_set, seen)
            elif isinstance(sel, FragmentSpreadNode):
                frag = self.fragments.get(sel.name.value)
                if frag is not None and sel.name.value not in self.visiting:
                    self.visiting.add(sel.name.value)
                    found += self.root_fields(frag.selection_set, seen)
                    self.visiting.discard(sel.name.value)
        return found

    def _fragment(self, name: str, memo: dict[str, int], measure: Any) -> int:
        if name in memo:
            return memo[name]
        frag = self.fragments.get(name)
        if frag is None or name in self.visiting:
            return 0  # unknown fragment or a cycle: validation reports it
        self.visiting.add(name)
        try:
            memo[name] = int(measure(frag))
        finally:
            self.visiting.discard(name)
        return memo[name]


def check_shape(document: DocumentNode, operation_name: str | None, limits: Limits) -> None:
    """Raise `LimitExceeded` for a document too deep, too aliased or too wide; otherwise return.

    A document whose operation cannot be picked is left alone: validation explains what is wrong.
    """
    operation = pick_operation(document, operation_name)
    if operation is None:
        return
    walker = _Walker(_fragments(document))
    depth = walker.depth(operation.selection_set, limits.depth)
    if depth > limits.depth:
        raise too_complex("depth", depth, limits.depth)
    aliases = walker.aliases(operation.selection_set)
    if aliases > limits.aliases:
        raise too_complex("aliases", aliases, limits.aliases)
    roots = walker.root_fields(operation.selection_set)
    if len(roots) > limits.root_fields:
        raise too_complex("rootFields", len(roots), limits.root_fields)
    credentials = sum(1 for f in roots if f.name.value in CREDENTIAL_FIELDS)
    if credentials > 1:
        raise LimitExceeded(
            "Only one sign-in or password field may be asked for per request.",
            "QUERY_TOO_COMPLEX",
            "credentialFields",
            found=credentials,
            allowed=1,
        )


def has_nul(document: DocumentNode, variables: Mapping[str, Any] | None) -> bool:
    """PostgreSQL text cannot hold NUL: find it in string literals or in variable values."""
    found = False

    class Finder(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            nonlocal found
            if "\x00" in node.value:
                found = True

    visit(document, Finder())
    return found or _nul_in_value(variables)


def _nul_in_value(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


@dataclass
class _Coster:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    memo: dict[str, int] = field(default_factory=dict)
    visiting: set[str] = field(default_factory=set)

    def cost(self, selection_set: SelectionSetNode | None, parent: Any) -> int:
        if selection_set is None:
            return 0
        total = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                total += self._field(sel, parent)
            elif isinstance(sel, InlineFragmentNode):
                cond = self.schema.get_type(sel.type_condition.name.value) if sel.type_condition else parent
                total += self.cost(sel.selection_set, cond or parent)
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                if name in self.memo:
                    total += self.memo[name]
                    continue
                frag = self.fragments.get(name)
                if frag is None or name in self.visiting:
                    continue
                self.visiting.add(name)
                self.memo[name] = self.cost(frag.selection_set, self.schema.get_type(frag.type_condition.name.value))
                self.visiting.discard(name)
                total += self.memo[name]
        return total

    def _field(self, node: FieldNode, parent: Any) -> int:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 0  # __typename and friends
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        child = self.cost(node.selection_set, named)
        if "first" in definition.args:
            return 2 + self._first(node) * child
        return 1 + child

    def _first(self, node: FieldNode) -> int:
        for arg in node.arguments or ():
            if arg.name.value != "first":
                continue
            value = arg.value
            if isinstance(value, IntValueNode):
                return max(0, int(value.value))
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                return max(0, given) if isinstance(given, int) else DEFAULT_PAGE
        return DEFAULT_PAGE


def _unwrap(t: Any) -> Any:
    while isinstance(t, GraphQLNonNull | GraphQLList):
        t = t.of_type
    return t


def query_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None
) -> int:
    """The cost of the operation that would run, for a document that passed validation."""
    operation = pick_operation(document, operation_name)
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    coster = _Coster(schema, _fragments(document), variables or {})
    return coster.cost(operation.selection_set, _unwrap(root))
