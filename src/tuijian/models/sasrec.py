"""SASRec: self-attentive next-item recommendation, trained with full-softmax cross-entropy.

A causal Transformer reads a user's items in time order; the hidden state at
the last position, dotted with every item's embedding, scores the next item.
Following eSASRec (RecSys 2025) and gSASRec, it is trained with cross-entropy
over *all* items (not binary loss with one sampled negative), uses pre-LN
Transformer blocks, learned positions and tied item embeddings, and computes
the loss only at real (non-padding) positions. See :mod:`.sasrec_net`.

Training stops early on the validation split: after each epoch the model ranks
every validation user's held-out item (given the training sequence) against all
items and keeps the weights with the best NDCG@10. ``fit(train, valid)`` takes
that split explicitly; ``fit(train)`` holds out each user's last training item.

At scoring time the sequence is ``batch.sequences`` (the training sequence for
known users, the given one for unknown users), so feeding a longer sequence
(say, training + validation items) predicts what comes after it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.base import Recommender, ScoringBatch, UserArg
from tuijian.models.sequential_data import (
    length_batches,
    load_interactions,
    pad_right,
    rank_metrics,
    read_config,
    save_interactions,
    valid_targets,
)

if TYPE_CHECKING:
    from tuijian.explain.reasons import Evidence, Explanation

_SCORE_BATCH = 512


def _cpu_has_bf16() -> bool:
    """Whether this CPU runs bfloat16 matmuls natively (otherwise they are emulated and slower)."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class SASRec(Recommender):
    """Self-attentive sequential recommender (PyTorch, CPU).

    Parameters
    ----------
    n_factors: hidden size (item embedding dimension).
    n_layers, n_heads: Transformer depth and attention heads.
    max_len: longest sequence suffix the model reads.
    dropout, attention_dropout: dropout on embeddings/blocks and on attention weights.
    learning_rate, weight_decay: AdamW settings.
    batch_size: sequences per training step.
    n_epochs: upper bound on epochs; ``patience``: epochs without a validation
        gain before stopping (``eval_every`` epochs apart).
    random_state: seed for weights, dropout and batching.
    num_threads: torch CPU threads while fitting and scoring.
    mixed_precision: compute the training logits (``hidden x all items``) in
        bfloat16 with float32 weights and loss, where the CPU supports bfloat16
        natively (else float32); scoring is always float32.
    show_progress: a tqdm bar per fit with loss and validation NDCG@10.
    """

    name = "sasrec"

    def __init__(
        self,
        n_factors: int = 64,
        n_layers: int = 2,
        n_heads: int = 1,
        max_len: int = 50,
        dropout: float = 0.3,
        attention_dropout: float = 0.2,
        learning_rate: float = 3e-3,
        weight_decay: float = 0.0,
        batch_size: int = 128,
        n_epochs: int = 30,
        patience: int = 3,
        eval_every: int = 1,
        random_state: int = 42,
        num_threads: int = 2,
        mixed_precision: bool = True,
        show_progress: bool = True,
    ) -> None:
        self.n_factors = n_factors
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.max_len = max_len
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.n_epochs = n_epochs
        self.patience = patience
        self.eval_every = eval_every
        self.random_state = random_state
        self.num_threads = num_threads
        self.mixed_precision = mixed_precision
        self.show_progress = show_progress

    # ------------------------------------------------------------------ checks
    def _validate_params(self) -> None:
        ints = {
            "n_factors": self.n_factors,
            "n_layers": self.n_layers,
            "n_heads": self.n_heads,
            "max_len": self.max_len,
            "batch_size": self.batch_size,
            "n_epochs": self.n_epochs,
            "patience": self.patience,
            "eval_every": self.eval_every,
            "num_threads": self.num_threads,
        }
        for key, value in ints.items():
            if not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"SASRec {key} must be a positive integer, got {value!r}")
        if self.n_factors % self.n_heads:
            raise ConfigError(
                f"SASRec n_factors ({self.n_factors}) must be divisible by n_heads ({self.n_heads})"
            )
        for key in ("dropout", "attention_dropout"):
            value = getattr(self, key)
            if not 0.0 <= float(value) < 1.0:
                raise ConfigError(f"SASRec {key} must be in [0, 1), got {value!r}")
        if not float(self.learning_rate) > 0:
            raise ConfigError(f"SASRec learning_rate must be > 0, got {self.learning_rate!r}")
        if float(self.weight_decay) < 0:
            raise ConfigError(f"SASRec weight_decay must be >= 0, got {self.weight_decay!r}")

    # ------------------------------------------------------------------ fitting
    def fit(self, interactions: Interactions, valid: Interactions | None = None) -> Self:
        """Train on ``interactions``; stop early on ``valid`` (held-out next items, same id maps).

        Without ``valid`` the last item of every training sequence with at least
        three items is held out for early stopping.
        """
        self._validate_params()
        self._pending_valid = valid
        try:
            return super().fit(interactions)
        finally:
            del self._pending_valid

    def _fit(self, interactions: Interactions) -> None:
        import torch
        import torch.nn.functional as F
        from tqdm.auto import tqdm

        from tuijian.models.sasrec_net import SASRecNet

        valid = self._pending_valid
        seqs = interactions.sequences()
        n_items = interactions.n_items
        if valid is not None:
            targets = valid_targets(valid, interactions.n_users, n_items)
            train_seqs = seqs
            valid_seqs = seqs
        else:
            targets = np.array([s[-1] if len(s) >= 3 else -1 for s in seqs], dtype=np.int64)
            train_seqs = [s[:-1] if len(s) >= 3 else s for s in seqs]
            valid_seqs = train_seqs
        valid_users = np.flatnonzero((targets >= 0) & np.array([len(s) > 0 for s in valid_seqs]))
        # every sequence of >= 2 items trains: inputs s[:-1] predict s[1:]
        train_rows = [np.asarray(s[-(self.max_len + 1) :], dtype=np.int64) for s in train_seqs if len(s) >= 2]
        if not train_rows:
            raise ConfigError("SASRec needs at least one user with two or more interactions to learn from")
        lengths = np.array([len(s) - 1 for s in train_rows], dtype=np.int64)

        prev_threads = torch.get_num_threads()
        torch.set_num_threads(self.num_threads)
        try:
            torch.manual_seed(self.random_state)
            use_bf16 = bool(self.mixed_precision) and _cpu_has_bf16()
            rng = np.random.default_rng(self.random_state)
            net = SASRecNet(
                n_items,
                self.n_factors,
                self.n_layers,
                self.n_heads,
                self.max_len,
                self.dropout,
                self.attention_dropout,
            )
            opt = torch.optim.AdamW(
                net.parameters(), lr=self.learning_rate, betas=(0.9, 0.98), weight_decay=self.weight_decay
            )
            self.net_ = net
            best_ndcg, best_epoch, best_state, bad = -1.0, 0, None, 0
            self.history_: list[dict[str, float]] = []
            started, cpu_started = time.perf_counter(), time.process_time()
            bar = tqdm(
                range(1, self.n_epochs + 1), desc="SASRec", unit="epoch", disable=not self.show_progress
            )
            for epoch in bar:
                net.train()
                total, count = 0.0, 0
                for idx in length_batches(lengths, self.batch_size, rng):
                    ids, _ = pad_right([train_rows[j] for j in idx])
                    batch = torch.from_numpy(ids)
                    inputs, labels = batch[:, :-1], batch[:, 1:]
                    keep = labels > 0
                    hidden = net(inputs)[keep]
                    weights = net.item_weights()
                    if use_bf16:  # the n_items-wide matmuls dominate; bf16 is ~4x faster there
                        logits = F.linear(hidden.bfloat16(), weights.bfloat16()).float()
                    else:
                        logits = F.linear(hidden, weights)
                    loss = F.cross_entropy(logits, labels[keep] - 1)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    n_pos = int(keep.sum())
                    total += loss.item() * n_pos
                    count += n_pos
                record = {"epoch": float(epoch), "loss": total / max(count, 1)}
                if len(valid_users) and (epoch % self.eval_every == 0 or epoch == self.n_epochs):
                    ndcg = self._valid_ndcg(valid_seqs, valid_users, targets, interactions)
                    record["valid_ndcg@10"] = ndcg
                    if ndcg > best_ndcg:
                        best_ndcg, best_epoch, bad = ndcg, epoch, 0
                        best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                    else:
                        bad += 1
                record["seconds"] = time.perf_counter() - started
                record["cpu_seconds"] = time.process_time() - cpu_started
                self.history_.append(record)
                bar.set_postfix(loss=f"{record['loss']:.4f}", ndcg=f"{best_ndcg:.4f}", best=best_epoch)
                if bad >= self.patience:
                    break
            bar.close()
            if best_state is not None:
                net.load_state_dict(best_state)
            net.eval()
            self.best_epoch_ = best_epoch if best_state is not None else len(self.history_)
            self.best_valid_ndcg_ = max(best_ndcg, 0.0)
            self.popularity_ = np.log1p(interactions.item_popularity()).astype(np.float32)
        finally:
            torch.set_num_threads(prev_threads)

    def _valid_ndcg(
        self, seqs: list[np.ndarray], users: np.ndarray, targets: np.ndarray, inter: Interactions
    ) -> float:
        total = 0.0
        for start in range(0, len(users), 1024):
            part = users[start : start + 1024]
            scores = self._score_sequences([seqs[u] for u in part])
            _, ndcg = rank_metrics(scores, targets[part], inter.matrix[part])
            total += float(ndcg.sum())
        return total / len(users)

    # ------------------------------------------------------------------ scoring
    def _score_sequences(self, seqs: list[np.ndarray]) -> np.ndarray:
        """Dense next-item scores for each sequence (popularity for empty ones)."""
        import torch

        net = self.net_
        was_training = net.training
        net.eval()
        n_items = net.item_emb.num_embeddings - 1
        out = np.empty((len(seqs), n_items), dtype=np.float32)
        lengths = np.fromiter((min(len(s), self.max_len) for s in seqs), dtype=np.int64, count=len(seqs))
        empty = lengths == 0
        if empty.any():
            out[empty] = self.popularity_ if hasattr(self, "popularity_") else 0.0
        nonempty = np.flatnonzero(~empty)
        with torch.inference_mode():
            weights = net.item_weights()
            for idx in length_batches(lengths[nonempty], _SCORE_BATCH, None):
                rows = nonempty[idx]
                ids, lens = pad_right([seqs[r] for r in rows], int(lengths[rows].max()))
                h = net.last_hidden(torch.from_numpy(ids), torch.from_numpy(lens))
                out[rows] = (h @ weights.T).numpy()
        net.train(was_training)
        return out

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        import torch

        seqs = [np.asarray(s, dtype=np.int64) for s in batch.sequences]
        n_items = self.n_items
        for s in seqs:
            if len(s) and (s.min() < 0 or s.max() >= n_items):
                raise ConfigError(
                    f"sequence item indices must be in [0, {n_items}); got {s[(s < 0) | (s >= n_items)][:5].tolist()}"
                )
        prev = torch.get_num_threads()
        torch.set_num_threads(self.num_threads)
        try:
            return self._score_sequences(seqs)
        finally:
            torch.set_num_threads(prev)

    def explain(self, evidence: Evidence, items: np.ndarray) -> list[Explanation]:
        """ "Goes with what you looked at recently": each of the last five distinct items is left out of the
        sequence and the network rescored; the items whose absence lowers the score most (occlusion)."""
        import torch

        from tuijian.explain.attribution import occlusion

        self._check_fitted()
        prev = torch.get_num_threads()
        torch.set_num_threads(self.num_threads)
        try:
            return occlusion(evidence, items, self._score_sequences)
        finally:
            torch.set_num_threads(prev)

    # ------------------------------------------------------------------ abilities
    def item_embeddings(self) -> np.ndarray:
        """Learned item embeddings, ``n_items x n_factors``."""
        self._check_fitted()
        return self.net_.item_weights().detach().numpy().copy()

    def similar_items(self, items: UserArg, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items whose embeddings have the highest cosine similarity (the item itself excluded)."""
        from tuijian.models.base import topk

        self._check_fitted()
        scalar, idx = self._item_batch(items)
        emb = self.item_embeddings()
        emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        sims = emb[idx] @ emb.T
        sims[np.arange(len(idx)), idx] = -np.inf
        ids, scores = topk(sims, k)
        return (ids[0], scores[0]) if scalar else (ids, scores)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str) -> None:
        """Write ``config.json``, ``weights.safetensors`` and ``interactions.npz`` into directory ``path``."""
        from safetensors.torch import save_file

        self._check_fitted()
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "model": self.name,
            "params": self.get_params(),
            "n_items": self.n_items,
            "best_epoch": self.best_epoch_,
            "best_valid_ndcg@10": self.best_valid_ndcg_,
            "history": self.history_,
        }
        (out / "config.json").write_text(json.dumps(config, indent=2))
        save_file(
            {k: v.contiguous() for k, v in self.net_.state_dict().items()}, str(out / "weights.safetensors")
        )
        np.save(out / "popularity.npy", self.popularity_, allow_pickle=False)
        save_interactions(out / "interactions.npz", self.interactions_)

    @classmethod
    def load(cls, path: str) -> SASRec:
        """Inverse of :meth:`save` (no pickle anywhere)."""
        from safetensors.torch import load_file

        from tuijian.models.sasrec_net import SASRecNet

        src = Path(path)
        config = read_config(src, cls.name, "SASRec")
        model = cls(**config["params"])
        net = SASRecNet(
            int(config["n_items"]),
            model.n_factors,
            model.n_layers,
            model.n_heads,
            model.max_len,
            model.dropout,
            model.attention_dropout,
        )
        net.load_state_dict(load_file(str(src / "weights.safetensors")))
        net.eval()
        model.net_ = net
        model.best_epoch_ = int(config["best_epoch"])
        model.best_valid_ndcg_ = float(config["best_valid_ndcg@10"])
        model.history_ = list(config["history"])
        model.popularity_ = np.load(src / "popularity.npy", allow_pickle=False)
        model.interactions_ = load_interactions(src / "interactions.npz")
        model._seq_cache = None
        return model
