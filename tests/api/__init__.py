"""The GraphQL API as a whole, whatever the feature: Relay refetching, ID inputs, what browsers see."""
