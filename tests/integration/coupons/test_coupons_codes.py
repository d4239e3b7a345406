"""One-time claim links (Youzan ``voucher.list.link``) and exchange codes (兑换码): batches as
jobs, each link or code giving exactly one coupon to exactly one customer."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from campaign_shared import clock
from infrastructure.dev.apps import load_app

load_app("coupons")  # the service folder is the Lambda task root: chalicelib.coupons is importable

from chalicelib.coupons.domain import codes as rules  # noqa: E402


def template(gateway, auth, **fields):
    body = {"name": "VIP 20 off", "kind": "amount_off", "amount_off": 2000, "total_stock": 50, **fields}
    answer = gateway.post("/coupons/templates", body, headers=auth("merchant"))
    assert answer.status_code == 201, answer
    return answer.json()["template_id"]


def batch(gateway, auth, drain, tid, path, body):
    answer = gateway.post(f"/coupons/templates/{tid}/{path}", body, headers=auth("merchant"))
    assert answer.status_code == 202, answer
    batch_id = answer.json()["batch_id"]
    drain("coupons:bulk")
    done = gateway.get(f"/coupons/code-batches/{batch_id}", headers=auth("merchant")).json()
    assert done["status"] == "done", done
    return done


def codes_of(gateway, auth, batch_id):
    answer = gateway.get(f"/coupons/code-batches/{batch_id}/codes?limit=200", headers=auth("merchant"))
    assert answer.status_code == 200, answer
    return answer.json()["items"]


def claim_link(gateway, auth, token, sub):
    return gateway.post(f"/coupons/claim-links/{token}/claim", headers=auth("customer", sub=sub))


def redeem(gateway, auth, code, sub="u1"):
    return gateway.post("/coupons/exchange-codes/redeem", {"code": code}, headers=auth("customer", sub=sub))


def test_one_time_links_each_give_one_coupon_to_one_customer(gateway, auth, drain):
    tid = template(gateway, auth)
    done = batch(gateway, auth, drain, tid, "claim-links", {"count": 5})
    assert (done["kind"], done["requested"], done["written"], done["skipped"]) == ("link", 5, 5, 0)
    links = codes_of(gateway, auth, done["batch_id"])
    assert [link["index"] for link in links] == [0, 1, 2, 3, 4]
    mac = links[0]["token"].rsplit("-", 1)[1]
    assert len(mac) == 26  # 130 bits of HMAC: not guessable
    assert all(link["url"].endswith(f"/coupons/l/s1/{link['token']}") for link in links)
    assert len({link["token"] for link in links}) == 5

    first = claim_link(gateway, auth, links[0]["token"], "c-anna")
    assert first.status_code == 201, first
    again = claim_link(gateway, auth, links[0]["token"], "c-anna")  # the same customer: the same coupon
    assert again.status_code == 201 and again.json()["coupon_id"] == first.json()["coupon_id"]
    taken = claim_link(gateway, auth, links[0]["token"], "c-bob")
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "already_claimed"
    assert claim_link(gateway, auth, links[1]["token"], "c-bob").status_code == 201

    listed = {link["index"]: link for link in codes_of(gateway, auth, done["batch_id"])}
    assert (listed[0]["status"], listed[0]["customer_id"]) == ("claimed", "c-anna")
    assert (listed[1]["customer_id"], listed[2]["status"]) == ("c-bob", "unused")
    shown = gateway.get(f"/coupons/templates/{tid}", headers=auth("merchant")).json()
    assert shown["issued_count"] == 5  # a unit held by every link, claimed or not
    public = gateway.get(f"/coupons/l/s1/{links[2]['token']}").json()
    assert (public["name"], public["status"]) == ("VIP 20 off", "unused")


def test_forged_foreign_and_malformed_tokens_are_404(gateway, auth, drain):
    tid = template(gateway, auth)
    done = batch(gateway, auth, drain, tid, "claim-links", {"count": 2})
    token = codes_of(gateway, auth, done["batch_id"])[0]["token"]
    batch_id, index, mac = rules.parse_link_token(token)
    forged = [
        rules.link_token(batch_id, 1, mac),  # another index with this mac
        rules.link_token(batch_id, index, "a" * 26),
        token[:-1],
        "nonsense",
        rules.link_token(batch_id, 7, mac),  # no such index
    ]
    for bad in forged:
        assert claim_link(gateway, auth, bad, "c-x").status_code == 404, bad
    other_shop = gateway.post(f"/coupons/claim-links/{token}/claim", headers=auth("customer", shop="s2"))
    assert other_shop.status_code == 404


def test_links_are_listed_and_exported_once_the_batch_is_done(gateway, auth, drain):
    tid = template(gateway, auth)
    answer = gateway.post(f"/coupons/templates/{tid}/claim-links", {"count": 3}, headers=auth("merchant"))
    batch_id = answer.json()["batch_id"]
    early = gateway.get(f"/coupons/code-batches/{batch_id}/codes", headers=auth("merchant"))
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_ready"
    drain("coupons:bulk")
    exported = gateway.get(
        f"/coupons/code-batches/{batch_id}/codes.csv", headers={**auth("merchant"), "Accept": "text/csv"}
    )
    assert exported.status_code == 200, exported
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [r["index"] for r in rows] == ["0", "1", "2"] and all(r["status"] == "unused" for r in rows)
    assert [r["url"] for r in rows] == [c["url"] for c in codes_of(gateway, auth, batch_id)]


def test_a_batch_larger_than_the_stock_holds_what_there_is(gateway, auth, drain):
    tid = template(gateway, auth, total_stock=3)
    done = batch(gateway, auth, drain, tid, "claim-links", {"count": 5})
    assert (done["written"], done["skipped_by_reason"]) == (3, {"sold_out": 2})
    assert len(codes_of(gateway, auth, done["batch_id"])) == 3
    claim = gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", sub="walk-in"))
    assert claim.json()["error"]["code"] == "sold_out"  # the links hold the whole stock


def test_generated_exchange_codes_carry_a_check_character_and_ignore_case(gateway, auth, drain):
    tid = template(gateway, auth)
    done = batch(gateway, auth, drain, tid, "exchange-codes", {"count": 4})
    codes = [c["code"] for c in codes_of(gateway, auth, done["batch_id"])]
    assert len(codes) == 4 and all(rules.is_valid_generated(c) for c in codes)
    assert all(set(c) <= set(rules.ALPHABET) for c in codes)
    typed = f"{codes[0][:4].lower()}-{codes[0][4:8]} {codes[0][8:]}"
    first = redeem(gateway, auth, typed, "c-anna")
    assert first.status_code == 201, first
    taken = redeem(gateway, auth, codes[0], "c-bob")
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "already_claimed"
    mine = gateway.get("/coupons/me", headers=auth("customer", sub="c-anna")).json()["items"]
    assert [c["coupon_id"] for c in mine] == [first.json()["coupon_id"]]


def test_imported_codes_are_unique_in_the_shop(gateway, auth, drain):
    tid = template(gateway, auth)
    done = batch(gateway, auth, drain, tid, "exchange-codes", {"codes": ["SPRING-2026", "vip0001"]})
    assert (done["source"], done["written"]) == ("imported", 2)
    again = batch(gateway, auth, drain, tid, "exchange-codes", {"codes": ["spring2026", "VIP0002"]})
    assert (again["written"], again["skipped_by_reason"]) == (1, {"duplicate": 1})
    assert redeem(gateway, auth, "Spring 2026").status_code == 201
    other_shop = gateway.post(
        "/coupons/exchange-codes/redeem", {"code": "VIP0002"}, headers=auth("customer", shop="s2")
    )
    assert other_shop.status_code == 404
    for bad in (
        {"codes": ["ab"]},
        {"codes": ["x" * 33]},
        {"codes": ["ok-code-1", "OKCODE1"]},
        {},
        {"count": 0},
    ):
        answer = gateway.post(f"/coupons/templates/{tid}/exchange-codes", bad, headers=auth("merchant"))
        assert answer.status_code == 400, (bad, answer)


def test_wrong_codes_are_limited_with_retry_after(gateway, auth, drain, monkeypatch):
    tid = template(gateway, auth)
    done = batch(gateway, auth, drain, tid, "exchange-codes", {"codes": ["RIGHT-CODE"]})
    assert done["written"] == 1
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    for n in range(rules.MAX_WRONG_ATTEMPTS):
        assert redeem(gateway, auth, f"WRONG{n}", "c-guess").status_code == 404
    blocked = redeem(gateway, auth, "RIGHT-CODE", "c-guess")
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "too_many_requests", blocked
    assert 1 <= int(blocked.headers["retry-after"]) <= rules.ATTEMPT_WINDOW_SECONDS
    assert redeem(gateway, auth, "RIGHT-CODE", "c-other").status_code == 201  # others are not blocked
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=rules.ATTEMPT_WINDOW_SECONDS))
    assert redeem(gateway, auth, "WRONG-AGAIN", "c-guess").status_code == 404  # a new window


def test_a_paused_template_holds_its_codes_and_an_ended_one_ends_them(gateway, auth, drain):
    tid = template(gateway, auth, per_customer_limit=1)
    done = batch(gateway, auth, drain, tid, "claim-links", {"count": 3})
    tokens = [c["token"] for c in codes_of(gateway, auth, done["batch_id"])]
    gateway.post(f"/coupons/templates/{tid}/pause", headers=auth("merchant"))
    paused = claim_link(gateway, auth, tokens[0], "c-1")
    assert paused.status_code == 409 and paused.json()["error"]["code"] == "paused"
    refused = gateway.post(f"/coupons/templates/{tid}/claim-links", {"count": 1}, headers=auth("merchant"))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "paused"
    gateway.post(f"/coupons/templates/{tid}/resume", headers=auth("merchant"))
    assert claim_link(gateway, auth, tokens[0], "c-1").status_code == 201
    limited = claim_link(gateway, auth, tokens[1], "c-1")
    assert limited.status_code == 409 and limited.json()["error"]["code"] == "per_customer_limit_reached"
    assert claim_link(gateway, auth, tokens[1], "c-2").status_code == 201  # the link was not used up
    gateway.post(f"/coupons/templates/{tid}/end", headers=auth("merchant"))
    ended = claim_link(gateway, auth, tokens[2], "c-3")
    assert ended.status_code == 409 and ended.json()["error"]["code"] == "not_active"


def test_a_dead_lettered_chunk_ends_its_batch_and_a_redrive_repairs_it(
    gateway, auth, aws, drain, monkeypatch
):
    import importlib

    codes_usecase = importlib.import_module("chalicelib.coupons.usecases.codes")
    real = codes_usecase._values
    tid = template(gateway, auth, total_stock=2_000)

    def failing(batch_, message, indexes):
        if message.chunk == 1:
            raise RuntimeError("storage keeps failing for this chunk")
        return real(batch_, message, indexes)

    monkeypatch.setattr(codes_usecase, "_values", failing)
    answer = gateway.post(
        f"/coupons/templates/{tid}/exchange-codes", {"count": 1500}, headers=auth("merchant")
    )
    assert answer.status_code == 202, answer
    batch_id = answer.json()["batch_id"]
    drain("coupons:bulk")
    done = gateway.get(f"/coupons/code-batches/{batch_id}", headers=auth("merchant")).json()
    assert (done["status"], done["written"], done["dead_lettered_chunks"]) == ("done", 1000, [1]), done
    assert done["skipped_by_reason"] == {"dead_lettered": 500}
    assert len(codes_of(gateway, auth, batch_id)) == 200  # listed: the batch ended

    monkeypatch.undo()
    queue, sqs = aws["resources"]["queues"]["coupons-bulk"], aws["sqs"]
    while batch := sqs.receive_message(QueueUrl=queue["dlq_url"], MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            sqs.send_message(QueueUrl=queue["url"], MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=queue["dlq_url"], ReceiptHandle=message["ReceiptHandle"])
    drain("coupons:bulk")
    repaired = gateway.get(f"/coupons/code-batches/{batch_id}", headers=auth("merchant")).json()
    assert (repaired["written"], repaired["skipped"], repaired["dead_lettered_chunks"]) == (1500, 0, [])
