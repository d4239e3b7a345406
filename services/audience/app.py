"""/audience: routes and message handlers only (parse, authorize, call a use case, answer)."""

from typing import Any

from chalice import Rate, Response

from campaign_shared import clock, events
from campaign_shared.api import ApiRequest, ServiceApi
from campaign_shared.auth import Role
from chalicelib.audience import models, routes_automations, routes_segments, routes_tags
from chalicelib.audience.domain.profiles import Profile, Touch
from chalicelib.audience.usecases import profiles, reports

api = ServiceApi("audience")
app = api.app


# ---- profiles ----------------------------------------------------------------------------


def _touch(touch: Touch | None) -> models.AudienceTouchOut | None:
    if touch is None:
        return None
    return models.AudienceTouchOut(
        channel=touch.channel,
        referral_code=touch.referral_code,
        distributor_code=touch.distributor_code,
        share_link_id=touch.share_link_id,
    )


def _time(epoch: int | None) -> str | None:
    from datetime import UTC, datetime

    return clock.iso(datetime.fromtimestamp(epoch, UTC)) if epoch is not None else None


def profile_out(profile: Profile) -> models.AudienceProfileOut:
    return models.AudienceProfileOut(
        customer_id=profile.customer_id,
        orders_count=profile.orders_count,
        first_order_at=_time(profile.first_order_at),
        last_order_at=_time(profile.last_order_at),
        paid_total_amount=profile.paid_total_amount,
        refunded_total_amount=profile.refunded_total_amount,
        first_touch=_touch(profile.first_touch),
        last_touch=_touch(profile.last_touch),
        first_coupon_template_id=profile.first_coupon_template_id,
        tags=sorted(profile.tags),
    )


@api.route(
    "/customers/{customer_id}",
    roles=[Role.merchant],
    response=models.AudienceProfileOut,
    errors_=(404,),
    summary="One customer's profile: orders, totals, first and last touch, tags.",
)
def get_customer(req: ApiRequest) -> models.AudienceProfileOut:
    return profile_out(profiles.get_profile(req.shop, req.path["customer_id"]))


routes_tags.register(api)
routes_segments.register(api)
routes_automations.register(api)


# ---- reports -----------------------------------------------------------------------------


@api.route(
    "/reports/repurchase",
    roles=[Role.merchant],
    query=models.AudienceReportQuery,
    response=models.AudienceReportOut,
    errors_=(400,),
    summary="Repurchase report of the customers whose first order falls in [from, to], by channel, "
    "referral_code, distributor, first_coupon_template or first_order_month; CSV with Accept: text/csv.",
)
def repurchase_report(req: ApiRequest) -> Any:
    report = reports.repurchase(req.shop, req.query)
    accept = {k.lower(): v for k, v in req.headers.items()}.get("accept", "")
    if "text/csv" in accept:
        return Response(
            body=reports.as_csv(report),
            status_code=200,
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": 'attachment; filename="repurchase.csv"',
            },
        )
    return report


# ---- messages ------------------------------------------------------------------------------


def _consumer(name: str) -> events.RecordHandler:
    """A handler of the consumer module, imported on first message (routes never need it)."""
    return events.lazy_handler("chalicelib.audience.consumer", name)


# Message type -> handler of the parsed message body (idempotent on a business key).
HANDLERS: dict[str, events.RecordHandler] = {
    "order.paid": _consumer("on_order_paid"),
    "order.cancelled": _consumer("on_order_cancelled"),
    "order.refunded": _consumer("on_order_refunded"),
    "coupon.redeemed": _consumer("on_coupon_redeemed"),
    "audience.tag_chunk": _consumer("on_tag_chunk"),
    "audience.segment_page": _consumer("on_segment_page"),
    "segment.export": _consumer("on_segment_export"),
    "audience.export_wait": _consumer("on_export_wait"),
    "audience.export_page": _consumer("on_export_page"),
    "audience.rule_page": _consumer("on_rule_page"),
    "coupon.grant_result": _consumer("on_grant_result"),
}


@app.lambda_function(name="queue_consumer")
def queue_consumer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The service queue's consumer (SQS event source, ReportBatchItemFailures)."""
    return events.consume(event, context, HANDLERS, "audience")


@app.schedule(Rate(1, unit=Rate.DAYS), name="run_automations")
def run_automations(event: Any) -> dict[str, int]:
    """Run every automation over its shop's customers: lapse enrollments and due grants."""
    from chalicelib.audience.usecases import automations

    return {"rules": automations.start_runs()}


@app.schedule(Rate(1, unit=Rate.DAYS), name="evaluate_segments")
def evaluate_segments(event: Any) -> dict[str, int]:
    """Evaluate every segment again (days since the last order move with time)."""
    from chalicelib.audience.usecases import segments

    return {"segments": segments.evaluate_all()}
