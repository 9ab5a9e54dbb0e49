"""Linked-data pages family: minted IRIs dereferenced, the dataset, validation, dumps, search."""
