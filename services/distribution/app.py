"""/distribution: routes and event handlers only (parse, authorize, call the service layer).

Distributors share a merchant's products through links and earn commission on what the
links sell (tier 1), and on what the distributors they invited sell (tier 2). See
``chalicelib/distribution/domain`` for the arithmetic and ``usecases/posting.py`` for the ledger.
"""

from typing import Any

from chalice import Cron

from campaign_shared import events
from campaign_shared.api import ApiRequest, Reply, ServiceApi
from campaign_shared.auth import Role
from campaign_shared.qr import QrQuery
from chalicelib.distribution import consumer, models, routes_bindings, routes_levels, routes_withdrawals
from chalicelib.distribution.usecases import distributors, levels, links, settlement, shops, withdrawals

api = ServiceApi("distribution")
app = api.app

M, C, S = Role.merchant, Role.customer, Role.storefront

# ---- rules (merchant) ---------------------------------------------------------------------


@api.route(
    "/rules",
    methods=["PUT"],
    roles=[M],
    body=models.RulesIn,
    response=models.RulesOut,
    errors_=(400,),
    summary="Set the shop's commission rules (replaces them).",
)
def put_rules(req: ApiRequest) -> models.RulesOut:
    return shops.put_rules(req.shop, req.body)


@api.route(
    "/rules",
    roles=[M],
    response=models.RulesOut,
    summary="The shop's commission rules (defaults until set).",
)
def get_rules(req: ApiRequest) -> models.RulesOut:
    return shops.get_rules(req.shop)


@api.route(
    "/stats",
    roles=[M],
    response=models.StatsOut,
    summary="Orders attributed, and orders whose code earned nothing, by reason.",
)
def get_stats(req: ApiRequest) -> models.StatsOut:
    return shops.stats(req.shop)


# ---- distributors ------------------------------------------------------------------------


@api.route(
    "/distributors",
    methods=["POST"],
    roles=[C],
    body=models.RegisterIn,
    response=models.DistributorOut,
    status=201,
    errors_=(400, 404, 409),
    summary="Become a distributor of the shop (optionally invited by an approved distributor: "
    "invited_by or invite_code).",
)
def register(req: ApiRequest) -> Reply:
    body = req.body
    made = distributors.register(req.shop, req.sub, body.invited_by, invite_code=body.invite_code)
    return Reply(made, status=201)


@api.route(
    "/me",
    roles=[C],
    response=models.DistributorOut,
    errors_=(404,),
    summary="The caller's distributor record and status.",
)
def get_me(req: ApiRequest) -> models.DistributorOut:
    return distributors.get_distributor(req.shop, req.sub)


@api.route(
    "/distributors/{distributor_id}",
    roles=[M],
    response=models.DistributorOut,
    errors_=(404,),
    summary="A distributor of the shop.",
)
def get_distributor(req: ApiRequest) -> models.DistributorOut:
    return distributors.get_distributor(req.shop, req.path["distributor_id"])


@api.route(
    "/distributors/{distributor_id}/approve",
    methods=["POST"],
    roles=[M],
    response=models.DistributorOut,
    errors_=(404,),
    summary="Approve a distributor.",
)
def approve(req: ApiRequest) -> models.DistributorOut:
    return distributors.set_status(req.shop, req.path["distributor_id"], "approved")


@api.route(
    "/distributors/{distributor_id}/suspend",
    methods=["POST"],
    roles=[M],
    response=models.DistributorOut,
    errors_=(404,),
    summary="Suspend a distributor: their codes earn nothing until approved again.",
)
def suspend(req: ApiRequest) -> models.DistributorOut:
    return distributors.set_status(req.shop, req.path["distributor_id"], "suspended")


@api.route(
    "/distributors/{distributor_id}/balance",
    roles=[M],
    response=models.BalanceOut,
    errors_=(404,),
    summary="A distributor's balance.",
)
def distributor_balance(req: ApiRequest) -> models.BalanceOut:
    return distributors.balance(req.shop, req.path["distributor_id"])


@api.route(
    "/distributors/{distributor_id}/reconciliation",
    roles=[M],
    response=models.ReconciliationOut,
    errors_=(404,),
    summary="A distributor's balances against the sums of their ledger.",
)
def reconciliation(req: ApiRequest) -> models.ReconciliationOut:
    return settlement.reconcile(req.shop, req.path["distributor_id"])


@api.route(
    "/reconciliation",
    roles=[M],
    query=models.PageParams,
    response=models.ReconciliationPage,
    errors_=(400,),
    summary="Reconcile a page of the shop's distributors.",
)
def reconciliation_page(req: ApiRequest) -> models.ReconciliationPage:
    return settlement.reconcile_page(req.shop, req.query)


@api.route(
    "/leaderboard",
    roles=[M],
    query=models.PageParams,
    response=models.LeaderboardPage,
    errors_=(400,),
    summary="The shop's distributors by earned amount, highest first.",
)
def leaderboard(req: ApiRequest) -> models.LeaderboardPage:
    return distributors.leaderboard(req.shop, req.query)


# ---- links --------------------------------------------------------------------------------


@api.route(
    "/links",
    methods=["POST"],
    roles=[C],
    body=models.LinkIn,
    response=models.LinkOut,
    status=201,
    errors_=(400,),
    summary="The caller's share link (for a product, or the shop); the same code when asked again.",
)
def create_link(req: ApiRequest) -> Reply:
    return Reply(links.create_link(req.shop, req.sub, req.body.product_id), status=201)


@api.route(
    "/links/{code}",
    roles=[M, C, S],
    response=models.LinkOut,
    errors_=(404,),
    summary="Resolve a share code of the shop; distributor_id is shown to its owner and the merchant only.",
)
def resolve_link(req: ApiRequest) -> models.LinkOut:
    assert req.principal is not None
    viewer = None if req.principal.role == M else req.sub
    return links.resolve_link(req.shop, req.path["code"], viewer)


@api.route(
    "/me/invitation",
    roles=[C],
    response=models.DistributionInvitationOut,
    errors_=(404,),
    summary="The caller's invite code, invitation URL and QR path (approved distributors).",
)
def my_invitation(req: ApiRequest) -> models.DistributionInvitationOut:
    return links.invitation(req.shop, req.sub)


@api.route(
    "/me/invitation/qr.svg",
    roles=[C],
    query=QrQuery,
    errors_=(400, 404),
    content_type="image/svg+xml",
    summary="A scannable QR code (SVG) of the caller's invitation URL.",
)
def my_invitation_qr(req: ApiRequest) -> Any:
    return links.invitation_qr(req.shop, req.sub, req.query)


# ---- the distributor's own views ------------------------------------------------------------


@api.route(
    "/me/balance",
    roles=[C],
    response=models.BalanceOut,
    errors_=(404,),
    summary="The caller's balance: pending, available and withdrawn.",
)
def my_balance(req: ApiRequest) -> models.BalanceOut:
    return distributors.balance(req.shop, req.sub)


@api.route(
    "/me/commissions",
    roles=[C],
    query=models.CommissionQuery,
    response=models.CommissionPage,
    errors_=(400,),
    summary="The caller's commissions, newest first (?status= filters).",
)
def my_commissions(req: ApiRequest) -> models.CommissionPage:
    return distributors.commissions(req.shop, req.sub, req.query, req.query.status)


@api.route(
    "/me/ledger",
    roles=[C],
    query=models.LedgerQuery,
    response=models.LedgerPage,
    errors_=(400,),
    summary="The caller's ledger entries, newest first (?kind= filters).",
)
def my_ledger(req: ApiRequest) -> models.LedgerPage:
    return distributors.ledger_entries(req.shop, req.sub, req.query, req.query.kind)


@api.route(
    "/me/withdrawals",
    methods=["POST"],
    roles=[C],
    body=models.WithdrawalIn,
    response=models.WithdrawalOut,
    status=201,
    errors_=(400, 404, 409),
    summary="Request a withdrawal (pending_review): the amount moves from available to reserved; "
    "400 below_minimum, 409 insufficient_balance.",
)
def withdraw(req: ApiRequest) -> Reply:
    key = req.headers.get("idempotency-key")
    body = req.body
    made = withdrawals.withdraw(req.shop, req.sub, body.amount, key, method=body.method, account=body.account)
    return Reply(made, status=201)


routes_withdrawals.register(api)
routes_bindings.register(api)
routes_levels.register(api)


@api.route(
    "/me/statements/{month}",
    roles=[C],
    response=models.DistributionStatementOut,
    errors_=(400, 404),
    summary="The caller's statement of a calendar month (YYYY-MM, UTC), tied out against the ledger.",
)
def my_statement(req: ApiRequest) -> models.DistributionStatementOut:
    return settlement.statement(req.shop, req.sub, req.path["month"])


@api.route(
    "/distributors/{distributor_id}/statements/{month}",
    roles=[M],
    response=models.DistributionStatementOut,
    errors_=(400, 404),
    summary="A distributor's statement of a calendar month (YYYY-MM, UTC).",
)
def distributor_statement(req: ApiRequest) -> models.DistributionStatementOut:
    return settlement.statement(req.shop, req.path["distributor_id"], req.path["month"])


# ---- settlement ------------------------------------------------------------------------------


@api.route(
    "/settlements",
    methods=["POST"],
    roles=[M],
    body=models.SettlementIn,
    response=models.SettlementOut,
    errors_=(400,),
    summary="Make pending commissions due by as_of (default now) available; idempotent.",
)
def settle(req: ApiRequest) -> models.SettlementOut:
    return settlement.settle(req.shop, req.body.as_of)


@app.schedule(Cron(0, 2, "*", "*", "?", "*"), name="daily_settlement")
def daily_settlement(event: Any) -> dict[str, Any]:
    """Settle every shop daily at 02:00 UTC."""
    return settlement.settle_all_shops()


@app.schedule(Cron(0, 3, "*", "*", "?", "*"), name="evaluate_levels")
def evaluate_levels(event: Any) -> dict[str, int]:
    """Evaluate every shop's distributor levels daily at 03:00 UTC (after settlement)."""
    return levels.evaluate_all_shops()


# ---- messages ---------------------------------------------------------------------------------

HANDLERS = consumer.HANDLERS


@app.lambda_function(name="queue_consumer")
def queue_consumer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The service queue's consumer (SQS event source, ReportBatchItemFailures)."""
    return events.consume(event, context, HANDLERS, "distribution")
