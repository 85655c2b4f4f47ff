"""The keras-seq2seq training model written in PyTorch, as a speed reference.

Benchmark-only: the package does not depend on PyTorch. Install the CPU build with
`pip install torch==2.13.0` (or `make bench-deps`).

Same architecture as `keras_seq2seq.models.build_seq2seq` with `attention="dot"`,
unidirectional encoder and no dropout: embeddings → N-layer LSTM encoder (packed, so the
final states are those of each source's last real token) → N-layer LSTM decoder started from
the encoder's final states → Luong dot attention over the encoder outputs (padding masked) →
`tanh(W [context; decoder output])` → output projection. Loss: token cross-entropy summed
over non-padding targets and divided by their count; Adam with global-norm clipping. The
same as keras-seq2seq's `MaskedSparseCrossentropy` and `compile_model`.

    >>> model = TorchSeq2Seq(30, 20, embedding_dim=8, units=16, num_layers=1)
    >>> # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


class TorchSeq2Seq(nn.Module):
    """Encoder–decoder LSTM with dot attention (the keras-seq2seq training model)."""

    def __init__(
        self,
        source_vocabulary_size: int,
        target_vocabulary_size: int,
        *,
        embedding_dim: int,
        units: int,
        num_layers: int,
    ):
        super().__init__()
        self.source_embedding = nn.Embedding(source_vocabulary_size, embedding_dim, padding_idx=0)
        self.target_embedding = nn.Embedding(target_vocabulary_size, embedding_dim, padding_idx=0)
        self.encoder = nn.LSTM(embedding_dim, units, num_layers=num_layers, batch_first=True)
        self.decoder = nn.LSTM(embedding_dim, units, num_layers=num_layers, batch_first=True)
        self.attention_projection = nn.Linear(2 * units, units)
        self.output_projection = nn.Linear(units, target_vocabulary_size)

    def forward(self, source: torch.Tensor, target_input: torch.Tensor) -> torch.Tensor:
        """Teacher-forcing logits `[B, T, V]` for right-padded `source [B, S]`, `target [B, T]`."""
        source_mask = source != 0
        lengths = source_mask.sum(dim=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            self.source_embedding(source), lengths, batch_first=True, enforce_sorted=False
        )
        memory, states = self.encoder(packed)
        memory, _ = nn.utils.rnn.pad_packed_sequence(
            memory, batch_first=True, total_length=source.shape[1]
        )
        y, _ = self.decoder(self.target_embedding(target_input), states)
        scores = torch.bmm(y, memory.transpose(1, 2))
        scores = scores.masked_fill(~source_mask.unsqueeze(1), -1e9)
        context = torch.bmm(torch.softmax(scores, dim=-1), memory)
        y = torch.tanh(self.attention_projection(torch.cat([context, y], dim=-1)))
        return self.output_projection(y)


def masked_loss(logits: torch.Tensor, target_output: torch.Tensor) -> torch.Tensor:
    """Cross-entropy summed over non-padding targets, divided by their count."""
    total = nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),
        target_output.reshape(-1),
        ignore_index=0,
        reduction="sum",
    )
    return total / (target_output != 0).sum().clamp(min=1)


def time_training(
    batches: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    source_vocabulary_size: int,
    target_vocabulary_size: int,
    embedding_dim: int,
    units: int,
    num_layers: int,
    warmup_batches: int = 5,
    learning_rate: float = 1e-3,
    clipnorm: float = 5.0,
    seed: int = 0,
    bfloat16: bool = False,
) -> tuple[float, float]:
    """Trains on `batches` once (after `warmup_batches` untimed steps).

    Args:
        batches: sequence of `(source, target_input, target_output)` int arrays, right-padded.
        source_vocabulary_size, target_vocabulary_size, embedding_dim, units, num_layers:
            the model.
        warmup_batches: int. Steps run before the clock starts (from the start of `batches`).
        learning_rate: float. Adam learning rate.
        clipnorm: float. Global gradient-norm clip.
        seed: int. Weight initialisation seed.
        bfloat16: bool. Run the forward pass and loss under
            `torch.autocast("cpu", dtype=torch.bfloat16)` (float32 weights).

    Returns:
        (seconds, final_loss) for the timed pass over all of `batches`.
    """
    torch.manual_seed(seed)
    model = TorchSeq2Seq(
        source_vocabulary_size,
        target_vocabulary_size,
        embedding_dim=embedding_dim,
        units=units,
        num_layers=num_layers,
    )
    return train_timed(model, batches, warmup_batches, learning_rate, clipnorm, bfloat16)


def train_timed(
    model: nn.Module,
    batches: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    warmup_batches: int,
    learning_rate: float,
    clipnorm: float,
    bfloat16: bool = False,
) -> tuple[float, float]:
    """Adam + clipping on `batches` after `warmup_batches` untimed steps; (seconds, loss)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    tensors = [tuple(torch.from_numpy(np.asarray(a, dtype=np.int64)) for a in b) for b in batches]

    def step(source, target_input, target_output):
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            loss = masked_loss(model(source, target_input), target_output)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clipnorm)
        optimizer.step()
        return loss

    model.train()
    for batch in tensors[:warmup_batches]:
        step(*batch)
    started = time.perf_counter()
    loss = None
    for batch in tensors:
        loss = step(*batch)
    seconds = time.perf_counter() - started
    return seconds, float(loss.detach()) if loss is not None else float("nan")
