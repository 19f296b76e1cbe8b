"""``augment``: any registered model trained on a matrix where sparse users get CFGAN pseudo-interactions.

    tuijian evaluate --dataset amazon-beauty --protocol loo --models ease:reg=100,augment:base=ease;base_params={'reg':100}

``mode`` says when augmentation is used:

``"auto"`` (default)
    decided from the data: a validation split is carved out of the training data (the
    ``holdout`` that ``tuijian evaluate`` passes, mirroring the protocol; else chosen from the data,
    :class:`~tuijian.models.holdout.Holdout`); a CFGAN and the base model are fitted on the rest,
    with and without augmentation, and the sparse users' held-out items are ranked by both.
    Augmentation is kept only if the lower end of the paired bootstrap 95 % interval of the NDCG@10
    difference is above zero (it helps, and not by chance); otherwise the model is the plain base
    model. The figures are in ``selection_``.
``"on"`` / ``"off"``
    always / never.

With augmentation on, the base model is fitted on the binarised matrix plus pseudo-interactions
(:mod:`tuijian.augment.pseudo`); a base model with a ``binary`` parameter (EASE, the kNNs) gets
``binary=False`` unless set, so that the weights count. At scoring time the same pseudo-interactions
are added to the history being scored (training users and new users with a short history alike);
``exclude_seen`` still removes only the real history.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.augment.cfgan import CFGAN, CFGANConfig
from tuijian.augment.compare import paired_bootstrap, per_user_metrics
from tuijian.augment.pseudo import augment_interactions, binary_plus, check_pseudo_params, pseudo_interactions
from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.base import Recommender, ScoringBatch
from tuijian.models.holdout import Holdout

MODES = ("auto", "on", "off")


class AugmentedRecommender(Recommender):
    """A base model trained with CFGAN pseudo-interactions for sparse users (see module docstring).

    Parameters
    ----------
    base: registry name of the model to train (default ``"ease"``).
    base_params: constructor parameters of the base model.
    mode: ``"auto"`` (decide on a holdout), ``"on"`` or ``"off"``.
    max_history: users with at most this many items are augmented.
    n_pseudo: pseudo-interactions added per sparse user.
    pseudo_weight: their weight, in (0, 1) (a real interaction is 1).
    gan: :class:`~tuijian.augment.cfgan.CFGANConfig` fields, e.g. ``{"epochs": 20}``.
    min_users: ``"auto"`` keeps augmentation off when the holdout has fewer sparse users with a
        held-out item than this (too few to tell).
    """

    name: ClassVar[str] = "augment"

    def __init__(
        self,
        base: str = "ease",
        base_params: dict[str, Any] | None = None,
        mode: str = "auto",
        max_history: int = 5,
        n_pseudo: int = 5,
        pseudo_weight: float = 0.3,
        gan: dict[str, Any] | None = None,
        min_users: int = 30,
    ) -> None:
        self.base = base
        self.base_params = base_params
        self.mode = mode
        self.max_history = max_history
        self.n_pseudo = n_pseudo
        self.pseudo_weight = pseudo_weight
        self.gan = gan
        self.min_users = min_users

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        interactions: Interactions,
        *,
        items: pd.DataFrame | None = None,
        users: pd.DataFrame | None = None,
        holdout: Holdout | None = None,
    ) -> Self:
        """Fit (see module docstring); ``items``/``users`` go to the base model if its ``fit`` takes
        them, ``holdout`` is the validation split ``"auto"`` decides on (and goes to the base too)."""
        if holdout is not None and not isinstance(holdout, Holdout):
            raise ConfigError(f"holdout must be a tuijian.models.holdout.Holdout, got {holdout!r}")
        self._side = {"items": items, "users": users, "holdout": holdout}
        try:
            return super().fit(interactions)
        finally:
            del self._side

    def _check(self) -> CFGANConfig:
        from tuijian.models import registry

        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.base == self.name:
            raise ConfigError("base must be another model than 'augment'")
        registry.model_class(self.base)  # unknown names fail here, naming the available ones
        if self.base_params is not None and not isinstance(self.base_params, dict):
            raise ConfigError(
                f"base_params must be a dict of the base model's parameters, got {self.base_params!r}"
            )
        check_pseudo_params(self.max_history, self.n_pseudo, self.pseudo_weight)
        if not isinstance(self.min_users, int | np.integer) or self.min_users < 2:
            raise ConfigError(f"min_users must be an integer >= 2, got {self.min_users!r}")
        if self.gan is not None and not isinstance(self.gan, dict):
            raise ConfigError(f"gan must be a dict of CFGAN parameters, got {self.gan!r}")
        return CFGANConfig.from_dict(self.gan)

    def _make_base(self, augmented: bool) -> Recommender:
        from tuijian.models import registry

        params = dict(self.base_params or {})
        cls = registry.model_class(self.base)
        if augmented and "binary" in inspect.signature(cls.__init__).parameters:
            params.setdefault("binary", False)
        return registry.create(self.base, **params)

    def _fit_base(self, inter: Interactions, augmented: bool) -> Recommender:
        from tuijian.evaluate.runner import side_info_kwargs

        model = self._make_base(augmented)
        return model.fit(inter, **side_info_kwargs(model, **getattr(self, "_side", {})))

    def _augment(self, inter: Interactions, gan: CFGAN) -> Interactions:
        return augment_interactions(
            inter, gan, max_history=self.max_history, n_pseudo=self.n_pseudo, pseudo_weight=self.pseudo_weight
        )

    def _fit(self, interactions: Interactions) -> None:
        cfg = self._check()
        self.selection_: dict[str, Any] = {"mode": self.mode}
        use = self.mode == "on"
        if self.mode == "auto":
            holdout = getattr(self, "_side", {}).get("holdout") or Holdout()
            self.selection_ = {"mode": "auto", **self._decide(interactions, holdout, cfg)}
            use = bool(self.selection_["augment"])
        self.augmented_ = use
        if use:
            self.gan_: CFGAN | None = CFGAN(cfg).fit(interactions.matrix)
            self.base_ = self._fit_base(self._augment(interactions, self.gan_), augmented=True)
            self.selection_["gan"] = {"stopped_by": self.gan_.stopped_by_, "epochs": len(self.gan_.history_)}
        else:
            self.gan_ = None
            self.base_ = self._fit_base(interactions, augmented=False)

    def _decide(self, inter: Interactions, holdout: Holdout, cfg: CFGANConfig) -> dict[str, Any]:
        """Fit on ``holdout``'s inner part with and without augmentation; compare on its sparse users."""
        h = holdout.resolve(inter)
        inner, targets = h.split(inter, seed=cfg.seed)
        counts = np.diff(inner.matrix.indptr)
        users = np.flatnonzero((counts >= 1) & (counts <= self.max_history) & (np.diff(targets.indptr) > 0))
        out: dict[str, Any] = {"holdout": h.strategy, "sparse_users": len(users)}
        if len(users) < self.min_users:
            reason = f"fewer than min_users={self.min_users} sparse users with a held-out item"
            return {**out, "augment": False, "chosen": "plain", "reason": reason}
        exclude = None if h.repeats else _binary(inner.matrix)
        plain = per_user_metrics(self._fit_base(inner, augmented=False), users, targets, exclude)
        gan = CFGAN(cfg).fit(inner.matrix)
        params = {k: v for k, v in self.get_params().items() if k not in ("base", "mode")}
        after = type(self).from_fitted(
            self._fit_base(self._augment(inner, gan), augmented=True), gan, inner, **params
        )
        aug = per_user_metrics(after, users, targets, exclude)
        stats = {m: paired_bootstrap(plain[m], aug[m], seed=cfg.seed) for m in plain}
        helps = stats["ndcg@10"]["diff_ci"][0] > 0
        return {
            **out,
            "augment": bool(helps),
            "reason": "NDCG@10 difference CI above 0" if helps else "NDCG@10 difference CI not above 0",
            # the shape `tuijian evaluate` prints: what was chosen and the sparse users' NDCG@10 of each
            "chosen": "augmented" if helps else "plain",
            "validation": {"plain": stats["ndcg@10"]["before"], "augmented": stats["ndcg@10"]["after"]},
            **stats,
        }

    @classmethod
    def from_fitted(
        cls, base: Recommender, generator: CFGAN | None, interactions: Interactions, **params: Any
    ) -> AugmentedRecommender:
        """A fitted ``augment`` model from its parts: ``base`` already fitted on
        ``augment_interactions(interactions, generator, ...)`` (or on ``interactions`` when ``generator`` is None).
        ``params`` are the other constructor parameters (the pseudo-interaction ones must match)."""
        model = cls(base=base.name, mode="off" if generator is None else "on", **params)
        model._check()
        model.interactions_ = interactions
        model._seq_cache = None
        model.gan_, model.base_, model.augmented_ = generator, base, generator is not None
        model.selection_ = {"mode": model.mode}
        return model

    # ------------------------------------------------------------------ persistence
    def save(self, path: str) -> None:
        """``augment.json`` (params, choice), ``interactions.npz``, ``base/`` (the base model's own
        format) and, when augmentation is on, ``gan/`` (:meth:`CFGAN.save`); no pickle."""
        from tuijian.models.artifacts import save_state, write_json
        from tuijian.models.base import Persistable
        from tuijian.models.persist import interactions_to_arrays

        self._check_fitted()
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        if isinstance(self.base_, Persistable):
            self.base_.save(str(directory / "base"))
        else:
            save_state(self.base_, directory / "base")
        if self.gan_ is not None:
            self.gan_.save(directory / "gan")
        np.savez(directory / "interactions.npz", **interactions_to_arrays(self.interactions_))  # type: ignore[arg-type]
        write_json(
            directory / "augment.json",
            {"params": self.get_params(), "augmented": self.augmented_, "selection": self.selection_},
        )

    @classmethod
    def load(cls, path: str) -> AugmentedRecommender:
        from tuijian.exceptions import ModelNotFoundError
        from tuijian.models import registry
        from tuijian.models.artifacts import load_state, read_json
        from tuijian.models.persist import interactions_from_arrays

        directory = Path(path)
        if not (directory / "augment.json").is_file():
            raise ModelNotFoundError(f"no saved augment model in {directory}: expected augment.json")
        info = read_json(directory / "augment.json")
        model = cls(**info["params"])
        base_cls = registry.model_class(model.base)
        load = getattr(base_cls, "load", None)
        model.base_ = (
            load(str(directory / "base")) if callable(load) else load_state(base_cls, directory / "base")
        )
        model.gan_ = CFGAN.load(directory / "gan") if info["augmented"] else None
        model.augmented_ = bool(info["augmented"])
        model.selection_ = info["selection"]
        with np.load(directory / "interactions.npz", allow_pickle=False) as arrays:
            model.interactions_ = interactions_from_arrays(arrays)
        model._seq_cache = None
        return model

    # ------------------------------------------------------------------ scoring
    def augmented_history(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """``history`` as the base model scores it: with the sparse rows' pseudo-interactions when
        augmentation is on, unchanged otherwise."""
        self._check_fitted()
        if self.gan_ is None:
            return history
        pseudo = pseudo_interactions(
            self.gan_,
            history,
            max_history=self.max_history,
            n_pseudo=self.n_pseudo,
            pseudo_weight=self.pseudo_weight,
        )
        return binary_plus(history, pseudo)

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        return self.base_.score(
            batch.users, history=self.augmented_history(batch.history), sequences=batch._sequences
        )


def _binary(m: sp.spmatrix) -> sp.csr_matrix:
    out = sp.csr_matrix(m, dtype=np.float32, copy=True)
    out.eliminate_zeros()
    out.data[:] = 1.0
    return out
