"""The shop's referral program."""

from __future__ import annotations

from typing import Any

from campaign_shared.errors import InvalidRequest, NotFound
from chalicelib.referral import models
from chalicelib.referral.domain import Program, rewards
from chalicelib.referral.store import Stores
from chalicelib.referral.store.records import CouponTemplate, ProgramRecord
from chalicelib.referral.usecases.common import now, real


def _program_out(record: ProgramRecord) -> models.ProgramOut:
    program = record.program
    return models.ProgramOut(
        referrer_template_id=program.referrer_template_id,
        referee_template_id=program.referee_template_id,
        min_order_amount=program.min_order_amount,
        max_rewards_per_referrer=program.max_rewards_per_referrer,
        reward_hold_days=program.reward_hold_days,
        updated_at=record.updated_at,
    )


def put_program(shop: str, body: models.ProgramIn, stores: Stores | None = None) -> models.ProgramOut:
    """Set the shop's program; both templates must exist in the shop's coupons, and the
    referrer template's ``per_customer_limit`` must allow ``max_rewards_per_referrer`` coupons
    (else 400, nothing written). A template deleted later shows as a failed reward, never a
    lost one."""
    s = real(stores)
    details: list[dict[str, Any]] = []
    checked: dict[str, CouponTemplate | None] = {}
    for field in ("referrer_template_id", "referee_template_id"):
        template_id = getattr(body, field)
        if template_id not in checked:
            checked[template_id] = s.templates.get(shop, template_id)
        template = checked[template_id]
        if template is None:
            details.append(
                {"loc": ["body", field], "msg": f"no coupon template {template_id}", "type": "not_found"}
            )
        elif field == "referrer_template_id":
            problem = rewards.limit_problem(template.per_customer_limit, body.max_rewards_per_referrer)
            if problem:
                loc = ["body", "max_rewards_per_referrer"]
                details.append({"loc": loc, "msg": problem, "type": "template_limit_too_low"})
    if details:
        raise InvalidRequest(f"invalid body: {details[0]['loc'][1]}: {details[0]['msg']}", details=details)
    program = Program(
        referrer_template_id=body.referrer_template_id,
        referee_template_id=body.referee_template_id,
        min_order_amount=body.min_order_amount,
        max_rewards_per_referrer=body.max_rewards_per_referrer,
        reward_hold_days=body.reward_hold_days,
    )
    record = ProgramRecord(program=program, updated_at=now())
    s.programs.put(shop, record)
    return _program_out(record)


def get_program(shop: str, stores: Stores | None = None) -> models.ProgramOut:
    found = real(stores).programs.get(shop)
    if found is None:
        raise NotFound("no referral program")
    return _program_out(found)
