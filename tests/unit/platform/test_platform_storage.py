"""The storage kit (``campaign_shared.storage``): key escaping, own-write recognition of
conditional writes, transactions with a request token, and the retry helpers. Storage is a
small in-process stand-in for the DynamoDB client, so these run without moto."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from campaign_shared import aws
from campaign_shared.errors import ServiceUnavailable
from campaign_shared.storage import keys, retry, writes


def _refused(old: dict[str, Any] | None, operation: str) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": "ConditionalCheckFailedException", "Message": "refused"}}
    if old is not None:
        response["Item"] = old
    return ClientError(response, operation)  # type: ignore[arg-type]


class OneItemTable:
    """put_item / update_item against one stored item; ``lose`` answers of committed writes
    are lost (the write is applied, then the caller sees a failure and retries)."""

    def __init__(self) -> None:
        self.item: dict[str, Any] | None = None
        self.calls: list[dict[str, Any]] = []

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.item is not None:
            raise _refused(self.item, "PutItem")
        self.item = kwargs["Item"]
        return {}

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.item is None or self.item.get("v") != kwargs["ExpressionAttributeValues"][":v"]:
            raise _refused(self.item, "UpdateItem")
        self.item = {**self.item, "v": {"N": str(int(self.item["v"]["N"]) + 1)}, "by": kwargs["Key"]["pk"]}
        return {"Attributes": self.item} if kwargs.get("ReturnValues", "NONE") != "NONE" else {}


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> OneItemTable:
    fake = OneItemTable()
    monkeypatch.setattr(aws, "dynamodb", lambda: fake)
    return fake


def test_key_parts_are_escaped_so_ids_never_run_together() -> None:
    assert keys.join("O", "a", "b#c") != keys.join("O", "a#b", "c")
    assert keys.join("L", "50%#x") == "L#50%25%23x"
    assert keys.unpart(keys.part("a%23#b")) == "a%23#b"
    assert keys.key("p", "s") == {"pk": {"S": "p"}, "sk": {"S": "s"}}


def test_create_applies_once_and_recognises_its_own_earlier_write(table: OneItemTable) -> None:
    first = writes.create("t", {"pk": "a", "request": "r-1"})
    assert first.applied and table.calls[0]["ConditionExpression"] == "attribute_not_exists(pk)"
    # the same request retried (its first answer lost): recognised by what only it wrote
    again = writes.create("t", {"pk": "a", "request": "r-1"}, mine=lambda old: old.get("request") == "r-1")
    assert again.applied and again.item == {"pk": "a", "request": "r-1"}
    # another request: refused, and it sees the item that is there
    other = writes.create("t", {"pk": "a", "request": "r-2"}, mine=lambda old: old.get("request") == "r-2")
    assert not other.applied and other.item == {"pk": "a", "request": "r-1"}
    assert not writes.create("t", {"pk": "a"}).applied  # no test of its own: never "mine"


def test_update_returns_the_new_item_or_the_refusing_one(table: OneItemTable) -> None:
    table.item = {"pk": {"S": "a"}, "v": {"N": "1"}}
    key = {"pk": {"S": "a"}}
    done = writes.update(
        "t", key, update="SET v = v + :one", condition="v = :v", values={":v": {"N": "1"}, ":one": {"N": "1"}}
    )
    assert done.applied and done.item == {"pk": "a", "v": 2, "by": "a"}
    assert table.calls[-1]["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    stale = writes.update("t", key, update="SET v = v + :one", condition="v = :v", values={":v": {"N": "1"}})
    assert not stale.applied and stale.item == {"pk": "a", "v": 2, "by": "a"}
    # a lost answer retried: the version already moved on, by this very change
    mine = writes.update(
        "t", key, update="SET v = v + :one", condition="v = :v", values={":v": {"N": "1"}},
        mine=lambda old: old["v"] == 2 and old["by"] == "a",
    )  # fmt: skip
    assert mine.applied


def test_transactions_carry_a_client_request_token(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []

    class Client:
        def transact_write_items(self, **kwargs: Any) -> None:
            seen.append(kwargs)

    monkeypatch.setattr(aws, "dynamodb", lambda: Client())
    writes.transact([{"Put": {}}], token="x" * 50)
    writes.transact([{"Put": {}}])
    assert seen[0]["ClientRequestToken"] == "x" * 36 and "ClientRequestToken" not in seen[1]


def _throttled() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem")


def test_with_retries_retries_transient_failures_but_never_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "backoff", lambda *a, **k: None)
    tries: list[int] = []

    def flaky() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise _throttled()
        return "ok"

    assert retry.with_retries(flaky) == "ok" and len(tries) == 3
    refusals: list[int] = []

    def refused() -> None:
        refusals.append(1)
        raise _refused(None, "PutItem")

    with pytest.raises(ClientError):
        retry.with_retries(refused)
    assert len(refusals) == 1
    with pytest.raises(ClientError):
        retry.with_retries(lambda: (_ for _ in ()).throw(_throttled()), attempts=2)


def test_attempts_ends_with_a_503_when_the_body_never_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "backoff", lambda *a, **k: None)
    seen = []
    with pytest.raises(ServiceUnavailable, match="busy"):
        for attempt in retry.attempts(4, busy="the item is busy"):
            seen.append(attempt)
    assert seen == [0, 1, 2, 3]
    for attempt in retry.attempts(4, busy="never"):
        if attempt == 1:
            break


def test_update_asks_only_for_what_the_caller_reads(table: OneItemTable) -> None:
    table.item = {"pk": {"S": "a"}, "v": {"N": "1"}}
    key = {"pk": {"S": "a"}}
    quiet = writes.update(
        "t", key, update="SET v = v + :one", condition="v = :v", values={":v": {"N": "1"}}, returns="NONE"
    )
    assert quiet.applied and quiet.item is None and "ReturnValues" not in table.calls[-1]
    writes.update(
        "t",
        key,
        update="SET v = v + :one",
        condition="v = :v",
        values={":v": {"N": "2"}},
        returns="UPDATED_NEW",
    )
    assert table.calls[-1]["ReturnValues"] == "UPDATED_NEW"
    refused = writes.update(
        "t", key, update="SET v = v + :one", condition="v = :v", values={":v": {"N": "1"}}, returns="NONE"
    )
    assert not refused.applied and refused.item is not None and refused.item["v"] == 3  # what refused it


def test_rounds_just_end_and_every_pause_stays_under_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", pauses.append)
    assert list(retry.rounds(3)) == [0, 1, 2]  # no 503: the caller decides what running out means
    pauses.clear()
    with pytest.raises(ServiceUnavailable):
        for _ in retry.attempts(25, busy="the balance is busy", base=0.002, cap=0.01):
            pass
    assert len(pauses) == 24 and max(pauses) <= 0.01 and sum(pauses) <= 0.24


def test_get_is_a_consistent_read_with_an_optional_projection(monkeypatch: pytest.MonkeyPatch) -> None:
    from campaign_shared.storage import reads

    seen: list[dict[str, Any]] = []

    class Client:
        def get_item(self, **kwargs: Any) -> dict[str, Any]:
            seen.append(kwargs)
            return {"Item": {"pk": {"S": "a"}, "n": {"N": "3"}}} if kwargs["Key"]["pk"]["S"] == "a" else {}

    monkeypatch.setattr(aws, "dynamodb", lambda: Client())
    assert reads.get("t", {"pk": {"S": "a"}}) == {"pk": "a", "n": 3}
    assert seen[-1] == {"TableName": "t", "Key": {"pk": {"S": "a"}}, "ConsistentRead": True}
    assert reads.get("t", {"pk": {"S": "b"}}, consistent=False, projection="#n", names={"#n": "n"}) is None
    assert seen[-1]["ConsistentRead"] is False and seen[-1]["ProjectionExpression"] == "#n"


class BusyBatches:
    """batch_write_item that leaves the first ``refuse`` requests unprocessed, ``times`` calls
    in a row (for ever by default)."""

    def __init__(self, refuse: int, times: int = 10**9) -> None:
        self.refuse = refuse
        self.times = times
        self.calls: list[list[dict[str, Any]]] = []
        self.done: list[dict[str, Any]] = []

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        ((table, requests),) = RequestItems.items()
        self.calls.append(requests)
        refuse = self.refuse if len(self.calls) <= self.times else 0
        self.done += requests[refuse:]
        left = requests[:refuse]
        return {"UnprocessedItems": {table: left}} if left else {}


def test_batch_puts_and_deletes_retry_what_is_left_and_503_when_it_keeps_coming_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from campaign_shared.storage import paging

    monkeypatch.setattr(retry, "backoff", lambda *a, **k: None)
    client = BusyBatches(refuse=0)
    monkeypatch.setattr(aws, "dynamodb", lambda: client)
    paging.batch_put("t", [{"pk": f"p{n}"} for n in range(30)])
    paging.batch_delete("t", [{"pk": "p1"}])
    assert [len(c) for c in client.calls] == [25, 5, 1] and len(client.done) == 31
    assert client.done[-1] == {"DeleteRequest": {"Key": {"pk": {"S": "p1"}}}}

    flaky = BusyBatches(refuse=1, times=3)  # one request left over three times, then it goes through
    monkeypatch.setattr(aws, "dynamodb", lambda: flaky)
    paging.batch_put("t", [{"pk": "a"}, {"pk": "b"}])
    assert [len(c) for c in flaky.calls] == [2, 1, 1, 1] and len(flaky.done) == 2

    stuck = BusyBatches(refuse=25)
    monkeypatch.setattr(aws, "dynamodb", lambda: stuck)
    with pytest.raises(ServiceUnavailable):
        paging.batch_delete("t", [{"pk": "a"}])
    assert len(stuck.calls) == paging.BATCH_ATTEMPTS and stuck.done == []
