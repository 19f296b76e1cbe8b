from __future__ import annotations

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
