"""Recommenders: one contract (:mod:`tuijian.models.base`), many models, chosen by name (:mod:`tuijian.models.registry`)."""
