"""The embedded AWS's journal: every answered storage call's effects survive a crash (the
process dies without saving), a torn last line, a crash in the middle of a compaction, and a
clean stop; queued messages keep their receive counts; what was not kept is not answered."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from infrastructure.local import journal as journal_module
from infrastructure.local.moto_server import EmbeddedMoto
from infrastructure.local.persistence import Durability

REGION = "us-east-1"


def _reset_moto() -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    for backends in (dynamodb_backends, sqs_backends, sns_backends):
        backends[DEFAULT_ACCOUNT_ID][REGION].reset()


def moto_state() -> dict[str, Any]:
    """Every item of every table and every message of every queue, as moto holds them."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    tables = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables
    queues = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues
    return {
        "items": {
            name: sorted(json.dumps(i.to_json()["Attributes"], sort_keys=True) for i in table.all_items())
            for name, table in tables.items()
        },
        "ttl": {name: dict(table.ttl) for name, table in tables.items()},
        "messages": {
            name: sorted(
                (m.id, m.body, json.dumps(m.message_attributes, sort_keys=True), m.approximate_receive_count)
                for m in queue._messages
            )
            for name, queue in queues.items()
        },
    }


class Stack:
    """An embedded moto journalling into ``folder``; ``crash()`` ends it as ``kill -9`` would
    (nothing saved, the journal file as written), ``stop()`` as a clean stop."""

    def __init__(self, folder: Path, compact_bytes: int = 1 << 30) -> None:
        _reset_moto()
        self.durability = Durability(folder, compact_bytes=compact_bytes)
        self.durability.open()
        self.moto = EmbeddedMoto(port=0).start()
        self.durability.attach(self.moto.app)
        with self.moto.app.quiet():
            self.loaded = self.durability.load()

    @property
    def store(self) -> journal_module.Store:
        return self.durability.store

    def client(self, name: str, attempts: int = 3) -> Any:
        return boto3.client(
            name,
            endpoint_url=self.moto.url,
            region_name=REGION,
            aws_access_key_id="t",
            aws_secret_access_key="t",
            config=Config(retries={"mode": "standard", "max_attempts": attempts}),
        )

    def crash(self) -> None:
        self.moto.stop()
        store = self.store
        store._closing = True
        store._wake.set()
        if store._thread is not None:
            store._thread.join()
        if store._fd is not None:
            os.close(store._fd)
            store._fd = None

    def stop(self) -> dict[str, int]:
        saved = self.durability.close()
        self.moto.stop()
        return saved


@pytest.fixture
def stacks(tmp_path):
    started: list[Stack] = []

    def start(**kw: Any) -> Stack:
        stack = Stack(tmp_path / "data", **kw)
        started.append(stack)
        return stack

    yield start
    for stack in started:
        if stack.store._fd is not None:
            stack.crash()
    _reset_moto()


def _table(dynamodb: Any, name: str = "t") -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gpk")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-gpk",
                "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )


def _key(pk: str, sk: str = "x") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _writes(dynamodb: Any) -> None:
    """One of every kind of write, including calls that fail and must change nothing."""
    _table(dynamodb)
    dynamodb.put_item(TableName="t", Item={**_key("a"), "n": {"N": "1"}, "gpk": {"S": "g1"}})
    dynamodb.put_item(
        TableName="t",
        Item={**_key("b"), "m": {"M": {"deep": {"L": [{"S": "x"}, {"N": "2"}]}}}, "bin": {"B": b"\x00\x01"}},
    )
    dynamodb.update_item(
        TableName="t",
        Key=_key("a"),
        UpdateExpression="SET n = n + :one, tags = :tags",
        ExpressionAttributeValues={":one": {"N": "1"}, ":tags": {"SS": ["p", "q"]}},
    )
    dynamodb.update_item(
        TableName="t",
        Key=_key("new"),
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"S": "u"}},
    )
    dynamodb.put_item(TableName="t", Item={**_key("gone")})
    dynamodb.delete_item(TableName="t", Key=_key("gone"))
    dynamodb.batch_write_item(
        RequestItems={
            "t": [{"PutRequest": {"Item": {**_key("c", str(i)), "i": {"N": str(i)}}}} for i in range(5)]
            + [{"DeleteRequest": {"Key": _key("b")}}]
        }
    )
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "t", "Item": {**_key("tx1"), "v": {"S": "1"}}}},
            {
                "Update": {
                    "TableName": "t",
                    "Key": _key("a"),
                    "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Delete": {"TableName": "t", "Key": _key("c", "0")}},
        ]
    )
    with pytest.raises(ClientError):  # a failed condition writes nothing
        dynamodb.put_item(TableName="t", Item={**_key("a")}, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ClientError):  # a cancelled transaction writes nothing
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {**_key("never")}}},
                {
                    "ConditionCheck": {
                        "TableName": "t",
                        "Key": _key("a"),
                        "ConditionExpression": "n = :z",
                        "ExpressionAttributeValues": {":z": {"N": "0"}},
                    }
                },
            ]
        )


def _messaging(sqs: Any, sns: Any) -> dict[str, str]:
    """Sends, receives (counts), deletes, a redrive to the DLQ and SNS deliveries."""
    dlq = sqs.create_queue(QueueName="q-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "0", "RedrivePolicy": policy})[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})

    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"batch {i}"} for i in range(3)]
    )
    done = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(done) == 3
    sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
    )
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(3):  # received twice, moved to the DLQ on the third try
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    sqs.send_message(
        QueueUrl=url,
        MessageBody="kept, received once",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "k"}},
    )
    assert len(sqs.receive_message(QueueUrl=url)["Messages"]) == 1
    sns.publish(
        TopicArn=topic,
        Message="from sns",
        MessageAttributes={"a": {"DataType": "String", "StringValue": "1"}},
    )
    return {"queue": url, "dlq": dlq}


def test_every_answered_effect_survives_a_crash(stacks, tmp_path):
    first = stacks()
    _writes(first.client("dynamodb"))
    urls = _messaging(first.client("sqs"), first.client("sns"))
    before = moto_state()
    assert before["messages"]["q-dlq"] and before["items"]["t"]
    assert "never" not in json.dumps(before["items"])
    first.crash()

    second = stacks()
    assert moto_state() == before
    assert second.loaded[0] == {"t": len(before["items"]["t"])}
    # the restored queue works: the DLQ's message is received again with its count going on
    sqs = second.client("sqs")
    (poison,) = sqs.receive_message(QueueUrl=urls["dlq"], AttributeNames=["All"])["Messages"]
    assert poison["Body"] == "poison" and poison["Attributes"]["ApproximateReceiveCount"] == "3"
    second.crash()

    third = stacks()
    assert moto_state()["messages"]["q-dlq"][0][3] == 3  # that receive was journalled too
    third.crash()


def test_a_torn_last_line_is_dropped_and_everything_before_it_kept(stacks):
    first = stacks()
    _writes(first.client("dynamodb"))
    before = moto_state()
    segment = first.store.path(first.store.manifest["segments"][-1])
    first.crash()
    with segment.open("ab") as out:  # a line cut short, as a write torn by power loss leaves it
        out.write(journal_module.encode([("P", "t", '["x"]', '{"pk":{"S":"half"}}')])[:-7])
    stacks()
    assert moto_state() == before


def test_a_call_answered_as_failed_journals_nothing(stacks):
    stack = stacks()
    dynamodb = stack.client("dynamodb")
    _table(dynamodb)
    dynamodb.put_item(TableName="t", Item={**_key("a")})
    size = stack.store.segment_bytes
    for _ in range(3):
        with pytest.raises(ClientError):
            dynamodb.put_item(
                TableName="t", Item={**_key("a")}, ConditionExpression="attribute_not_exists(pk)"
            )
    dynamodb.get_item(TableName="t", Key=_key("a"))
    assert stack.store.segment_bytes == size


def test_a_write_the_journal_cannot_keep_is_not_acknowledged(stacks):
    stack = stacks()
    dynamodb = stack.client("dynamodb", attempts=1)
    _table(dynamodb)
    stack.durability.close()  # from here on nothing can be journalled
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName="t", Item={**_key("late")})
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    stack.moto.stop()


def test_compaction_folds_the_journal_and_a_crash_at_any_step_keeps_one_moment(stacks, monkeypatch):
    stack = stacks(compact_bytes=2000)
    dynamodb = stack.client("dynamodb")
    _table(dynamodb)
    for i in range(60):
        dynamodb.put_item(
            TableName="t", Item={**_key(f"k{i % 20}"), "v": {"N": str(i)}, "pad": {"S": "x" * 80}}
        )
    stack.store.wait_idle()
    assert stack.store.compactions >= 1
    snapshot = stack.store.path(stack.store.manifest["snapshot"])
    assert snapshot.exists()
    before = moto_state()
    stack.crash()

    # Crash after the new snapshot is written, before the manifest names it.
    stack = stacks(compact_bytes=2000)
    assert moto_state() == before
    real_write = journal_module.Store._write_manifest

    def manifest_fails(self: Any) -> None:
        if self.manifest["snapshot"] != snapshot.name and self.manifest["snapshot"] is not None:
            raise OSError("crash before the manifest switch")
        real_write(self)

    monkeypatch.setattr(journal_module.Store, "_write_manifest", manifest_fails)
    dynamodb = stack.client("dynamodb")
    for i in range(40):
        dynamodb.put_item(TableName="t", Item={**_key(f"m{i}"), "pad": {"S": "y" * 80}})
    stack.store.wait_idle()
    before = moto_state()
    stack.crash()
    monkeypatch.setattr(journal_module.Store, "_write_manifest", real_write)
    leftovers = [p.name for p in snapshot.parent.glob("snapshot-*.log") if p != snapshot]
    assert leftovers  # the unfinished compaction's snapshot is on disk, unreferenced

    stack = stacks()
    assert moto_state() == before
    assert not any(snapshot.parent.joinpath(name).exists() for name in leftovers)

    # Crash after the switch, before the old files are deleted: the leftovers go on open.
    real_unlink = Path.unlink

    def unlink_fails(self: Path, missing_ok: bool = False) -> None:
        if self.name.startswith(("snapshot-", "journal-")):
            raise OSError("crash before the old files are deleted")
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink_fails)
    with pytest.raises(OSError, match="old files"):
        stack.store.compact(stack.store.rotate())
    monkeypatch.setattr(Path, "unlink", real_unlink)
    before = moto_state()
    stack.crash()
    stack = stacks()
    assert moto_state() == before
    stack.store.wait_idle()  # the segments of the last run are folded in the background
    names = {p.name for p in snapshot.parent.iterdir()}
    assert names == {"MANIFEST", stack.store.manifest["snapshot"], *stack.store.manifest["segments"]}


def test_a_clean_stop_leaves_one_snapshot_with_queued_messages_and_their_counts(stacks):
    first = stacks()
    _writes(first.client("dynamodb"))
    _messaging(first.client("sqs"), first.client("sns"))
    before = moto_state()
    saved = first.stop()
    assert saved == {"t": len(before["items"]["t"])}
    manifest = json.loads(first.store.path("MANIFEST").read_text())
    assert manifest["segments"] == [] and manifest["snapshot"]
    second = stacks()
    assert moto_state() == before
    assert sum(second.loaded[1].values()) == sum(len(m) for m in before["messages"].values())


def test_tables_saved_by_the_earlier_format_are_taken_over(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "t.jsonl").write_text(
        json.dumps({"pk": {"S": "old"}, "sk": {"S": "x"}, "v": {"S": "kept"}}) + "\n"
    )
    _reset_moto()
    moto = EmbeddedMoto(port=0).start()
    try:
        durability = Durability(folder)
        durability.open()
        durability.attach(moto.app)
        _table(
            boto3.client(
                "dynamodb",
                endpoint_url=moto.url,
                region_name=REGION,
                aws_access_key_id="t",
                aws_secret_access_key="t",
            )
        )
        assert durability.load()[0] == {"t": 1}
        assert not (folder / "t.jsonl").exists()
        assert durability.close() == {"t": 1}
    finally:
        moto.stop()
        _reset_moto()


def test_a_data_folder_missing_a_file_its_manifest_names_is_refused_not_emptied(stacks, tmp_path):
    first = stacks()
    _writes(first.client("dynamodb"))
    first.stop()
    snapshot = first.store.path(first.store.manifest["snapshot"])
    snapshot.unlink()
    with pytest.raises(RuntimeError, match="damaged"):
        stacks()
