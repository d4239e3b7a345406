"""The local stack, started once per test session in a subprocess (``campaign local``), and
driven over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SECRET = "e2e-secret-0123456789"


def _free_port() -> int:
    from infrastructure.local.stack import free_port

    return free_port()


def start_stack(
    data_dir: Path | None,
    port: int | None = None,
    log_path: Path | None = None,
    own_group: bool = False,
) -> tuple[Any, str]:
    """``own_group``: the stack leads a process group of its own (``os.killpg`` reaches it
    and nothing else)."""
    port = port or _free_port()
    env = {
        **os.environ,
        "CAMPAIGN_JWT_SECRET": SECRET,
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    args = [sys.executable, "-m", "infrastructure.local", "--port", str(port)]
    args += ["--data", str(data_dir)] if data_dir is not None else ["--no-data"]
    log = open(log_path or tempfile.mktemp(suffix=".log", prefix="campaign-e2e-"), "w")  # noqa: SIM115
    process = subprocess.Popen(
        args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=own_group
    )
    url = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"local stack exited with {process.returncode}; see {log.name}")
        try:
            if requests.get(f"{url}/events/health", timeout=1).status_code == 200:
                return process, url
        except requests.RequestException:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"local stack did not start; see {log.name}")


def stop_stack(process: Any) -> None:
    import signal

    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        process.kill()
        raise RuntimeError("local stack did not stop within 90 s of SIGTERM") from None


@pytest.fixture(scope="session")
def stack_url(tmp_path_factory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("stack-data")
    process, url = start_stack(data_dir, log_path=data_dir / "stack.log")
    yield url
    stop_stack(process)


@pytest.fixture(scope="session")
def http():
    import requests

    session = requests.Session()
    yield session
    session.close()


def bearer_headers(
    role: str = "customer", shop: str = "s1", sub: str = "u1", ttl: int = 3600
) -> dict[str, str]:
    from campaign_shared.auth import mint

    token = mint(role=role, shop=shop, sub=sub, secret=SECRET, ttl_seconds=ttl)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


@pytest.fixture(scope="session")
def bearer() -> Callable[..., dict[str, str]]:
    return bearer_headers


def _wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


@pytest.fixture(scope="session")
def wait_until() -> Callable[..., Any]:
    return _wait_until


@pytest.fixture
def launch_stack():
    """Start extra stacks in a test: ``process, url = launch_stack(data_dir, log_path)``;
    every stack started this way is stopped at the end of the test."""
    started = []

    def launch(
        data_dir: Path | None, log_path: Path | None = None, own_group: bool = False
    ) -> tuple[Any, str]:
        process, url = start_stack(data_dir, log_path=log_path, own_group=own_group)
        started.append(process)
        return process, url

    launch.stop = stop_stack  # type: ignore[attr-defined]
    yield launch
    for process in started:
        if process.poll() is None:
            stop_stack(process)
