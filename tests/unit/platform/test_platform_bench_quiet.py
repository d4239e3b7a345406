"""bench_routes records nothing while another load runs on the stack (issue 12: a committed
figure of 341x was measured while a soak ran)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bench.__main__ import Context
from campaign_shared import capacity


class _Stack:
    url, stage = "http://stack", "bench"

    def __init__(self) -> None:
        self.depth = 0

    def client(self, name: str) -> Any:
        return object()

    def status(self) -> dict[str, Any]:
        return {"queues": {"coupons": {"depth": self.depth}, "coupons-bulk": {"depth": 0}}}


def test_a_quiet_stack_is_measured() -> None:
    ctx = Context(_Stack())
    assert ctx.busy(window=0.05) is None
    ctx.require_quiet("route", timeout=1)


def test_queued_messages_or_other_storage_calls_refuse_the_measurement() -> None:
    stack = _Stack()
    ctx = Context(stack)
    stack.depth = 3
    assert "coupons" in (ctx.busy(window=0.05) or "")
    with pytest.raises(RuntimeError, match="refusing to measure GET /coupons/me: the stack is busy"):
        ctx.require_quiet("GET /coupons/me", timeout=0.1)
    stack.depth = 0
    stop = threading.Event()

    def load() -> None:  # somebody else's requests: storage calls the benchmark did not make
        while not stop.is_set():
            capacity.TOTAL.add("GetItem", 0.5, 0.0)
            stop.wait(0.005)

    thread = threading.Thread(target=load)
    thread.start()
    try:
        assert "storage calls" in (ctx.busy(window=0.05) or "")
    finally:
        stop.set()
        thread.join()
