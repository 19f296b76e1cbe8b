"""The PyTorch network behind :class:`tuijian.models.sasrec.SASRec`.

This module imports torch at the top, so only import it from inside functions
(``import tuijian`` must stay light).

The network follows SASRec (Kang & McAuley, 2018) with the changes that the
eSASRec / gSASRec line of work found to matter: pre-LayerNorm Transformer
blocks with a GELU feed-forward, a final LayerNorm, learned positional
embeddings, input and output item embeddings tied, and training with full
softmax cross-entropy computed only at non-padding positions.

Sequences are right-padded with item id 0 (real items are ``index + 1``). The
attention is causal, so a real position never sees padding and no key-padding
mask is needed.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SASRecNet(nn.Module):
    def __init__(
        self,
        n_items: int,
        n_factors: int,
        n_layers: int,
        n_heads: int,
        max_len: int,
        dropout: float,
        attention_dropout: float,
        ff_mult: int = 4,
    ) -> None:
        super().__init__()
        self.n_factors = n_factors
        self.max_len = max_len
        self.item_emb = nn.Embedding(n_items + 1, n_factors, padding_idx=0)
        self.pos_emb = nn.Embedding(max_len, n_factors)
        self.emb_dropout = nn.Dropout(dropout)
        layers = [
            nn.TransformerEncoderLayer(
                d_model=n_factors,
                nhead=n_heads,
                dim_feedforward=n_factors * ff_mult,
                dropout=dropout,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(n_layers)
        ]
        for layer in layers:
            layer.self_attn.dropout = attention_dropout
        self.layers = nn.ModuleList(layers)
        self.final_norm = nn.LayerNorm(n_factors)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        std = 1.0 / math.sqrt(self.n_factors)
        nn.init.normal_(self.item_emb.weight, std=std)
        nn.init.normal_(self.pos_emb.weight, std=std)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()

    def item_weights(self) -> torch.Tensor:
        """Output item embeddings (tied with the input ones), ``n_items x n_factors``."""
        return self.item_emb.weight[1:]

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """Hidden states ``(batch, length, n_factors)`` of a right-padded ``(batch, length)`` sequence batch."""
        length = seq.shape[1]
        positions = torch.arange(length, device=seq.device)
        x = self.item_emb(seq) * math.sqrt(self.n_factors) + self.pos_emb(positions)[None]
        x = self.emb_dropout(x)
        mask = nn.Transformer.generate_square_subsequent_mask(length, device=seq.device, dtype=x.dtype)
        for layer in self.layers:
            x = layer(x, src_mask=mask, is_causal=True)
        return self.final_norm(x)

    def last_hidden(self, seq: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Hidden state at each row's last real position, ``(batch, n_factors)``."""
        h = self.forward(seq)
        return h[torch.arange(seq.shape[0], device=seq.device), lengths - 1]
