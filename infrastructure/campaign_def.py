"""The campaign definition: one small JSON file per campaign under ``infrastructure/campaigns/``.

The campaign ``name`` becomes the Chalice stage, the resource prefix (``campaign-<name>-...``)
and the CloudFormation stack names, so it is kept short and DNS/ARN-safe. Everything an
operator tunes per campaign lives here; everything the services need (tables, queues,
topics) comes from the one resource definition in ``campaign_shared.resources``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

CAMPAIGNS_DIR = Path(__file__).resolve().parent / "campaigns"
NAME_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
NAME_MAX = 20  # keeps every derived name (functions, alarms, buckets) inside AWS limits
HOSTNAME = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$"
CERTIFICATE_ARN = r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$"
BASE_URL = r"^https?://[A-Za-z0-9.\-:]+(/[\w\-./]*)?$"
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653)
_RATE = re.compile(r"^rate\(([1-9]\d*) (minute|minutes|hour|hours|day|days)\)$")


class CampaignError(Exception):
    """A one-line, operator-facing error: what is wrong and what to do about it."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


CampaignName = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN)]
FunctionKey = Annotated[str, StringConstraints(pattern=r"^[a-z]+\.[a-z][a-z0-9_]{0,40}$")]
TagText = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w .:/=+\-@]+$")]


class FunctionSettings(_Model):
    """Size of one Lambda function. ``reserved_concurrency`` caps (and guarantees) its
    concurrency; ``None`` shares the account pool; ``0`` stops the function."""

    memory_mb: int = Field(default=512, ge=128, le=10240)
    reserved_concurrency: int | None = Field(default=None, ge=0, le=10000)
    timeout_seconds: int | None = Field(default=None, ge=1, le=900)


class Alarms(_Model):
    """Thresholds: an alarm fires when the metric is *above* the threshold for the period."""

    dlq_depth: int = Field(default=0, ge=0, le=1_000_000)
    function_errors: int = Field(default=5, ge=0, le=1_000_000)
    function_throttles: int = Field(default=0, ge=0, le=1_000_000)
    api_5xx: int = Field(default=10, ge=0, le=1_000_000)
    period_seconds: Literal[60, 300, 900, 3600] = 300
    evaluation_periods: int = Field(default=1, ge=1, le=24)
    emails: tuple[Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")], ...] = ()


class CustomDomain(_Model):
    """A regional API Gateway custom domain; each service is a base-path mapping under it."""

    name: Annotated[str, StringConstraints(max_length=253, pattern=HOSTNAME)]
    certificate_arn: Annotated[str, StringConstraints(pattern=CERTIFICATE_ARN)]
    hosted_zone_id: Annotated[str, StringConstraints(pattern=r"^Z[A-Z0-9]{1,32}$")] | None = None


class Throttle(_Model):
    """API Gateway admission control per service API stage (requests/s and burst), and a
    tighter limit on the flash-grab claim routes, sized to the stock shards (a shard takes
    ~250 claims/s at half a partition's write capacity: infrastructure/README.md)."""

    rate: int = Field(default=1000, ge=1, le=100_000)
    burst: int = Field(default=2000, ge=1, le=100_000)
    claim_rate: int | None = Field(default=None, ge=1, le=100_000)
    claim_burst: int | None = Field(default=None, ge=1, le=100_000)


ORIGIN = r"^https?://[a-z0-9]([a-z0-9.\-]*[a-z0-9])?(:\d{1,5})?$"


class Cors(_Model):
    """Browser origins that may call the campaign's API (``campaign_shared.cors``): each an
    exact ``scheme://host[:port]``, never ``*``. Default: none (no CORS grant at all)."""

    allow_origins: tuple[str, ...] = Field(default=(), max_length=20)
    # Seconds a browser may cache a preflight answer.
    max_age_seconds: int = Field(default=600, ge=0, le=86400)

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin == "*":
                raise ValueError("'*' would let every web site call the API; list the origins instead")
            if not re.match(ORIGIN, origin):
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port] in lowercase, "
                    "with no path or trailing slash (e.g. https://shop.example.com)"
                )
        if len(set(value)) != len(value):
            raise ValueError("an origin is listed twice")
        return value


class Retention(_Model):
    log_days: int = 30
    # Point-in-time recovery window of every table (DynamoDB allows 1..35 days).
    pitr_days: int = Field(default=35, ge=1, le=35)
    # How long a dead-lettered message is kept (SQS allows at most 14 days).
    dlq_days: int = Field(default=14, ge=1, le=14)
    # Tables refuse DeleteTable until this is switched off (they are Retained by the stack anyway).
    deletion_protection: bool = True

    @field_validator("log_days")
    @classmethod
    def _log_days(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of CloudWatch's retention periods {list(LOG_RETENTION_DAYS)}")
        return value


class CampaignDef(_Model):
    name: CampaignName
    description: Annotated[str, StringConstraints(max_length=500)] = ""
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")]
    # Optional guard: deploy refuses to run with credentials of another account.
    account_id: Annotated[str, StringConstraints(pattern=r"^\d{12}$")] | None = None
    stock_shards: int = Field(default=4, ge=1, le=100)
    # EventBridge expression for the distribution settlement run (rate(...) or cron(6 fields)).
    settlement_schedule: str = "rate(1 hour)"
    public_base_url: Annotated[str, StringConstraints(max_length=200, pattern=BASE_URL)] | None = None
    # Secrets Manager secret holding the JWT signing secret (read at run time by its name).
    jwt_secret_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9/_+=.@\-]{1,256}$")] | None = None
    function_defaults: FunctionSettings = FunctionSettings()
    # Per function: "<service>.<function>", e.g. "coupons.api", "coupons.queue_consumer".
    functions: dict[FunctionKey, FunctionSettings] = Field(default_factory=dict)
    alarms: Alarms = Alarms()
    domain: CustomDomain | None = None
    retention: Retention = Retention()
    throttle: Throttle = Throttle()
    cors: Cors = Cors()
    tags: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:/=+\-@]{1,64}$")], TagText] = Field(
        default_factory=dict, max_length=20
    )

    @field_validator("settlement_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if _RATE.match(value):
            return value
        if value.startswith("cron(") and value.endswith(")") and len(value[5:-1].split()) == 6:
            from infrastructure.schedules import next_run

            try:
                from datetime import UTC, datetime

                next_run(value, datetime.now(UTC))
            except (ValueError, KeyError) as exc:
                raise ValueError(f"not a valid EventBridge cron expression ({exc})") from None
            return value
        raise ValueError("must be 'rate(N minutes|hours|days)' or 'cron(min hour day month weekday year)'")

    @field_validator("functions")
    @classmethod
    def _function_keys(cls, value: dict[str, FunctionSettings]) -> dict[str, FunctionSettings]:
        from infrastructure.dev.apps import SERVICE_NAMES

        for key in value:
            service = key.split(".", 1)[0]
            if service not in SERVICE_NAMES:
                raise ValueError(f"{key!r}: unknown service {service!r} (one of {', '.join(SERVICE_NAMES)})")
        return value

    @model_validator(mode="after")
    def _base_url(self) -> CampaignDef:
        if self.public_base_url is None and self.domain is None:
            raise ValueError("set public_base_url (or a domain): share and referral links are built from it")
        return self

    @property
    def stage(self) -> str:
        return self.name

    @property
    def base_url(self) -> str:
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        assert self.domain is not None
        return f"https://{self.domain.name}"

    @property
    def secret_name(self) -> str:
        return self.jwt_secret_name or f"campaign/{self.name}/jwt-secret"

    def function(self, service: str, function: str) -> FunctionSettings:
        """The settings of one function: its own entry over ``function_defaults``."""
        specific = self.functions.get(f"{service}.{function}")
        if specific is None:
            return self.function_defaults
        return self.function_defaults.model_copy(update=specific.model_dump(exclude_unset=True))

    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


def check_name(name: str) -> str:
    if len(name) > NAME_MAX or not re.match(NAME_PATTERN, name):
        raise CampaignError(
            f"bad campaign name {name!r}: use 1-{NAME_MAX} lowercase letters, digits and single hyphens, "
            "starting with a letter (e.g. double11)"
        )
    return name


def definition_path(name: str, file: str | Path | None = None) -> Path:
    return Path(file) if file else CAMPAIGNS_DIR / f"{check_name(name)}.json"


def load_file(path: Path) -> CampaignDef:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CampaignError(f"{path}: no such campaign file; create it (infrastructure/README.md)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise CampaignError(f"{path}: not valid JSON ({where}: {exc.msg})") from None
    try:
        return CampaignDef.model_validate(data)
    except ValidationError as exc:
        raise CampaignError(f"{path}: {describe(exc)}") from None


def describe(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"]) or "(file)"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key; remove it or fix its spelling"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{where}: {message}{more}"


def load(name: str, file: str | Path | None = None) -> tuple[CampaignDef, Path]:
    """The definition of campaign ``name``; the file must name that same campaign."""
    check_name(name)
    path = definition_path(name, file)
    definition = load_file(path)
    if definition.name != name:
        raise CampaignError(
            f"{path} defines campaign {definition.name!r}, not {name!r}: "
            f"run the command with {definition.name!r} or fix the file's name field"
        )
    return definition, path
