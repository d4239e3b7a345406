"""Run Chalice ``@app.schedule`` functions on their schedule, as EventBridge would."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from infrastructure.schedules import next_run


class Schedule:
    def __init__(self, name: str, expression: str, handler: Any) -> None:
        self.name = name
        self.expression = expression
        self.handler = handler
        self.runs = 0
        self.next_at = next_run(expression, datetime.now(UTC))


class Scheduler:
    def __init__(self, schedules: list[Schedule], log: Any = None, tick: float = 1.0) -> None:
        self.schedules = schedules
        self.log = log
        self.tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Scheduler:
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        from infrastructure.local.poller import LambdaContext

        while not self._stop.wait(self.tick):
            now = datetime.now(UTC)
            for schedule in self.schedules:
                if now < schedule.next_at:
                    continue
                event = {
                    "version": "0",
                    "id": f"local-{schedule.name}-{schedule.runs}",
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "account": "123456789012",
                    "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "region": "us-east-1",
                    "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{schedule.name}"],
                    "detail": {},
                }
                try:
                    schedule.handler(event, LambdaContext(schedule.name))
                except Exception as exc:
                    if self.log is not None:
                        self.log.warning(
                            "scheduled function failed", extra={"name": schedule.name, "error": repr(exc)}
                        )
                schedule.runs += 1
                schedule.next_at = next_run(schedule.expression, now)


def schedules_of(module: Any) -> list[Schedule]:
    """Every ``@app.schedule`` of a loaded app module."""
    from chalice.app import ScheduledEventConfig

    found = []
    for source in getattr(module.app, "event_sources", []):
        if isinstance(source, ScheduledEventConfig):
            expression = source.schedule_expression
            if not isinstance(expression, str):
                expression = expression.to_string()
            found.append(Schedule(source.name, expression, getattr(module, source.name)))
    return found
