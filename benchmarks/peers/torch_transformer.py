"""The keras-seq2seq Transformer written in PyTorch, as a speed reference.

Benchmark-only: the package does not depend on PyTorch (`make bench-deps` installs it).

Same model as `keras_seq2seq.models.transformer` without dropout: token embeddings scaled by
sqrt(d) plus sinusoidal positions (sin in the first half, cos in the second), pre-layer-norm
blocks (`x + attention(LayerNorm(x))`, `x + FFN(LayerNorm(x))`, ReLU), source padding masks,
a causal mask on the target, a final LayerNorm on each stack, an untied output projection.
`torch.nn.MultiheadAttention` for the attention layers (batch first). Loss, optimizer and
batches as in `torch_seq2seq`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from peers.torch_seq2seq import train_timed
from torch import nn


def sinusoidal(length: int, depth: int) -> torch.Tensor:
    half = depth // 2
    rates = torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(10000.0) / (half - 1)))
    angles = torch.arange(length, dtype=torch.float32)[:, None] * rates[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


class Block(nn.Module):
    """One pre-layer-norm block: self-attention, optional cross-attention, feed-forward."""

    def __init__(self, units: int, heads: int, ffn_dim: int, cross: bool):
        super().__init__()
        self.self_norm = nn.LayerNorm(units, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(units, heads, batch_first=True)
        self.cross = cross
        if cross:
            self.cross_norm = nn.LayerNorm(units, eps=1e-6)
            self.cross_attention = nn.MultiheadAttention(units, heads, batch_first=True)
        self.ffn_norm = nn.LayerNorm(units, eps=1e-6)
        self.ffn = nn.Sequential(nn.Linear(units, ffn_dim), nn.ReLU(), nn.Linear(ffn_dim, units))

    def forward(self, x, self_mask, padding, memory=None, memory_padding=None):
        h = self.self_norm(x)
        x = x + self.self_attention(h, h, h, attn_mask=self_mask, key_padding_mask=padding,
                                    need_weights=False)[0]  # fmt: skip
        if self.cross:
            h = self.cross_norm(x)
            x = x + self.cross_attention(h, memory, memory, key_padding_mask=memory_padding,
                                         need_weights=False)[0]  # fmt: skip
        return x + self.ffn(self.ffn_norm(x))


class TorchTransformer(nn.Module):
    def __init__(self, source_vocabulary_size, target_vocabulary_size, *, units, num_layers,
                 heads, ffn_dim):  # fmt: skip
        super().__init__()
        self.units = units
        self.source_embedding = nn.Embedding(source_vocabulary_size, units)
        self.target_embedding = nn.Embedding(target_vocabulary_size, units)
        self.encoder = nn.ModuleList(Block(units, heads, ffn_dim, False) for _ in range(num_layers))
        self.decoder = nn.ModuleList(Block(units, heads, ffn_dim, True) for _ in range(num_layers))
        self.encoder_norm = nn.LayerNorm(units, eps=1e-6)
        self.decoder_norm = nn.LayerNorm(units, eps=1e-6)
        self.output_projection = nn.Linear(units, target_vocabulary_size)

    def embed(self, embedding, ids):
        positions = sinusoidal(ids.shape[1], self.units)
        return embedding(ids) * math.sqrt(self.units) + positions[None]

    def forward(self, source, target_input):
        source_padding = source == 0
        x = self.embed(self.source_embedding, source)
        for block in self.encoder:
            x = block(x, None, source_padding)
        memory = self.encoder_norm(x)
        steps = target_input.shape[1]
        causal = torch.triu(torch.ones(steps, steps, dtype=torch.bool), diagonal=1)
        y = self.embed(self.target_embedding, target_input)
        for block in self.decoder:
            y = block(y, causal, None, memory, source_padding)
        return self.output_projection(self.decoder_norm(y))


def time_training(
    batches: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    source_vocabulary_size: int,
    target_vocabulary_size: int,
    units: int,
    num_layers: int,
    heads: int,
    ffn_dim: int,
    warmup_batches: int = 5,
    learning_rate: float = 1e-3,
    clipnorm: float = 5.0,
    seed: int = 0,
    **unused,
) -> tuple[float, float]:
    """Trains on `batches` once after `warmup_batches` untimed steps; (seconds, final loss)."""
    torch.manual_seed(seed)
    model = TorchTransformer(source_vocabulary_size, target_vocabulary_size, units=units,
                             num_layers=num_layers, heads=heads, ffn_dim=ffn_dim)  # fmt: skip
    return train_timed(model, batches, warmup_batches, learning_rate, clipnorm)
