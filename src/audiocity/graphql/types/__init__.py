"""One module per GraphQL object type; each builds from plain model rows."""
