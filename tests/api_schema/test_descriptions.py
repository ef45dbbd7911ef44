"""Integrators read the schema through introspection: every type, field, argument and enum value says what it is."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
)

from audiocity.graphql.schema import build_schema as build_app_schema


def undescribed(schema: GraphQLSchema) -> list[str]:
    """Everything the schema defines (built-in scalars and introspection types aside) that lacks a description."""
    missing: list[str] = []
    for name, named in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not named.description:
            missing.append(f"type {name}")
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in named.fields.items():
                if not field.description:
                    missing.append(f"field {name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not arg.description:
                        missing.append(f"argument {name}.{field_name}({arg_name})")
        if isinstance(named, GraphQLEnumType):
            missing += [f"enum value {name}.{v}" for v, value in named.values.items() if not value.description]
    return missing


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    missing = undescribed(build_app_schema()._schema)
    assert missing == [], "add descriptions: " + ", ".join(missing)


def test_the_check_finds_each_kind_of_gap() -> None:
    sdl = """
        "Q" type Query { "f" f("a" a: Int, b: Int): E, g: Int }
        "E" enum E { "x" X Y }
        input I { "i" i: Int }
        type T { "t" t(x: I): Int }
    """
    assert sorted(undescribed(build_schema(sdl))) == [
        "argument Query.f(b)", "argument T.t(x)", "enum value E.Y", "field Query.g", "type I", "type T",
    ]  # fmt: skip
