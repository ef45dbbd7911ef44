"""Plain HTTP routes served beside GraphQL."""
