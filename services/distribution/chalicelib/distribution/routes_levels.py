"""Levels, performance and the period leaderboard: the merchant's ladder and evaluation, a
distributor's level and history (merchant, and the distributor's own), performance for a
period, and the shop's ranking for a period. ``app.py`` registers them (``register(api)``);
each only parses, calls a use case and returns."""

from __future__ import annotations

from campaign_shared.api import ApiRequest, ServiceApi
from campaign_shared.auth import Role
from chalicelib.distribution import models_levels as models
from chalicelib.distribution.usecases import levels, performance

M, C = Role.merchant, Role.customer


def register(api: ServiceApi) -> None:
    @api.route(
        "/levels",
        methods=["PUT"],
        roles=[M],
        body=models.DistributionLevelsIn,
        response=models.DistributionLevelsOut,
        errors_=(400, 409),
        summary="Set the shop's levels, lowest first (replaces them); 409 overlapping_levels when "
        "thresholds overlap, nothing written.",
    )
    def put_levels(req: ApiRequest) -> models.DistributionLevelsOut:
        return levels.put_levels(req.shop, req.body)

    @api.route(
        "/levels",
        roles=[M],
        response=models.DistributionLevelsOut,
        summary="The shop's levels, lowest first.",
    )
    def get_levels(req: ApiRequest) -> models.DistributionLevelsOut:
        return levels.get_levels(req.shop)

    @api.route(
        "/levels/evaluations",
        methods=["POST"],
        roles=[M],
        response=models.DistributionLevelEvaluationOut,
        summary="Evaluate every distributor's level now (as the daily evaluate_levels schedule does).",
    )
    def evaluate_levels(req: ApiRequest) -> models.DistributionLevelEvaluationOut:
        return levels.evaluate(req.shop)

    @api.route(
        "/distributors/{distributor_id}/level",
        roles=[M],
        response=models.DistributionDistributorLevelOut,
        errors_=(404,),
        summary="A distributor's level and its history.",
    )
    def distributor_level(req: ApiRequest) -> models.DistributionDistributorLevelOut:
        return levels.level_of(req.shop, req.path["distributor_id"])

    @api.route(
        "/me/level",
        roles=[C],
        response=models.DistributionDistributorLevelOut,
        errors_=(404,),
        summary="The caller's level and its history.",
    )
    def my_level(req: ApiRequest) -> models.DistributionDistributorLevelOut:
        return levels.level_of(req.shop, req.sub)

    @api.route(
        "/distributors/{distributor_id}/performance",
        roles=[M],
        query=models.DistributionPeriodQuery,
        response=models.DistributionPerformanceOut,
        errors_=(400, 404),
        summary="A distributor's GMV, orders, new and repeat customers and commission for a period.",
    )
    def distributor_performance(req: ApiRequest) -> models.DistributionPerformanceOut:
        return performance.of_distributor(req.shop, req.path["distributor_id"], req.query)

    @api.route(
        "/me/performance",
        roles=[C],
        query=models.DistributionPeriodQuery,
        response=models.DistributionPerformanceOut,
        errors_=(400, 404),
        summary="The caller's GMV, orders, new and repeat customers and commission for a period.",
    )
    def my_performance(req: ApiRequest) -> models.DistributionPerformanceOut:
        return performance.of_distributor(req.shop, req.sub, req.query)

    @api.route(
        "/leaderboard/period",
        roles=[M],
        query=models.DistributionLeaderboardQuery,
        response=models.DistributionPeriodLeaderboardOut,
        errors_=(400,),
        summary="The shop's top distributors for a period, by GMV or by commission.",
    )
    def period_leaderboard(req: ApiRequest) -> models.DistributionPeriodLeaderboardOut:
        return performance.leaderboard(req.shop, req.query)
