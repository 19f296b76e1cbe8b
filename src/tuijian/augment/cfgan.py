"""CFGAN: a conditional GAN over users' purchase vectors (Chae et al., CIKM 2018), in PyTorch.

The generator ``G`` maps a user's real purchase vector ``c_u`` (the condition) to a vector
``r̂_u`` in ``[0, 1]^n_items``; the discriminator ``D(x | c_u)`` tells real vectors (``x = c_u``)
from generated ones. As in the paper's best variant (ZR + PM):

* **partial masking** (PM): ``D`` sees the generated vector only on the user's observed items
  ``e_u`` plus a random sample ``k_u`` of unobserved ones, ``r̂_u ⊙ (e_u + k_u)``, so ``G`` must
  put high values on the observed items and low values on the sampled negatives;
* **zero reconstruction** (ZR): ``G``'s loss adds ``zr_weight * Σ_{j ∈ ZR_u} r̂_uj²`` over another
  random sample of unobserved items.

Items nobody sampled get the values ``G`` generalises to; ranking a user's unobserved items by
``r̂_u`` is CFGAN's recommendation, and :mod:`tuijian.augment.pseudo` uses the top ones as
pseudo-interactions for sparse users.

To keep a CPU epoch cheap, each batch works on a column subset ``S``: the batch's observed items
plus ``n_negatives`` items drawn at random; PM and ZR samples are drawn inside ``S`` and both
networks only touch ``S``'s columns (a zero outside ``S`` is what the masks would give anyway).
Inputs are sparse: the first layers are embedding bags over the observed items.

Training is bounded: at most ``epochs`` passes, early stopping on a validation share of the
data (one held-out item for up to ``n_valid_users`` users, scored by recall@20 of ``r̂``), and
a wall-clock cap ``max_seconds`` as a safety net (a fit stopped by the clock depends on
machine speed; :attr:`CFGAN.stopped_by_` says which rule stopped it). torch is imported lazily.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from tuijian.exceptions import ConfigError, NotFittedError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class CFGANConfig:
    """Hyper-parameters of :class:`CFGAN` (all checked in ``__post_init__``)."""

    hidden: int = 128
    epochs: int = 30
    batch_size: int = 256
    learning_rate: float = 1e-3
    zr_weight: float = 0.1
    zr_share: float = 0.5
    pm_share: float = 0.5
    n_negatives: int = 1024
    patience: int = 3
    n_valid_users: int = 2000
    max_seconds: float = 600.0
    input_dropout: float = 0.5
    recon_weight: float = 1.0
    adv_weight: float = 1.0
    n_threads: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("hidden", "epochs", "batch_size", "n_negatives", "patience", "n_threads"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"CFGAN {name} must be a positive integer, got {value!r}")
        if not isinstance(self.n_valid_users, int | np.integer) or self.n_valid_users < 0:
            raise ConfigError(f"CFGAN n_valid_users must be an integer >= 0, got {self.n_valid_users!r}")
        for name in ("zr_share", "pm_share"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ConfigError(f"CFGAN {name} must be in [0, 1], got {value!r}")
        if not 0.0 <= float(self.input_dropout) < 1.0:
            raise ConfigError(f"CFGAN input_dropout must be in [0, 1), got {self.input_dropout!r}")
        if not float(self.learning_rate) > 0:
            raise ConfigError(f"CFGAN learning_rate must be > 0, got {self.learning_rate!r}")
        for name in ("zr_weight", "recon_weight", "adv_weight"):
            if not float(getattr(self, name)) >= 0:
                raise ConfigError(f"CFGAN {name} must be >= 0, got {getattr(self, name)!r}")
        if not float(self.max_seconds) > 0:
            raise ConfigError(f"CFGAN max_seconds must be > 0, got {self.max_seconds!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> CFGANConfig:
        """A config from a plain dict (unknown keys are an error naming the valid ones)."""
        data = dict(data or {})
        valid = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise ConfigError(f"CFGAN has no parameter(s) {unknown}; valid: {sorted(valid)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "GAN augmentation needs PyTorch; install the extra: pip install 'tuijian[torch]'"
        ) from exc
    return torch


def _binary_csr(matrix: sp.spmatrix) -> sp.csr_matrix:
    m = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    m.sum_duplicates()
    m.eliminate_zeros()
    m.data[:] = 1.0
    return m


def _bag(rows: sp.csr_matrix) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(indices, offsets, weights)`` of an EmbeddingBag over the rows' observed items; the weights
    L2-normalise each binary row (``1 / sqrt(n_u)``), so users with 2 and 200 items look alike in scale."""
    torch = _torch()
    counts = np.diff(rows.indptr)
    weights = np.repeat(1.0 / np.sqrt(np.maximum(counts, 1)), counts).astype(np.float32)
    return (
        torch.from_numpy(rows.indices.astype(np.int64)),
        torch.from_numpy(rows.indptr[:-1].astype(np.int64)),
        torch.from_numpy(weights),
    )


def _networks(n_items: int, hidden: int) -> tuple[Any, Any]:
    _torch()  # a clear error when PyTorch is missing
    import torch
    from torch import nn

    class Generator(nn.Module):
        """``c_u`` (sparse) -> hidden -> ``sigmoid`` scores over items (all, or the columns asked for)."""

        def __init__(self) -> None:
            super().__init__()
            self.inp = nn.EmbeddingBag(n_items, hidden, mode="sum")
            self.inp_bias = nn.Parameter(torch.zeros(hidden))
            self.mid = nn.Linear(hidden, hidden)
            self.out = nn.Linear(hidden, n_items)

        def forward(self, bag: tuple[torch.Tensor, ...], cols: torch.Tensor | None = None) -> torch.Tensor:
            """Logits (``r̂ = sigmoid(logits)``) over all items or the columns ``cols``."""
            h = torch.tanh(self.inp(bag[0], bag[1], per_sample_weights=bag[2]) + self.inp_bias)
            h = torch.tanh(self.mid(h))
            if cols is None:
                return self.out(h)
            return h @ self.out.weight[cols].T + self.out.bias[cols]

    class Discriminator(nn.Module):
        """``(x on columns S, c_u)`` -> logit of "real"."""

        def __init__(self) -> None:
            super().__init__()
            self.x_weight = nn.Parameter(torch.randn(n_items, hidden) * (1.0 / np.sqrt(hidden)))
            self.cond = nn.EmbeddingBag(n_items, hidden, mode="sum")
            self.bias = nn.Parameter(torch.zeros(hidden))
            self.head = nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

        def forward(self, x: torch.Tensor, cols: torch.Tensor, bag: tuple[torch.Tensor, ...]) -> torch.Tensor:
            h = x @ self.x_weight[cols] + self.cond(bag[0], bag[1], per_sample_weights=bag[2]) + self.bias
            return self.head(h).squeeze(1)

    return Generator(), Discriminator()


class CFGAN:
    """A CFGAN trained on a user x item matrix (binarised); see the module docstring.

    ``fit(matrix)`` trains; ``generate(rows)`` gives ``r̂`` for any rows of purchase vectors
    (known users or new ones), as a dense float32 array.
    """

    def __init__(self, config: CFGANConfig | None = None) -> None:
        self.config = config or CFGANConfig()

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "generator_")

    # ------------------------------------------------------------------ training
    def fit(self, matrix: sp.spmatrix) -> CFGAN:
        """Train on ``matrix`` (users x items; any positive value counts as an interaction)."""
        torch = _torch()
        cfg = self.config
        x = _binary_csr(matrix)
        n_users, n_items = x.shape
        if x.nnz == 0 or n_items < 2:
            raise ConfigError(
                f"CFGAN needs a non-empty matrix with >= 2 items, got {n_users}x{n_items}, nnz={x.nnz}"
            )
        rng = np.random.default_rng(cfg.seed)
        train, val_users, val_items = _carve_validation(x, cfg.n_valid_users, rng)
        active = np.flatnonzero(np.diff(train.indptr) > 0)
        t0 = time.perf_counter()
        threads = torch.get_num_threads()
        torch.set_num_threads(int(cfg.n_threads))  # more threads than free cores thrash (10x slower)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(cfg.seed)
                gen, history, stopped_by, best = self._train(train, active, val_users, val_items, rng, t0)
        finally:
            torch.set_num_threads(threads)
        gen.eval()
        self.generator_ = gen
        self.n_items_ = n_items
        self.history_ = history
        self.stopped_by_ = stopped_by
        self.valid_recall_ = best
        self.fit_seconds_ = round(time.perf_counter() - t0, 1)
        return self

    def _train(
        self,
        train: sp.csr_matrix,
        active: np.ndarray,
        val_users: np.ndarray,
        val_items: np.ndarray,
        rng: np.random.Generator,
        t0: float,
    ) -> tuple[Any, list[dict[str, float]], str, float]:
        """The training loop: ``(generator with the best validation state, history, stop rule, best)``."""
        torch = _torch()
        cfg = self.config
        n_items = train.shape[1]
        gen, disc = _networks(n_items, cfg.hidden)
        opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.learning_rate, fused=True)
        opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.learning_rate, fused=True)
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        best, best_state, bad, history = -1.0, None, 0, []
        stopped_by = "epochs"
        for epoch in range(cfg.epochs):
            order = rng.permutation(active)
            g_sum = d_sum = 0.0
            for start in range(0, len(order), cfg.batch_size):
                rows = train[np.sort(order[start : start + cfg.batch_size])]
                cols, real, pm, zr = _batch_columns(rows, n_items, cfg, rng)
                bag = _bag(rows)  # D's condition: the real vector
                g_bag = _bag(_drop(rows, cfg.input_dropout, rng))  # G's condition (denoising)
                cols_t = torch.from_numpy(cols)
                real_t, pm_t, zr_t = (torch.from_numpy(a) for a in (real, pm, zr))
                # discriminator step: real = c_u on S, fake = G(c_u) masked by e_u + k_u
                logits = gen(g_bag, cols_t)
                fake = torch.sigmoid(logits)
                d_real = disc(real_t, cols_t, bag)
                d_fake = disc((fake * pm_t).detach(), cols_t, bag)
                loss_d = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
                opt_d.zero_grad()
                loss_d.backward()
                opt_d.step()
                # generator step: fool D on the masked vector, zero reconstruction, reconstruction
                d_fake = disc(fake * pm_t, cols_t, bag)
                loss_g = (
                    cfg.adv_weight * bce(d_fake, torch.ones_like(d_fake))
                    + cfg.zr_weight * (fake * fake * zr_t).sum(1).mean()
                )
                if cfg.recon_weight > 0:  # multinomial likelihood of the observed items among S
                    log_p = torch.log_softmax(logits, dim=1)
                    recon = -(log_p * real_t).sum(1) / real_t.sum(1).clamp(min=1.0)
                    loss_g = loss_g + cfg.recon_weight * recon.mean()
                opt_g.zero_grad()
                loss_g.backward()
                opt_g.step()
                g_sum += float(loss_g.detach()) * rows.shape[0]
                d_sum += float(loss_d.detach()) * rows.shape[0]
            score = _recall20(gen, train, val_users, val_items) if len(val_users) else float("nan")
            history.append(
                {
                    "epoch": epoch + 1,
                    "loss_g": round(g_sum / max(len(order), 1), 4),
                    "loss_d": round(d_sum / max(len(order), 1), 4),
                    "valid_recall@20": round(score, 4),
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
            if not len(val_users) or score > best:
                best, bad = score, 0
                best_state = {k: v.detach().clone() for k, v in gen.state_dict().items()}
            else:
                bad += 1
                if bad >= cfg.patience:
                    stopped_by = "early-stop"
                    break
            if time.perf_counter() - t0 > cfg.max_seconds:
                stopped_by = "max_seconds"
                break
        if best_state is not None:
            gen.load_state_dict(best_state)
        return gen, history, stopped_by, (best if len(val_users) else float("nan"))

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """The generator's weights as ``generator.npz`` and the config as ``cfgan.json`` (no pickle)."""
        if not self.is_fitted:
            raise NotFittedError("CFGAN is not fitted yet; call fit(matrix) first")
        from tuijian.models.artifacts import write_json

        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        weights = {k: v.detach().cpu().numpy() for k, v in self.generator_.state_dict().items()}
        np.savez(directory / "generator.npz", **weights)
        info = {
            "config": self.config.to_dict(),
            "n_items": self.n_items_,
            "stopped_by": self.stopped_by_,
            "valid_recall": None if np.isnan(self.valid_recall_) else self.valid_recall_,
            "history": self.history_,
        }
        write_json(directory / "cfgan.json", info)

    @classmethod
    def load(cls, path: str | Path) -> CFGAN:
        """A fitted CFGAN saved by :meth:`save`."""
        from tuijian.models.artifacts import load_npz, read_json

        directory = Path(path)
        info = read_json(directory / "cfgan.json")
        model = cls(CFGANConfig.from_dict(info["config"]))
        torch = _torch()
        gen, _ = _networks(int(info["n_items"]), model.config.hidden)
        arrays = load_npz(directory / "generator.npz")
        gen.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in arrays.items()})
        gen.eval()
        model.generator_ = gen
        model.n_items_ = int(info["n_items"])
        model.stopped_by_ = info["stopped_by"]
        model.valid_recall_ = float("nan") if info["valid_recall"] is None else float(info["valid_recall"])
        model.history_ = info["history"]
        model.fit_seconds_ = float("nan")
        return model

    # ------------------------------------------------------------------ inference
    def generate(self, rows: sp.spmatrix, batch_size: int = 1024) -> np.ndarray:
        """``r̂`` (dense float32, ``len(rows) x n_items``) for purchase vectors ``rows``."""
        if not self.is_fitted:
            raise NotFittedError("CFGAN is not fitted yet; call fit(matrix) first")
        torch = _torch()
        x = _binary_csr(rows)
        if x.shape[1] != self.n_items_:
            raise ConfigError(f"rows must have {self.n_items_} item columns, got {x.shape[1]}")
        out = np.empty(x.shape, dtype=np.float32)
        threads = torch.get_num_threads()
        torch.set_num_threads(int(self.config.n_threads))
        try:
            with torch.no_grad():
                for s in range(0, x.shape[0], batch_size):
                    out[s : s + batch_size] = torch.sigmoid(
                        self.generator_(_bag(x[s : s + batch_size]))
                    ).numpy()
        finally:
            torch.set_num_threads(threads)
        return out


def _carve_validation(
    x: sp.csr_matrix, n_users: int, rng: np.random.Generator
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Hold out one random item of up to ``n_users`` users with >= 2 items (for early stopping)."""
    counts = np.diff(x.indptr)
    eligible = np.flatnonzero(counts >= 2)
    if n_users == 0 or len(eligible) == 0:
        return x, np.zeros(0, np.int64), np.zeros(0, np.int64)
    users = np.sort(rng.choice(eligible, min(n_users, len(eligible)), replace=False))
    picks = x.indptr[users] + rng.integers(0, counts[users])
    items = x.indices[picks].astype(np.int64)
    keep = np.ones(x.nnz, dtype=bool)
    keep[picks] = False
    rows = np.repeat(np.arange(x.shape[0]), counts)
    train = sp.csr_matrix((x.data[keep], (rows[keep], x.indices[keep])), shape=x.shape, dtype=np.float32)
    return train, users, items


def _drop(rows: sp.csr_matrix, share: float, rng: np.random.Generator) -> sp.csr_matrix:
    """``rows`` with each observed item dropped with probability ``share`` (denoising input)."""
    if share <= 0:
        return rows
    keep = rng.random(rows.nnz) >= share
    r = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    return sp.csr_matrix((rows.data[keep], (r[keep], rows.indices[keep])), shape=rows.shape)


def _batch_columns(
    rows: sp.csr_matrix, n_items: int, cfg: CFGANConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Columns ``S`` of one batch and, on ``S``: real vectors, the PM mask ``e_u + k_u``, the ZR mask."""
    observed = np.unique(rows.indices)
    negatives = rng.choice(n_items, min(cfg.n_negatives, n_items), replace=False)
    cols = np.union1d(observed, negatives).astype(np.int64)
    real = rows[:, cols].toarray().astype(np.float32)
    unobserved = real == 0
    pm = np.where(unobserved, rng.random(real.shape) < cfg.pm_share, True).astype(np.float32)
    zr = (unobserved & (rng.random(real.shape) < cfg.zr_share)).astype(np.float32)
    return cols, real, pm, zr


def _recall20(gen: Any, train: sp.csr_matrix, users: np.ndarray, items: np.ndarray) -> float:
    """Share of held-out items in the top 20 of ``G``'s scores, the user's training items excluded."""
    torch = _torch()
    rows = train[users]
    hits = 0
    gen.eval()
    with torch.no_grad():
        for s in range(0, len(users), 1024):
            part = rows[s : s + 1024]
            scores = gen(_bag(part)).numpy()
            r = np.repeat(np.arange(part.shape[0]), np.diff(part.indptr))
            scores[r, part.indices] = -np.inf
            target = items[s : s + 1024]
            kth = (
                np.partition(-scores, 19, axis=1)[:, 19]
                if scores.shape[1] > 20
                else np.full(len(part), np.inf)
            )
            hits += int((scores[np.arange(len(target)), target] >= -kth).sum())
    gen.train()
    return hits / len(users)
