"""Attention layers: `Attention` (Luong), `AdditiveAttention` (Bahdanau) and
`MultiHeadAttention`."""

from rnnkit.layers.attention.attention import AdditiveAttention, Attention
from rnnkit.layers.attention.multi_head_attention import MultiHeadAttention

__all__ = ["AdditiveAttention", "Attention", "MultiHeadAttention"]
