"""Indicators are exact on hand-made shares."""

from __future__ import annotations

import math

import pytest

from sim.indicators import hhi, shannon, shares


def test_hhi_on_hand_made_shares():
    assert hhi({"russia": 100.0}) == 10_000.0
    # 40 / 30 / 30 %: 1600 + 900 + 900
    assert hhi({"russia": 4.0, "norway": 3.0, "kazakhstan": 3.0}) == pytest.approx(3400.0)
    assert hhi({"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}) == pytest.approx(2500.0)
    assert hhi({"a": 5.0, "gone": 0.0}) == 10_000.0
    assert math.isnan(hhi({}))


def test_shannon_on_hand_made_shares():
    assert shannon({"russia": 7.0}) == 0.0
    assert shannon({"a": 1.0, "b": 1.0}) == pytest.approx(math.log(2))
    assert shannon({"a": 2.0, "b": 1.0, "c": 1.0}) == pytest.approx(
        -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    )
    assert shares({"a": 3.0, "b": 1.0}) == {"a": 0.75, "b": 0.25}
