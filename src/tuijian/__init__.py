"""Tuijian (推荐): personalised recommendations with grounded AIGC for online shops.

Importing this package is cheap: heavy dependencies (torch, implicit, lightgbm,
jieba, fastapi) are imported lazily inside the functions that need them.
"""

from tuijian.exceptions import TuijianError

__version__ = "0.1.0"
__all__ = ["TuijianError", "__version__"]
