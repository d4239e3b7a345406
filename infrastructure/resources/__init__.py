"""The resource definition lives in ``campaign_shared.resources`` so that Lambda functions can
read their own resource names from it; this package re-exports it for infrastructure code."""

from campaign_shared.resources import SERVICES, TOPICS, service  # noqa: F401
