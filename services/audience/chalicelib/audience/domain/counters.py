"""The repurchase counters: what one customer's profile adds to the report.

A customer belongs to one cohort: the day of their first order and their first touch
(channel, referral code, distributor code) and first coupon template. Their contribution to
that cohort is a vector of sums (``FIELDS``). The report of any period and dimension is the
sum of the cohort vectors of the days in the period, grouped by the dimension.

Each message changes one profile; the counters change by ``contribution(new) -
contribution(old)`` (``delta``): O(1) per message, and exact whatever the order and number
of deliveries, since the profile is (see ``profiles``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chalicelib.audience.domain.profiles import DAY, REPURCHASE_WINDOWS, Profile, day_of

# customers: the cohort's size (each brought exactly one first order);
# orders: their paid orders to date; repeaters: customers with two or more;
# r30/r60/r90: customers whose second order came within that many days of the first;
# span_s, gaps: the sum of (last - first order) in seconds and of (orders - 1), so the mean
# days between orders is span_s / gaps / 86400; gmv: what the cohort's orders paid less
# their refunds (all orders to date), minor units.
FIELDS = ("customers", "orders", "repeaters", "r30", "r60", "r90", "span_s", "gaps", "gmv")


@dataclass(frozen=True)
class Cohort:
    day: str  # YYYY-MM-DD of the first order (UTC)
    channel: str
    referral_code: str
    distributor_code: str
    coupon_template_id: str

    @property
    def combo(self) -> str:
        """A short stable id of the acquisition part (the day is the sort key's head)."""
        text = "\x1f".join((self.channel, self.referral_code, self.distributor_code, self.coupon_template_id))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def cohort(profile: Profile) -> Cohort | None:
    if profile.first_order_at is None or profile.first_touch is None:
        return None
    touch = profile.first_touch
    return Cohort(
        day=day_of(profile.first_order_at),
        channel=touch.channel,
        referral_code=touch.referral_code or "",
        distributor_code=touch.distributor_code or "",
        coupon_template_id=profile.first_coupon_template_id or "",
    )


def contribution(profile: Profile) -> dict[Cohort, dict[str, int]]:
    found = cohort(profile)
    if found is None or profile.first_order_at is None or profile.last_order_at is None:
        return {}
    second_gap = (
        profile.second_order_at - profile.first_order_at if profile.second_order_at is not None else None
    )
    vector = {
        "customers": 1,
        "orders": profile.orders_count,
        "repeaters": 1 if profile.orders_count >= 2 else 0,
        "span_s": profile.last_order_at - profile.first_order_at,
        "gaps": profile.orders_count - 1,
        "gmv": profile.gmv_amount,
    }
    for days in REPURCHASE_WINDOWS:
        vector[f"r{days}"] = 1 if second_gap is not None and second_gap <= days * DAY else 0
    return {found: vector}


def delta(old: Profile, new: Profile) -> dict[Cohort, dict[str, int]]:
    """What the counters must add when ``old`` becomes ``new``: non-zero fields only."""
    before, after = contribution(old), contribution(new)
    changes: dict[Cohort, dict[str, int]] = {}
    for key in set(before) | set(after):
        a, b = before.get(key, {}), after.get(key, {})
        diff = {f: b.get(f, 0) - a.get(f, 0) for f in FIELDS}
        diff = {f: v for f, v in diff.items() if v}
        if diff:
            changes[key] = diff
    return changes
