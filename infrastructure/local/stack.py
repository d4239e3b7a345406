"""The whole product in one process on an embedded AWS (moto): ``make run`` and the e2e tests."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from infrastructure.dev.apps import SERVICE_NAMES


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _powertools_defaults() -> None:
    # Locally, logs go to the console; EMF metrics and X-Ray are off unless asked for.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")


class LocalStack:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        moto_port: int = 0,
        stage: str = "local",
        data_dir: Path | None = None,
        jwt_secret: str | None = None,
        retry_after_seconds: int = 1,
        faults: Any = None,
        cors_allow_origins: tuple[str, ...] = (),
        cors_max_age: int = 600,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.moto_port = moto_port
        self.stage = stage
        self.data_dir = data_dir
        self.jwt_secret = jwt_secret or os.environ.get("CAMPAIGN_JWT_SECRET") or "local-dev-secret"
        self.retry_after_seconds = retry_after_seconds
        self.faults = faults
        self.cors_allow_origins = cors_allow_origins  # the campaign definition's cors.allow_origins
        self.cors_max_age = cors_max_age
        self.moto: Any = None
        self.gateway: Any = None
        self.pollers: list[Any] = []
        self.scheduler: Any = None
        self.resources: dict[str, Any] = {}
        self.restored: dict[str, int] = {}  # items per table loaded from data_dir
        self.restored_messages: dict[str, int] = {}  # undeleted messages per queue
        self.durability: Any = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self, name: str) -> Any:
        import boto3
        from botocore.config import Config

        # Generous retries: with injected faults (CAMPAIGN_FAULT_RATE) provisioning and the
        # pollers must ride out several failed calls in a row; creates are idempotent.
        return boto3.session.Session().client(
            name,
            endpoint_url=self.moto.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "max_attempts": 10}),
        )

    def start(self) -> LocalStack:
        from campaign_shared import observability
        from campaign_shared.resources import queue_key
        from campaign_shared.resources import service as service_spec
        from campaign_shared.settings import Settings, configure
        from infrastructure.dev.apps import load_app
        from infrastructure.local.gateway import Gateway, Mount
        from infrastructure.local.moto_server import EmbeddedMoto
        from infrastructure.local.poller import QueuePoller
        from infrastructure.local.scheduler import Scheduler, schedules_of
        from infrastructure.provision import provision

        _powertools_defaults()
        log = observability.logger("local-stack")
        if self.data_dir is not None:
            from infrastructure.local.persistence import Durability

            self.durability = Durability(self.data_dir, log=lambda text: log.warning(text))
            self.durability.open()  # reads the folder (refuses a damaged one) before serving
        self.moto = EmbeddedMoto(self.host, self.moto_port, faults=self.faults).start()
        if self.durability is not None:
            # Journal from the first call on; the saved state is loaded once provisioned.
            self.durability.attach(self.moto.app)
        configure(
            Settings(
                stage=self.stage,
                region="us-east-1",
                jwt_secret=self.jwt_secret,
                aws_endpoint_url=self.moto.url,
                public_base_url=self.url,
                cors_allow_origins=self.cors_allow_origins,
                cors_max_age=self.cors_max_age,
            )
        )
        dynamodb = self.client("dynamodb")
        self.resources = provision(self.stage, dynamodb, self.client("sqs"), self.client("sns"))
        if self.durability is not None:
            with self.moto.app.quiet():
                self.restored, self.restored_messages = self.durability.load()

        modules = {name: load_app(name) for name in SERVICE_NAMES}
        mounts = {name: Mount(name, module) for name, module in modules.items()}
        from infrastructure.dev.openapi import document

        doc = document([(name, module.api.docs) for name, module in modules.items()])
        self.gateway = Gateway(mounts, doc, self.host, self.port, status=self.status).start()

        sqs = self.client("sqs")
        for name, module in modules.items():
            for spec in service_spec(name).queues:  # one poller per queue, as one mapping per queue on AWS
                key = queue_key(name, spec.logical)
                queue = self.resources["queues"][key]
                self.pollers.append(
                    QueuePoller(
                        name=key,
                        sqs=sqs,
                        queue_url=queue["url"],
                        queue_arn=queue["arn"],
                        handler=getattr(module, spec.consumer),
                        batch_size=spec.batch_size,
                        retry_after_seconds=self.retry_after_seconds,
                        visibility_timeout=spec.visibility_timeout,
                        log=log,
                    ).start()
                )
        schedules = [s for module in modules.values() for s in schedules_of(module)]
        self.scheduler = Scheduler(schedules, log=log).start()
        return self

    def status(self) -> dict[str, Any]:
        """Local operations view: per-queue consumer counts and queue/DLQ depths (keyed like
        ``resources["queues"]``: ``coupons``, ``coupons-bulk``, ...), schedules."""
        sqs = self.client("sqs")
        queues = {}
        for poller in self.pollers:
            queue = self.resources["queues"][poller.name]
            depths = {}
            for label, url in (("queue", queue["url"]), ("dlq", queue["dlq_url"])):
                attrs = sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                depths[label] = int(attrs["ApproximateNumberOfMessages"]) + int(
                    attrs["ApproximateNumberOfMessagesNotVisible"]
                )
            queues[poller.name] = {**poller.stats, "depth": depths["queue"], "dlq_depth": depths["dlq"]}
        schedules = [
            {"name": s.name, "expression": s.expression, "runs": s.runs, "next_at": s.next_at.isoformat()}
            for s in (self.scheduler.schedules if self.scheduler else [])
        ]
        return {"stage": self.stage, "aws_endpoint": self.moto.url, "queues": queues, "schedules": schedules}

    def stop(self) -> dict[str, int]:
        """Stop everything; with a data folder, fold the journal into one snapshot and return
        the items saved per table."""
        # Quiesce first (no new requests, no new batches), then save, then wait for threads.
        if self.gateway is not None:
            self.gateway.stop()
        for poller in self.pollers:
            poller.signal_stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        for poller in self.pollers:
            poller.stop()
        saved: dict[str, int] = {}
        if self.durability is not None and self.moto is not None:
            saved = self.durability.close()  # a straggling call after this is refused, not lost
            self.durability = None
        if self.moto is not None:
            self.moto.stop()
        return saved
