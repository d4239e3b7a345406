"""Lifecycle automations: rules, enrollment with a control group, and the lift counters.

A rule ``{trigger, delay_days, template_id, control_percent}`` enrolls a customer once per
*cycle* when its trigger fires:

- ``first_order`` / ``nth_order: k``: when the customer's k-th counted order is known (cycle
  ``"1"``: once per customer);
- ``tag_added: T``: when the tag is added (cycle ``"1"``);
- ``no_order_for_days: N``: when N days have passed since the last order (cycle = that last
  order's time: a new order and a new lapse make a new cycle); found by the scheduled runs.

The arm is a deterministic hash of (rule, customer): ``bucket < control_percent`` is control, so
a rerun or a crash never moves anyone. Treatment gets one coupon grant per (rule, cycle,
customer) (``grant_id`` derived from them, so the coupons service issues once); control gets
nothing; both are recorded on the profile (``Enrollment``) and counted.

Lift: an enrolled customer's outcome is their orders *after* the enrollment: a repurchaser has
at least one, their GMV is what those orders paid less refunds, and the coupon cost is the
discount of orders that redeemed this enrollment's grant. Per (rule, enrollment day, arm) the
counters keep n, repurchasers, ΣGMV, ΣGMV² and Σcost (``lift_contribution``), updated by
differences like the repurchase counters, so the report is exact and O(days).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from campaign_shared.types import Id, In
from chalicelib.audience.domain.profiles import DAY, OrderState, day_of

Verdict = Literal["significant_gain", "significant_loss", "not_significant_yet"]
MIN_ARM_SIZE = 30  # below this many customers in an arm, the normal approximation is not trusted
Z_95 = 1.959964


class AudienceFirstOrder(In):
    type: Literal["first_order"]


class AudienceNthOrder(In):
    type: Literal["nth_order"]
    n: int = Field(ge=1, le=1000)


class AudienceNoOrderFor(In):
    type: Literal["no_order_for_days"]
    days: int = Field(ge=1, le=3650)


class AudienceTagAdded(In):
    type: Literal["tag_added"]
    tag: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")


Trigger = Annotated[
    AudienceFirstOrder | AudienceNthOrder | AudienceNoOrderFor | AudienceTagAdded, Field(discriminator="type")
]


class AudienceRuleSpec(In):
    name: str = Field(default="", max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")
    trigger: Trigger
    delay_days: int = Field(default=0, ge=0, le=365)
    template_id: Id
    control_percent: int = Field(default=10, ge=0, le=50)


def bucket(rule_id: str, customer_id: str) -> int:
    digest = hashlib.sha256(f"{rule_id}\x1f{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def arm(rule_id: str, customer_id: str, control_percent: int) -> str:
    return "control" if bucket(rule_id, customer_id) < control_percent else "treatment"


def grant_id(rule_id: str, cycle: str, customer_id: str) -> str:
    """One grant per (rule, cycle, customer), within the id alphabet and 128 characters."""
    who = hashlib.sha256(customer_id.encode()).hexdigest()[:24]
    return f"aud:{rule_id}:{cycle}:{who}"


def parse_grant_id(value: str) -> tuple[str, str] | None:
    """(rule id, cycle) of an audience grant id, or None."""
    parts = value.split(":")
    if len(parts) != 4 or parts[0] != "aud":
        return None
    return parts[1], parts[2]


@dataclass(frozen=True)
class Enrollment:
    rule_id: str
    cycle: str
    arm: str  # treatment | control
    enrolled_at: int
    due_at: int
    status: str  # control | due | sent | issued | failed
    coupon_id: str | None = None
    reason: str | None = None

    @property
    def key(self) -> str:
        return f"{self.rule_id}|{self.cycle}"


def enroll(rule_id: str, spec: AudienceRuleSpec, customer_id: str, cycle: str, at: int) -> Enrollment:
    side = arm(rule_id, customer_id, spec.control_percent)
    return Enrollment(
        rule_id=rule_id,
        cycle=cycle,
        arm=side,
        enrolled_at=at,
        due_at=at + spec.delay_days * DAY,
        status="control" if side == "control" else "due",
    )


def counted(orders: dict[str, OrderState]) -> list[OrderState]:
    return sorted((o for o in orders.values() if o.counts), key=lambda o: (o.paid_at, o.order_id))


def order_trigger(spec: AudienceRuleSpec, orders: dict[str, OrderState]) -> tuple[str, int] | None:
    """(cycle, trigger time) when an order trigger holds for these orders, else None."""
    trigger = spec.trigger
    k = (
        1
        if isinstance(trigger, AudienceFirstOrder)
        else trigger.n
        if isinstance(trigger, AudienceNthOrder)
        else None
    )
    if k is None:
        return None
    done = counted(orders)
    if len(done) < k:
        return None
    return "1", int(done[k - 1].paid_at or 0)


def lapse_trigger(spec: AudienceRuleSpec, orders: dict[str, OrderState], now: int) -> tuple[str, int] | None:
    """(cycle, trigger time) when ``no_order_for_days`` holds at ``now``."""
    if not isinstance(spec.trigger, AudienceNoOrderFor):
        return None
    done = counted(orders)
    if not done:
        return None
    last = int(done[-1].paid_at or 0)
    fires = last + spec.trigger.days * DAY
    return (str(last), fires) if fires <= now else None


# ---- lift -------------------------------------------------------------------------------

LIFT_FIELDS = ("n", "repurchasers", "gmv", "gmv_sq", "cost")


@dataclass(frozen=True)
class LiftCell:
    rule_id: str
    day: str
    arm: str


def lift_contribution(
    customer_id: str, orders: dict[str, OrderState], enrollments: dict[str, Enrollment]
) -> dict[LiftCell, dict[str, int]]:
    cells: dict[LiftCell, dict[str, int]] = {}
    done = counted(orders)
    for e in enrollments.values():
        after = [o for o in done if (o.paid_at or 0) > e.enrolled_at]
        gmv = sum((o.paid_amount or 0) - o.refunded for o in after)
        grant = grant_id(e.rule_id, e.cycle, customer_id)
        cost = sum(o.discount_amount for o in done if o.grant_id == grant)
        cell = LiftCell(e.rule_id, day_of(e.enrolled_at), e.arm)
        sums = cells.setdefault(cell, dict.fromkeys(LIFT_FIELDS, 0))
        sums["n"] += 1
        sums["repurchasers"] += 1 if after else 0
        sums["gmv"] += gmv
        sums["gmv_sq"] += gmv * gmv
        sums["cost"] += cost
    return cells


@dataclass(frozen=True)
class Arm:
    customers: int
    repurchasers: int
    gmv: int
    gmv_sq: int
    cost: int

    @property
    def mean(self) -> float:
        return self.gmv / self.customers if self.customers else 0.0

    @property
    def variance(self) -> float:
        """Sample variance of GMV per customer from the sums (n - 1 in the denominator)."""
        n = self.customers
        if n < 2:
            return 0.0
        return max(0.0, (self.gmv_sq - self.gmv * self.gmv / n) / (n - 1))


@dataclass(frozen=True)
class Lift:
    incremental_gmv_per_customer: float | None
    ci_low: float | None
    ci_high: float | None
    incremental_gmv: float | None
    verdict: Verdict


def lift(treatment: Arm, control: Arm) -> Lift:
    """Welch's normal approximation on the difference of mean GMV per customer:
    d = m_t - m_c, se = sqrt(s_t²/n_t + s_c²/n_c), 95% CI d ± 1.96·se. Incremental GMV is
    d × n_t (what treatment customers bought beyond what they would have without the coupon).
    "not_significant_yet" when either arm has fewer than ``MIN_ARM_SIZE`` customers or the
    interval contains 0."""
    if treatment.customers < MIN_ARM_SIZE or control.customers < MIN_ARM_SIZE:
        if treatment.customers and control.customers:
            d = treatment.mean - control.mean
            return Lift(round(d, 2), None, None, round(d * treatment.customers, 2), "not_significant_yet")
        return Lift(None, None, None, None, "not_significant_yet")
    d = treatment.mean - control.mean
    se = math.sqrt(treatment.variance / treatment.customers + control.variance / control.customers)
    low, high = d - Z_95 * se, d + Z_95 * se
    verdict: Verdict = (
        "significant_gain" if low > 0 else "significant_loss" if high < 0 else "not_significant_yet"
    )
    return Lift(round(d, 2), round(low, 2), round(high, 2), round(d * treatment.customers, 2), verdict)
