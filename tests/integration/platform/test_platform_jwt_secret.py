"""On AWS the JWT secret is read from Secrets Manager (Powertools Parameters, cached), never
from the environment, and a rotation takes effect without a redeploy: a token signed with the
new secret is accepted at once (the process reads the secret again on a signature mismatch,
at most once a minute), one signed with the old secret is refused once it was re-read."""

from __future__ import annotations

import boto3
import pytest

from campaign_shared import errors, secrets
from campaign_shared.auth import Role, mint
from campaign_shared.settings import Settings, configure

NAME = "campaign/test/jwt-secret"


@pytest.fixture
def secret_store(aws, monkeypatch):
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    monkeypatch.setattr(secrets, "_last_refresh", -1e9)
    client = boto3.client("secretsmanager", region_name="us-east-1")
    client.create_secret(Name=NAME, SecretString="first-secret-0123456789")
    configure(Settings(stage="test", jwt_secret="not-this-one-0123", jwt_secret_name=NAME))
    yield client
    parameters.clear_caches()


def bearer(secret: str) -> str:
    return "Bearer " + mint(role=Role.merchant.value, shop="s1", sub="m1", secret=secret)


def test_tokens_are_checked_against_the_secret_in_secrets_manager(secret_store):
    from campaign_shared.api import _principal

    assert _principal(bearer("first-secret-0123456789")).sub == "m1"
    refused = _principal(bearer("not-this-one-0123"))  # the environment's value is not used
    assert isinstance(refused, errors.Unauthorized)


def test_a_rotated_secret_is_used_without_a_redeploy(secret_store, monkeypatch):
    from campaign_shared.api import _principal

    assert _principal(bearer("first-secret-0123456789")).sub == "m1"  # cached now
    secret_store.put_secret_value(SecretId=NAME, SecretString="second-secret-0123456789")
    assert _principal(bearer("second-secret-0123456789")).sub == "m1"  # re-read on the mismatch
    assert isinstance(_principal(bearer("first-secret-0123456789")), errors.Unauthorized)
    # a flood of bad tokens does not make it read the secret again within the minute
    secret_store.put_secret_value(SecretId=NAME, SecretString="third-secret-0123456789")
    assert isinstance(_principal(bearer("forged-secret-0123456789")), errors.Unauthorized)
    assert secrets.refreshed_jwt_secret() is None
    assert isinstance(_principal(bearer("third-secret-0123456789")), errors.Unauthorized)  # next minute
    monkeypatch.setattr(secrets, "_last_refresh", -1e9)  # a minute later
    assert _principal(bearer("third-secret-0123456789")).sub == "m1"


def test_an_unreadable_secret_is_a_503_not_a_500(secret_store):
    from campaign_shared.api import _principal

    configure(Settings(stage="test", jwt_secret="not-this-one-0123", jwt_secret_name="campaign/test/missing"))
    answer = _principal(bearer("first-secret-0123456789"))
    assert isinstance(answer, errors.ServiceUnavailable) and answer.status == 503
