"""EventBridge schedule expressions: ``rate(N minutes|hours|days)`` and the six-field
``cron(...)``. The campaign definition validates with it; the local scheduler runs with it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

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
