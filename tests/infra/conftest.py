"""Fixtures for the ``campaign`` infrastructure commands.

The campaign is packaged once per test run (shared by pytest-xdist workers through a file
lock) with no network: proxies point at a closed port, so a download attempt fails loudly.
Deploys go to embedded moto servers (``EmbeddedMoto``, port 0), one per scenario.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

NAME = "infra1"
DEFINITION: dict[str, Any] = {
    "name": NAME,
    "description": "the infrastructure tests' campaign",
    "region": "us-east-1",
    "stock_shards": 8,
    "settlement_schedule": "cron(30 3 * * ? *)",
    "function_defaults": {"memory_mb": 256},
    "functions": {
        "coupons.api": {"memory_mb": 1024, "reserved_concurrency": 50},
        "coupons.queue_consumer": {"reserved_concurrency": 5},
    },
    "alarms": {
        "dlq_depth": 0,
        "function_errors": 3,
        "function_throttles": 1,
        "api_5xx": 7,
        "period_seconds": 60,
        "emails": ["ops@example.com"],
    },
    "domain": {
        "name": "infra1.api.example.com",
        "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc-123",
        "hosted_zone_id": "Z123456ABCDEFG",
    },
    "retention": {"log_days": 7, "pitr_days": 10, "dlq_days": 4, "deletion_protection": False},
    "tags": {"team": "infra-tests"},
    "cors": {"allow_origins": ["https://shop.example.com"], "max_age_seconds": 900},
}


@dataclass
class Packaged:
    definition: Any
    file: Path
    dist: Path
    manifest: dict[str, Any]

    @property
    def out(self) -> Path:
        return self.dist / NAME

    def template(self, part: str, kind: str = "template") -> dict[str, Any]:
        return json.loads((self.out / part / f"{kind}.json").read_text())

    def cli(self, *args: str) -> list[str]:
        return ["--file", str(self.file), "--dist", str(self.dist), *args]


def _shared_root(factory: pytest.TempPathFactory) -> Path:
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    saved = {
        k: os.environ.get(k)
        for k in (
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "http_proxy",
            "https_proxy",
            "NO_PROXY",
            "no_proxy",
            "AWS_EC2_METADATA_DISABLED",
        )
    }
    os.environ.update(
        {
            "HTTP_PROXY": "http://127.0.0.1:9",
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "http_proxy": "http://127.0.0.1:9",
            "https_proxy": "http://127.0.0.1:9",
            "NO_PROXY": "",
            "no_proxy": "",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    from infrastructure.campaign_def import load_file
    from infrastructure.package import package

    root = _shared_root(tmp_path_factory) / "campaign-infra"
    root.mkdir(parents=True, exist_ok=True)
    file = root / f"{NAME}.json"
    dist = root / "dist"
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not file.exists():
            file.write_text(json.dumps(DEFINITION, indent=1))
        definition = load_file(file)
        manifest_path = dist / NAME / "manifest.json"
        if not manifest_path.exists():
            with _offline():
                package(definition, file, dist, lint=False, log=lambda line: None)
        manifest = json.loads(manifest_path.read_text())
    return Packaged(definition, file, dist, manifest)


class Moto:
    """An embedded moto server (``EmbeddedMoto``, port 0) in a process of its own: moto keeps
    its state per process, so each server is a fresh, isolated AWS."""

    SCRIPT = (
        "import sys, time\n"
        "from infrastructure.local.moto_server import EmbeddedMoto\n"
        "server = EmbeddedMoto(port=0).start()\n"
        "print(server.port, flush=True)\n"
        "sys.stdin.read()\n"  # serve until terminated
    )

    def __init__(self) -> None:
        import subprocess
        import sys

        self.process = subprocess.Popen(
            [sys.executable, "-c", self.SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        port = self.process.stdout.readline().strip()
        if not port:
            raise RuntimeError("the embedded moto server did not start")
        self.url = f"http://127.0.0.1:{port}"
        self._clients: dict[str, Any] = {}

    def client(self, name: str) -> Any:
        if name not in self._clients:
            import boto3

            self._clients[name] = boto3.client(
                name,
                endpoint_url=self.url,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return self._clients[name]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="session")
def new_moto() -> Iterator[Any]:
    """``new_moto()`` starts another embedded moto server (stopped at the end of the run)."""
    started: list[Moto] = []

    def start() -> Moto:
        started.append(Moto())
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def moto(new_moto: Any) -> Moto:
    return new_moto()


@pytest.fixture(scope="session")
def cli() -> Any:
    """``cli("deploy", NAME, ...)`` runs the ``campaign`` command in-process; returns the exit status."""
    from infrastructure.cli import main

    return lambda *argv: main(list(argv))
