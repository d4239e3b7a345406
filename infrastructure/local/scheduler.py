"""Run Chalice ``@app.schedule`` functions on their schedule, as EventBridge would."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


def next_run(expression: str, after: datetime) -> datetime:
    """The next time an EventBridge ``rate(...)`` or ``cron(...)`` expression fires after ``after``."""
    expression = expression.strip()
    rate = _RATE.match(expression)
    if rate:
        seconds = int(rate.group(1)) * _UNITS[rate.group(2).rstrip("s")]
        return after + timedelta(seconds=seconds)
    if expression.startswith("cron(") and expression.endswith(")"):
        from croniter import croniter

        fields = expression[5:-1].split()
        if len(fields) != 6:
            raise ValueError(f"cron needs 6 fields: {expression}")
        minute, hour, dom, month, dow, _year = fields
        dom = "*" if dom == "?" else dom
        dow = "*" if dow == "?" else _aws_dow(dow)
        return croniter(" ".join([minute, hour, dom, month, dow]), after).get_next(datetime)
    raise ValueError(f"unsupported schedule expression: {expression}")


def _aws_dow(field: str) -> str:
    # AWS numbers days 1-7 from Sunday; cron numbers them 0-6.
    return re.sub(r"\b([1-7])\b", lambda m: str(int(m.group(1)) - 1), field)


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
