"""The withdrawal workflow's routes: the distributor's view of a request, and the merchant's
queue, CSV export and review (approve, reject, pay, fail). ``app.py`` registers them
(``register(api)``); each only parses, calls a use case and returns."""

from __future__ import annotations

from chalice import Response

from campaign_shared.api import ApiRequest, ServiceApi
from campaign_shared.auth import Role
from chalicelib.distribution import models
from chalicelib.distribution.domain import withdrawals as flow
from chalicelib.distribution.usecases import payouts

M, C = Role.merchant, Role.customer
ONE = "/distributors/{distributor_id}/withdrawals/{withdrawal_id}"


def register(api: ServiceApi) -> None:
    @api.route(
        "/me/withdrawals/{withdrawal_id}",
        roles=[C],
        response=models.WithdrawalOut,
        errors_=(404,),
        summary="One of the caller's withdrawals, with its review status.",
    )
    def my_withdrawal(req: ApiRequest) -> models.WithdrawalOut:
        return payouts.get(req.shop, req.sub, req.path["withdrawal_id"])

    @api.route(
        "/withdrawals",
        roles=[M],
        query=models.DistributionWithdrawalQuery,
        response=models.DistributionWithdrawalPage,
        errors_=(400,),
        summary="The shop's withdrawals of one status (default pending_review), oldest first, "
        "optionally requested within created_from..created_to.",
    )
    def withdrawal_queue(req: ApiRequest) -> models.DistributionWithdrawalPage:
        return payouts.queue(req.shop, req.query)

    @api.route(
        "/withdrawals.csv",
        roles=[M],
        query=models.DistributionWithdrawalQuery,
        errors_=(400,),
        content_type="text/csv",
        summary="The same queue as CSV (every page, at most 10,000 rows), to pay from.",
    )
    def withdrawal_csv(req: ApiRequest) -> Response:
        body = payouts.export_csv(req.shop, req.query)
        return Response(
            body=body,
            status_code=200,
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="withdrawals-{req.query.status}.csv"',
            },
        )

    @api.route(
        ONE,
        roles=[M],
        response=models.WithdrawalOut,
        errors_=(404,),
        summary="A distributor's withdrawal.",
    )
    def get_withdrawal(req: ApiRequest) -> models.WithdrawalOut:
        return payouts.get(req.shop, req.path["distributor_id"], req.path["withdrawal_id"])

    @api.route(
        ONE + "/approve",
        methods=["POST"],
        roles=[M],
        response=models.WithdrawalOut,
        errors_=(404, 409),
        summary="Approve a pending_review withdrawal (idempotent); 409 invalid_transition otherwise.",
    )
    def approve_withdrawal(req: ApiRequest) -> models.WithdrawalOut:
        path = req.path
        return payouts.transition(req.shop, path["distributor_id"], path["withdrawal_id"], flow.APPROVE)

    @api.route(
        ONE + "/reject",
        methods=["POST"],
        roles=[M],
        body=models.DistributionWithdrawalRejectIn,
        response=models.WithdrawalOut,
        errors_=(400, 404, 409),
        summary="Reject a pending_review withdrawal with a reason: its amount returns to available.",
    )
    def reject_withdrawal(req: ApiRequest) -> models.WithdrawalOut:
        path = req.path
        return payouts.transition(
            req.shop, path["distributor_id"], path["withdrawal_id"], flow.REJECT, reason=req.body.reason
        )

    @api.route(
        ONE + "/pay",
        methods=["POST"],
        roles=[M],
        body=models.DistributionWithdrawalPayIn,
        response=models.WithdrawalOut,
        errors_=(400, 404, 409),
        summary="Record the payout of an approved withdrawal: reserved becomes withdrawn, once "
        "(409 already_paid with another reference).",
    )
    def pay_withdrawal(req: ApiRequest) -> models.WithdrawalOut:
        return payouts.transition(
            req.shop,
            req.path["distributor_id"],
            req.path["withdrawal_id"],
            flow.PAY,
            reference=req.body.payout_reference,
        )

    @api.route(
        ONE + "/fail",
        methods=["POST"],
        roles=[M],
        body=models.DistributionWithdrawalFailIn,
        response=models.WithdrawalOut,
        errors_=(400, 404, 409),
        summary="Record that the payout of an approved withdrawal failed: its amount returns to available.",
    )
    def fail_withdrawal(req: ApiRequest) -> models.WithdrawalOut:
        path = req.path
        return payouts.transition(
            req.shop, path["distributor_id"], path["withdrawal_id"], flow.FAIL, reason=req.body.reason
        )
