"""One module per group of mutations; `Mutation` merges them."""
