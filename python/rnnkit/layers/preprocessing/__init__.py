"""Preprocessing layers that run on the host, as in Keras: `TextVectorization`,
`StringLookup`, `IntegerLookup`, `Hashing`, `Normalization` and `Discretization`."""

__all__ = []
