"""Customer binding routes: the distributor's bound customers (masked), the merchant's view of
a distributor's customers and of one customer's binding with its audit, and the merchant's
transfer and unbinding (each with a reason). ``app.py`` registers them (``register(api)``)."""

from __future__ import annotations

from campaign_shared.api import ApiRequest, ServiceApi
from campaign_shared.auth import Role
from campaign_shared.storage.paging import PageParams
from chalicelib.distribution import models
from chalicelib.distribution.usecases import bindings

M, C = Role.merchant, Role.customer


def register(api: ServiceApi) -> None:
    @api.route(
        "/me/customers",
        roles=[C],
        query=PageParams,
        response=models.DistributionBoundCustomerPage,
        errors_=(400, 404),
        summary="The caller's bound customers (ids masked), with the orders and GMV each brought.",
    )
    def my_customers(req: ApiRequest) -> models.DistributionBoundCustomerPage:
        return bindings.customers(req.shop, req.sub, req.query, masked=True)

    @api.route(
        "/distributors/{distributor_id}/customers",
        roles=[M],
        query=PageParams,
        response=models.DistributionBoundCustomerPage,
        errors_=(400, 404),
        summary="A distributor's bound customers, most recently bound first.",
    )
    def distributor_customers(req: ApiRequest) -> models.DistributionBoundCustomerPage:
        return bindings.customers(req.shop, req.path["distributor_id"], req.query, masked=False)

    @api.route(
        "/customers/{customer_id}/binding",
        roles=[M],
        response=models.DistributionBindingOut,
        errors_=(404,),
        summary="A customer's binding and its audited history.",
    )
    def customer_binding(req: ApiRequest) -> models.DistributionBindingOut:
        return bindings.binding(req.shop, req.path["customer_id"])

    @api.route(
        "/customers/{customer_id}/binding/transfer",
        methods=["POST"],
        roles=[M],
        body=models.DistributionBindingTransferIn,
        response=models.DistributionBindingOut,
        errors_=(400, 404, 409),
        summary="Transfer a bound customer to another approved distributor (later orders only).",
    )
    def transfer_binding(req: ApiRequest) -> models.DistributionBindingOut:
        body = req.body
        return bindings.change(req.shop, req.path["customer_id"], body.distributor_id, body.reason, req.sub)

    @api.route(
        "/customers/{customer_id}/binding/unbind",
        methods=["POST"],
        roles=[M],
        body=models.DistributionBindingUnbindIn,
        response=models.DistributionBindingOut,
        errors_=(400, 404),
        summary="Unbind a customer (later orders only).",
    )
    def unbind(req: ApiRequest) -> models.DistributionBindingOut:
        return bindings.change(req.shop, req.path["customer_id"], None, req.body.reason, req.sub)
