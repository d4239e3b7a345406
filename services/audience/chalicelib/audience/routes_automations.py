"""/audience automation routes: rules, a run now, and the lift report."""

from __future__ import annotations

from campaign_shared.api import ApiRequest, Reply, ServiceApi
from campaign_shared.auth import Role
from campaign_shared.storage.paging import PageParams
from chalicelib.audience import models
from chalicelib.audience.domain.automations import AudienceRuleSpec
from chalicelib.audience.usecases import automations


def register(api: ServiceApi) -> None:
    @api.route(
        "/automations",
        methods=["POST"],
        roles=[Role.merchant],
        body=AudienceRuleSpec,
        response=models.AudienceRuleOut,
        status=201,
        errors_=(400,),
        summary="Create a lifecycle automation {trigger, delay_days, template_id, control_percent 0..50 "
        "(default 10)}; an unknown template is 400.",
    )
    def create_rule(req: ApiRequest) -> Reply:
        return Reply(automations.create_rule(req.shop, req.body), status=201)

    @api.route(
        "/automations",
        roles=[Role.merchant],
        query=PageParams,
        response=models.AudienceRuleList,
        errors_=(400,),
        summary="The shop's automations, paged.",
    )
    def list_rules(req: ApiRequest) -> models.AudienceRuleList:
        return automations.list_rules(req.shop, req.query)

    @api.route(
        "/automations/{rule_id}",
        roles=[Role.merchant],
        response=models.AudienceRuleOut,
        errors_=(404,),
        summary="One automation.",
    )
    def get_rule(req: ApiRequest) -> models.AudienceRuleOut:
        return automations.get_rule(req.shop, req.path["rule_id"])

    @api.route(
        "/automations/{rule_id}/runs",
        methods=["POST"],
        roles=[Role.merchant],
        response=models.AudienceRuleOut,
        status=202,
        errors_=(404,),
        summary="Run the automation over the shop's customers now (as the daily schedule does): lapse "
        "enrollments and due grants; a rerun never grants twice.",
    )
    def run_rule(req: ApiRequest) -> Reply:
        return Reply(automations.start_rule_run(req.shop, req.path["rule_id"]), status=202)

    @api.route(
        "/automations/{rule_id}/lift",
        roles=[Role.merchant],
        query=models.AudienceLiftQuery,
        response=models.AudienceLiftOut,
        errors_=(400, 404),
        summary="Treatment against control for customers enrolled in [from, to]: customers, repurchasers, "
        "rate, GMV per customer, coupon cost, incremental GMV with a 95% CI (Welch).",
    )
    def lift(req: ApiRequest) -> models.AudienceLiftOut:
        return automations.lift_report(req.shop, req.path["rule_id"], req.query.from_, req.query.to)
