"""Policy fixtures: a simulator calibrated on the embedded Online Retail demo (real lines), once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo_calibration():
    from tuijian.policy.simulator import calibrate

    return calibrate("online-retail-demo")


@pytest.fixture(scope="session")
def demo_sim(demo_calibration):
    from tuijian.policy.simulator import ShopperSimulator

    return ShopperSimulator(demo_calibration, seed=0)
