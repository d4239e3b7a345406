"""Hardening item 3b: a careful client sees exact outcomes under faults.

The client behaves well (``CarefulCaller``: an ``Idempotency-Key`` on every POST, 502/503/504
and ``request_in_progress`` retried with backoff honouring ``Retry-After``, 12 attempts at
most) and runs the whole scenario (claims racing on a small stock, a lock, distributor
registration and links, a wishlist reservation, a referral signup, order events paid and
refunded) twice on one local stack: without faults, then with 10% of DynamoDB, SQS and SNS
calls failing. Every request is answered within the budget, no request is ever told its own
key is busy, and the final state is exactly the fault-free one, with no DLQ redrive."""

from __future__ import annotations

import os
import uuid

import pytest


def _run(rel, stack, faults, rate, claimers, stock):
    faults.rate = 0.0
    caller = rel.CarefulCaller(stack.url, f"careful-{uuid.uuid4().hex[:8]}")
    scenario = rel.Scenario(caller, claimers=claimers, stock=stock, workers=8)
    faults.rate = rate
    scenario.setup()
    scenario.post_events(scenario.events())
    faults.rate = 0.0
    rel.wait_quiet(stack)
    return caller, scenario.snapshot()


def _check(rel, local_stack, claimers, stock):
    from infrastructure.local.faults import FaultInjector

    faults = FaultInjector(rate=0.0, seed=int(os.environ.get("CAMPAIGN_FAULT_SEED") or 20261202))
    stack = local_stack(faults=faults)
    _, clean = _run(rel, stack, faults, 0.0, claimers, stock)
    caller, faulty = _run(rel, stack, faults, 0.1, claimers, stock)
    injected = dict(sorted(faults.injected.items()))
    print(
        f"\n[careful] injected={injected} statuses={dict(sorted(caller.statuses.items()))}"
        f" attempts per request={dict(sorted(caller.attempts.items()))} busy answers={caller.in_progress}"
    )
    assert sum(injected.values()) > 0
    assert not caller.exhausted, caller.exhausted
    assert not caller.bad, caller.bad
    assert caller.in_progress == 0  # a request never blocks itself
    dlqs = {name: q["dlq_depth"] for name, q in stack.status()["queues"].items()}
    assert not any(dlqs.values()), dlqs  # nothing needed a redrive
    assert faulty == clean


def test_a_careful_client_sees_exact_outcomes_under_10_percent_faults(rel, local_stack):
    _check(rel, local_stack, 30, 15)


@pytest.mark.soak
def test_a_careful_client_sees_exact_outcomes_under_10_percent_faults_soak(rel, local_stack):
    _check(rel, local_stack, 300, 100)
