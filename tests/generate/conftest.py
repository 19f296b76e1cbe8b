from __future__ import annotations

import pandas as pd
import pytest

from tuijian.generate.assistant import ShopAssistant
from tuijian.generate.shop import ShopData, load_shop


@pytest.fixture(scope="session")
def retail_shop() -> ShopData:
    return load_shop("online-retail")


@pytest.fixture(scope="session")
def clothing_shop() -> ShopData:
    return load_shop("womens-clothing-reviews")


@pytest.fixture(scope="session")
def assistant(retail_shop: ShopData) -> ShopAssistant:
    return ShopAssistant(retail_shop).fit()


def made_up_catalogue(rows: list[tuple[str, float]], prefix: str) -> pd.DataFrame:
    """A made-up catalogue frame: ``item_id`` ``<prefix>000``…, ``title`` and ``price`` from ``rows``."""
    return pd.DataFrame(
        {
            "item_id": [f"{prefix}{n:03d}" for n in range(len(rows))],
            "title": [t for t, _ in rows],
            "price": [p for _, p in rows],
        }
    )
