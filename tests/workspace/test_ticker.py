"""The ticker: one thread moves every model, so a model that holds it up is named in the log."""

from __future__ import annotations

import logging
import time

import pytest

from airbricks.workspace import core
from airbricks.workspace.core import Workspace


def test_a_slow_tick_is_logged_with_the_model_it_was_in(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def held_up(now: int) -> None:
        time.sleep(0.05)

    monkeypatch.setattr(core, "SLOW_TICK_SECONDS", 0.01)
    ws._tickers.append(held_up)
    with caplog.at_level(logging.WARNING, logger="airbricks.workspace"):
        ws.step(0)
    slow = [r.getMessage() for r in caplog.records if "the ticker spent" in r.getMessage()]
    assert len(slow) == 1 and "held_up" in slow[0]
