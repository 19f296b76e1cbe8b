"""Matrix factorisation for implicit feedback: ALS and BPR, wrapping the ``implicit`` library.

``implicit`` does the heavy lifting (its CPU ALS conjugate-gradient solver and its
BPR SGD); this module puts it inside our contract: our id maps, the base class's
filters, fold-in of users the model was not trained on (index ``-1``) or whose
history changed, cosine ``similar_items``, and safe npz + JSON persistence.

The user x item matrix values are the confidences: ALS uses ``alpha * value``
exactly as ``implicit`` does, so with equal parameters :class:`ALS` gives the same
factors as ``implicit.cpu.als.AlternatingLeastSquares`` on the same matrix.
"""

from __future__ import annotations

import abc
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.base import Recommender, ScoringBatch, UserArg, topk
from tuijian.models.column_scores import gemv_columns, gemv_group

if TYPE_CHECKING:
    from tuijian.explain.reasons import Evidence, Explanation


class _BlasLimit:
    """One process-wide "BLAS on one thread" state shared by every thread (see :func:`single_threaded_blas`).

    ``threadpoolctl`` finds the loaded BLAS libraries by scanning every shared object of the process (about
    1-7 ms, more with many libraries loaded); that scan is done once and again only when modules were
    imported since (a new import is how a new BLAS library gets loaded). Nested and concurrent blocks share
    one limit: the first to enter sets it, the last to leave restores the previous thread counts, so one
    thread leaving never lifts the limit under another that is still inside. When every BLAS library
    already runs on one thread nothing is changed at all.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._controller: Any = None
        self._n_modules = -1
        self._limiter: Any = None
        self._blas: Any = None
        self._previous_env: str | None = None

    def controller(self) -> Any:
        """The cached ``ThreadpoolController`` (rescanned when modules were imported since the last scan)."""
        if self._controller is None or len(sys.modules) != self._n_modules:
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController()
            self._blas = self._controller.select(user_api="blas")
            self._n_modules = len(sys.modules)
        return self._controller

    def blas(self) -> Any:
        """The cached controller's BLAS libraries (``select(user_api="blas")``, selected once per scan; their
        ``num_threads`` are read afresh on each access)."""
        self.controller()
        return self._blas

    def one_thread(self) -> bool:
        """Whether every BLAS library runs on one thread now (about 1 us: the scan is cached)."""
        with self._lock:
            return all(lib.num_threads == 1 for lib in self.blas().lib_controllers)

    def enter(self) -> None:
        with self._lock:
            self._depth += 1
            if self._depth > 1:
                return
            self._previous_env = os.environ.get("OPENBLAS_NUM_THREADS")
            os.environ["OPENBLAS_NUM_THREADS"] = "1"
            blas = self.blas()
            if any(lib.num_threads != 1 for lib in blas.lib_controllers):
                self._limiter = blas.limit(limits=1)

    def leave(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth > 0:
                return
            limiter, self._limiter = self._limiter, None
            if limiter is not None:
                limiter.restore_original_limits()
            if self._previous_env is None:
                os.environ.pop("OPENBLAS_NUM_THREADS", None)
            else:
                os.environ["OPENBLAS_NUM_THREADS"] = self._previous_env


_BLAS_LIMIT = _BlasLimit()


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread while ``implicit`` runs (it parallelises itself).

    Cheap enough for every served request: the library scan is cached and nested or concurrent blocks
    share one limit (:class:`_BlasLimit`). Results are those of ``threadpool_limits(1, "blas")``.
    """
    _BLAS_LIMIT.enter()
    try:
        yield
    finally:
        _BLAS_LIMIT.leave()


def _check_positive(name: str, value: Any, *, integer: bool = False, allow_zero: bool = False) -> None:
    ok_type = isinstance(value, int | np.integer) if integer else isinstance(value, int | float | np.number)
    if not ok_type or isinstance(value, bool) or (value < 0 if allow_zero else value <= 0):
        kind = "integer" if integer else "number"
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name} must be a {kind} {bound}, got {value!r}")


_ONE_THREAD_FOLD_IN = 64  # at most this many users folded in at once run the solver on one thread


def factor_scores(vecs: np.ndarray, item_factors: np.ndarray, *, as_batch: bool = True) -> np.ndarray:
    """``vecs @ item_factors.T``; with ``as_batch`` by the same BLAS routine for any number of users, so that a
    user's scores are bit for bit the same alone or in a batch. numpy sends a one-row product to GEMV, which sums
    in another order than GEMM, so a single row is doubled and run through GEMM (its first row kept); GEMM
    computes each entry from its own row and column whatever the number of rows. That costs more than GEMV for
    one row (GEMM packs the whole item matrix: ~0.45 vs ~0.1 ms for 12k items, 64 factors), so it is asked
    for only where a batch's row must be matched (``as_batch=False``: numpy's own choice)."""
    if len(vecs) == 1 and as_batch:
        return (np.concatenate([vecs, vecs]) @ item_factors.T)[:1]
    return vecs @ item_factors.T


_GEMV_GROUPS: dict[tuple[int, int, str], int | None] = {}  # (n_items, k, dtype) -> gemv_group's answer


def gemv_row_group(item_factors: np.ndarray) -> int | None:
    """The row-group size with which :func:`~tuijian.models.column_scores.gemv_columns` gives a one-row
    product with ``item_factors`` at some columns as ``factor_scores(vec, item_factors, as_batch=False)`` has
    them, or ``None``: compute the whole row. Found by :func:`~tuijian.models.column_scores.gemv_group` (a
    check of some ms) once per process and per shape and dtype, on one BLAS thread, and used only while
    BLAS runs on one thread (as served: the Makefile's ``OPENBLAS_NUM_THREADS=1``): a threaded GEMV splits
    the rows among its threads at places that depend on the count. Two threads may check at once: the same
    answer."""
    if not item_factors.flags.c_contiguous or not _BLAS_LIMIT.one_thread():
        return None
    n, k = item_factors.shape
    key = (int(n), int(k), item_factors.dtype.str)
    try:
        return _GEMV_GROUPS[key]
    except KeyError:
        pass
    with single_threaded_blas():
        group = gemv_group(item_factors)
    _GEMV_GROUPS[key] = group
    return group


class _FactorModel(Recommender):
    """Shared scoring, fold-in, similar items and persistence of factor models."""

    user_factors_: np.ndarray
    item_factors_: np.ndarray
    _has_bias_column: ClassVar[bool] = False

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        users = batch.users
        vecs = np.empty((len(users), self.user_factors_.shape[1]), dtype=np.float32)
        known = users >= 0
        if known.any():
            vecs[known] = self.user_factors_[users[known]]
        refit = ~known
        if known.any():
            # a known user whose history differs from training is folded in again
            kidx = np.flatnonzero(known)
            diff = sp.csr_matrix(batch.history[kidx] - self.interactions_.matrix[users[kidx]])
            diff.eliminate_zeros()
            refit[kidx[np.diff(diff.indptr) > 0]] = True
        if refit.any():
            rows = np.flatnonzero(refit)
            vecs[rows] = self.fold_in(sp.csr_matrix(batch.history[rows], dtype=np.float32))
        # a trained user's row must equal its row in the top lists, which are scored in batches; a folded-in
        # vector has no stored row, so one takes the faster GEMV
        return factor_scores(vecs, self.item_factors_, as_batch=not refit.any())

    def score_columns(
        self, history: sp.csr_matrix, sequence: np.ndarray, cols: np.ndarray
    ) -> np.ndarray | None:
        """The fold-in row at ``cols``: the very steps ``_score`` takes for one unknown user (its history
        folded in, entries in their stored order, then the row's GEMV), without the batch's checks and
        conversions (base class). A product of the columns' factors alone sums in another order; the GEMV
        runs on the aligned groups of item rows that hold ``cols`` (:func:`gemv_row_group`), each row summed
        as in the whole row's. For the ~20 columns (median) of an explained Beauty request that reads ~20 KB
        of factors, not all 3.1 MB of 12k items x 64 factors, which also evicted the caches the rest of the
        request reads (``bench/explain_stages.py``: 0.28 -> 0.20 ms warm, 0.50 -> 0.25 ms with cold caches,
        fold-in included)."""
        self._check_fitted()
        if not isinstance(history, sp.csr_matrix):  # as _batch converts it
            history = sp.csr_matrix(history, dtype=np.float32)
        if history.shape != (1, self.n_items):
            raise ConfigError(f"history must have shape (1, {self.n_items}), got {history.shape}")
        if not history.has_sorted_indices:  # a fold-in may sort its input in place (BPR): not the caller's
            history = history.copy()
        vecs = np.empty((1, self.user_factors_.shape[1]), dtype=np.float32)
        vecs[0] = self.fold_in(history)[0]
        cols = np.asarray(cols, np.int64)
        group = gemv_row_group(self.item_factors_)
        if group is not None:
            return np.asarray(gemv_columns(vecs, self.item_factors_, cols, group), dtype=np.float32)
        row = factor_scores(vecs, self.item_factors_, as_batch=False)
        return np.asarray(row[0, cols], dtype=np.float32)

    def explain(self, evidence: Evidence, items: np.ndarray) -> list[Explanation]:
        """ "Shoppers with a history like yours": a factor model's score is a dot product of taste vectors,
        not a sum over history items, so it names no item."""
        from tuijian.explain.attribution import whole_score

        scores = self.score(evidence.user, history=evidence.row(self.n_items), sequences=[evidence.sequence])
        return whole_score(items, scores, "similar_shoppers")

    @abc.abstractmethod
    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """User vectors for rows of ``history`` (users x items), with item factors fixed."""

    def similar_items(self, items: UserArg, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items with the most similar factors (cosine), the item itself excluded."""
        self._check_fitted()
        scalar, idx = self._item_batch(items)
        factors = self.item_factors_[:, :-1] if self._has_bias_column else self.item_factors_
        norms = np.linalg.norm(factors, axis=1)
        norms[norms == 0] = 1.0
        unit = factors / norms[:, None]
        sims = unit[idx] @ unit.T
        sims[np.arange(len(idx)), idx] = -np.inf
        ids, scores = topk(sims.astype(np.float32), k)
        return (ids[0], scores[0]) if scalar else (ids, scores)

    def save(self, path: str) -> None:
        """Params + factors + id maps as npz/JSON in folder ``path`` (no pickle)."""
        from tuijian.models.artifacts import save_state

        save_state(self, path)

    @classmethod
    def load(cls, path: str) -> Self:
        from tuijian.models.artifacts import load_state

        model = load_state(cls, path)
        assert isinstance(model, cls)
        return model


class ALS(_FactorModel):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) via ``implicit``'s CPU solver.

    Parameters
    ----------
    n_factors : latent dimension.
    reg : L2 regularisation (``implicit``'s ``regularization``).
    alpha : confidence scaling; confidence = ``alpha * value``.
    n_iterations : ALS sweeps.
    use_cg : conjugate-gradient solver (fast) rather than exact Cholesky.
    random_state : seed of the factor initialisation.
    num_threads : threads for ``implicit`` (0 = all cores); ALS is deterministic for any value.
    """

    name: ClassVar[str] = "als"

    def __init__(
        self,
        n_factors: int = 64,
        reg: float = 0.01,
        alpha: float = 1.0,
        n_iterations: int = 15,
        use_cg: bool = True,
        random_state: int = 42,
        num_threads: int = 0,
    ) -> None:
        self.n_factors = n_factors
        self.reg = reg
        self.alpha = alpha
        self.n_iterations = n_iterations
        self.use_cg = use_cg
        self.random_state = random_state
        self.num_threads = num_threads

    def _implicit_model(self) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=self.n_factors,
            regularization=float(self.reg),
            alpha=float(self.alpha),
            iterations=self.n_iterations,
            use_cg=self.use_cg,
            num_threads=self.num_threads,
            random_state=self.random_state,
        )

    def _validate(self) -> None:
        _check_positive("n_factors", self.n_factors, integer=True)
        _check_positive("n_iterations", self.n_iterations, integer=True)
        _check_positive("reg", self.reg, allow_zero=True)
        _check_positive("alpha", self.alpha)
        _check_positive("num_threads", self.num_threads, integer=True, allow_zero=True)

    def _fit(self, interactions: Interactions) -> None:
        self._validate()
        with single_threaded_blas():
            model = self._implicit_model()
            model.fit(interactions.matrix.astype(np.float32), show_progress=False)
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self._native = model
        self._native1 = None

    def _after_load(self) -> None:
        self._native = None
        self._native1 = None

    def _native_model(self) -> Any:
        native = getattr(self, "_native", None)
        if native is None:
            native = self._implicit_model()
            native.user_factors = self.user_factors_
            native.item_factors = self.item_factors_
            self._native = native
        return native

    def _native_one_thread(self) -> Any:
        """A second native model on the same factors whose solver runs on one thread: a served request
        folds in one or a few users, and starting OpenMP threads for that costs more than the solve itself
        (7.8 ms against 0.34 ms CPU for one Beauty user on a loaded box). Each user's solve is independent,
        so the vectors are identical to the multi-threaded ones."""
        native = getattr(self, "_native1", None)
        if native is None:
            native = self._implicit_model()
            native.num_threads = 1
            native.user_factors = self.user_factors_
            native.item_factors = self.item_factors_
            self._native1 = native
        return native

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """Exact least-squares user vectors from history rows (``implicit``'s ``recalculate_user``)."""
        self._check_fitted()
        if not (type(history) is sp.csr_matrix and history.dtype == np.float32):  # else the same arrays
            history = sp.csr_matrix(history, dtype=np.float32)
        if history.shape[1] != self.n_items:
            raise ConfigError(f"history must have {self.n_items} columns, got {history.shape[1]}")
        native = (
            self._native_one_thread() if history.shape[0] <= _ONE_THREAD_FOLD_IN else self._native_model()
        )
        with single_threaded_blas():
            return np.asarray(native.recalculate_user(np.arange(history.shape[0]), history), dtype=np.float32)


class BPR(_FactorModel):
    """Bayesian Personalised Ranking (Rendle et al. 2009) via ``implicit``'s CPU SGD.

    ``implicit`` appends an item-bias column; user vectors carry a constant 1 there.
    Unknown users are folded in by a few epochs of BPR SGD on their vector alone,
    seeded by ``random_state`` so results are reproducible.
    ``num_threads`` defaults to 1 because multi-threaded BPR (Hogwild) is not reproducible.
    """

    name: ClassVar[str] = "bpr"
    _has_bias_column: ClassVar[bool] = True
    _max_fold_in_steps: ClassVar[int] = 2000

    def __init__(
        self,
        n_factors: int = 64,
        learning_rate: float = 0.01,
        reg: float = 0.01,
        n_iterations: int = 100,
        random_state: int = 42,
        num_threads: int = 1,
    ) -> None:
        self.n_factors = n_factors
        self.learning_rate = learning_rate
        self.reg = reg
        self.n_iterations = n_iterations
        self.random_state = random_state
        self.num_threads = num_threads

    def _fit(self, interactions: Interactions) -> None:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        _check_positive("n_factors", self.n_factors, integer=True)
        _check_positive("n_iterations", self.n_iterations, integer=True)
        _check_positive("learning_rate", self.learning_rate)
        _check_positive("reg", self.reg, allow_zero=True)
        _check_positive("num_threads", self.num_threads, integer=True, allow_zero=True)
        with single_threaded_blas():
            model = BayesianPersonalizedRanking(
                factors=self.n_factors,
                learning_rate=float(self.learning_rate),
                regularization=float(self.reg),
                iterations=self.n_iterations,
                num_threads=self.num_threads,
                random_state=self.random_state,
            )
            model.fit(interactions.matrix.astype(np.float32), show_progress=False)
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)

    def fold_in(self, history: sp.csr_matrix, n_epochs: int = 30) -> np.ndarray:
        """BPR-SGD user vectors for history rows, item factors fixed (all users updated in parallel)."""
        self._check_fitted()
        history = sp.csr_matrix(history, dtype=np.float32)
        n_users, n_items = history.shape
        if n_items != self.n_items:
            raise ConfigError(f"history must have {self.n_items} columns, got {n_items}")
        item_f = self.item_factors_
        dim = item_f.shape[1]
        rng = np.random.default_rng(self.random_state)
        vecs = np.zeros((n_users, dim), dtype=np.float32)
        vecs[:, :-1] = (rng.random((n_users, dim - 1), dtype=np.float32) - 0.5) / (dim - 1)
        vecs[:, -1] = 1.0
        lengths = np.diff(history.indptr)
        active = lengths > 0
        if not active.any():
            vecs[:, :-1] = 0.0
            return vecs
        rows = np.flatnonzero(active)
        budget = np.minimum(n_epochs * lengths, self._max_fold_in_steps)
        history.sort_indices()
        liked_keys = np.repeat(np.arange(n_users, dtype=np.int64), lengths) * n_items + history.indices
        lr, reg = float(self.learning_rate), float(self.reg)
        for step in range(int(budget.max())):
            # user u makes min(n_epochs * len(history_u), cap) updates
            go = rows[step < budget[rows]]
            pos = history.indices[history.indptr[go] + (rng.random(len(go)) * lengths[go]).astype(np.int64)]
            neg = rng.integers(0, n_items, len(go))
            keys = go * n_items + neg
            at = np.minimum(np.searchsorted(liked_keys, keys), len(liked_keys) - 1)
            fresh = liked_keys[at] != keys
            go, pos, neg = go[fresh], pos[fresh], neg[fresh]
            diff = item_f[pos] - item_f[neg]
            x = np.einsum("ij,ij->i", vecs[go], diff)
            grad = (1.0 / (1.0 + np.exp(np.clip(x, -30, 30))))[:, None]
            vecs[go, :-1] += lr * (grad * diff[:, :-1] - reg * vecs[go, :-1])
        vecs[~active, :-1] = 0.0
        return vecs
