"""The GraphQL API: thin resolvers over `audiocity.services`."""
