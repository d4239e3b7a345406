"""Running a campaign: list templates with their status, pause / resume / end, edit (rename,
extend, raise the limit, add stock), and the history of every change."""

from __future__ import annotations

from datetime import timedelta

from campaign_shared import clock

TEMPLATE = {"name": "Spring 5 off", "kind": "amount_off", "amount_off": 500, "total_stock": 10}


def create(gateway, auth, sub="m-1", shop="s1", **fields):
    answer = gateway.post(
        "/coupons/templates", {**TEMPLATE, **fields}, headers=auth("merchant", sub=sub, shop=shop)
    )
    assert answer.status_code == 201, answer
    return answer.json()


def claim(gateway, auth, tid, sub="u1"):
    return gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", sub=sub))


def act(gateway, auth, tid, action, sub="m-1"):
    return gateway.post(f"/coupons/templates/{tid}/{action}", headers=auth("merchant", sub=sub))


def template(gateway, auth, tid):
    answer = gateway.get(f"/coupons/templates/{tid}", headers=auth("merchant"))
    assert answer.status_code == 200, answer
    return answer.json()


def history(gateway, auth, tid):
    answer = gateway.get(f"/coupons/templates/{tid}/history", headers=auth("merchant"))
    assert answer.status_code == 200, answer
    return answer.json()["items"]


def listed(gateway, auth, query=""):
    answer = gateway.get(f"/coupons/templates{query}", headers=auth("merchant"))
    assert answer.status_code == 200, answer
    return answer.json()


def test_a_new_template_is_active_at_version_1_and_its_history_says_who_created_it(gateway, auth):
    created = create(gateway, auth, sub="m-anna")
    assert (created["status"], created["version"], created["lock_ttl_seconds"]) == ("active", 1, 1800)
    assert created["stock_shards"] == 4  # the stack's setting
    [entry] = history(gateway, auth, created["template_id"])
    assert (entry["version"], entry["action"], entry["actor"]) == (1, "created", "m-anna")


def test_pause_stops_claims_with_409_paused_and_resume_lets_them_through_again(gateway, auth):
    tid = create(gateway, auth)["template_id"]
    assert claim(gateway, auth, tid, "u1").status_code == 201
    paused = act(gateway, auth, tid, "pause")
    assert paused.status_code == 200, paused
    assert (paused.json()["status"], paused.json()["version"]) == ("paused", 2)
    refused = claim(gateway, auth, tid, "u2")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "paused", refused
    assert act(gateway, auth, tid, "pause").json()["version"] == 2  # asked again: as it is
    resumed = act(gateway, auth, tid, "resume")
    assert (resumed.json()["status"], resumed.json()["version"]) == ("active", 3)
    assert claim(gateway, auth, tid, "u2").status_code == 201
    shown = template(gateway, auth, tid)
    assert (shown["issued_count"], shown["remaining_stock"]) == (2, 8)  # the refused claim took nothing
    assert [e["action"] for e in history(gateway, auth, tid)] == ["created", "paused", "resumed"]


def test_end_is_for_good_and_claimed_coupons_stay_usable(gateway, auth):
    tid = create(gateway, auth)["template_id"]
    coupon = claim(gateway, auth, tid).json()["coupon_id"]
    assert act(gateway, auth, tid, "end").json()["status"] == "ended"
    refused = claim(gateway, auth, tid, "u2")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_active"
    for action in ("pause", "resume"):
        answer = act(gateway, auth, tid, action)
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "ended", answer
    assert act(gateway, auth, tid, "end").status_code == 200  # asked again: as it is
    edit = gateway.patch(f"/coupons/templates/{tid}", {"name": "again"}, headers=auth("merchant"))
    assert edit.status_code == 409 and edit.json()["error"]["code"] == "ended"
    lock = gateway.post(f"/coupons/{coupon}/lock", {"order_id": "o-1"}, headers=auth("customer"))
    assert lock.status_code == 200 and lock.json()["status"] == "locked"
    assert len(history(gateway, auth, tid)) == 2  # created, ended: refusals write nothing


def test_a_paused_template_takes_no_issue_job(gateway, auth):
    tid = create(gateway, auth)["template_id"]
    act(gateway, auth, tid, "pause")
    answer = gateway.post(
        f"/coupons/templates/{tid}/issue-jobs", {"customer_ids": ["a", "b"]}, headers=auth("merchant")
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "paused", answer


def test_a_job_queued_before_a_pause_fails_its_customers_as_paused(gateway, auth, drain):
    tid = create(gateway, auth)["template_id"]
    job = gateway.post(
        f"/coupons/templates/{tid}/issue-jobs", {"customer_ids": ["a", "b", "c"]}, headers=auth("merchant")
    ).json()
    act(gateway, auth, tid, "pause")
    drain("coupons:bulk")
    done = gateway.get(f"/coupons/issue-jobs/{job['job_id']}", headers=auth("merchant")).json()
    assert (done["status"], done["issued"], done["failed_by_reason"]) == ("done", 0, {"paused": 3}), done
    assert template(gateway, auth, tid)["issued_count"] == 0


def test_other_shops_and_roles_cannot_touch_a_template(gateway, auth):
    tid = create(gateway, auth)["template_id"]
    foreign = gateway.post(f"/coupons/templates/{tid}/pause", headers=auth("merchant", shop="s2"))
    assert foreign.status_code == 404
    customer = gateway.post(f"/coupons/templates/{tid}/pause", headers=auth("customer"))
    assert customer.status_code == 403
    assert template(gateway, auth, tid)["status"] == "active"


# ---- edits --------------------------------------------------------------------------------


def test_an_edit_renames_extends_raises_the_limit_and_adds_stock_in_one_version(gateway, auth):
    until = clock.iso(clock.now() + timedelta(days=10))
    later = clock.iso(clock.now() + timedelta(days=20))
    tid = create(gateway, auth, valid_until=until)["template_id"]
    answer = gateway.patch(
        f"/coupons/templates/{tid}",
        {"name": "Spring 8 off", "valid_until": later, "per_customer_limit": 3, "add_stock": 7},
        headers=auth("merchant", sub="m-bo"),
    )
    assert answer.status_code == 200, answer
    edited = answer.json()
    assert (edited["name"], edited["valid_until"], edited["per_customer_limit"]) == ("Spring 8 off", later, 3)
    assert (edited["total_stock"], edited["remaining_stock"], edited["version"]) == (17, 17, 2)
    entry = history(gateway, auth, tid)[-1]
    assert (entry["action"], entry["actor"], entry["version"]) == ("edited", "m-bo", 2)
    assert entry["changes"] == {
        "name": {"from": "Spring 5 off", "to": "Spring 8 off"},
        "valid_until": {"from": until, "to": later},
        "per_customer_limit": {"from": 1, "to": 3},
        "add_stock": {"added": 7, "from": 10, "to": 17},
    }
    for n in range(3):  # the raised limit holds at once in this process
        assert claim(gateway, auth, tid, "u1").status_code == 201, n
    assert claim(gateway, auth, tid, "u1").json()["error"]["code"] == "per_customer_limit_reached"


def test_added_stock_is_claimed_exactly_after_a_sell_out(gateway, auth):
    tid = create(gateway, auth, total_stock=3, stock_shards=3)["template_id"]
    for n in range(3):
        assert claim(gateway, auth, tid, f"c{n}").status_code == 201
    assert claim(gateway, auth, tid, "late").json()["error"]["code"] == "sold_out"
    assert (
        gateway.patch(f"/coupons/templates/{tid}", {"add_stock": 5}, headers=auth("merchant")).status_code
        == 200
    )
    issued = [claim(gateway, auth, tid, f"d{n}").status_code for n in range(7)]
    assert issued == [201] * 5 + [409] * 2
    shown = template(gateway, auth, tid)
    assert (shown["total_stock"], shown["issued_count"], shown["remaining_stock"]) == (8, 8, 0)


def test_bad_edits_are_400_or_409_and_write_nothing(gateway, auth):
    until = clock.iso(clock.now() + timedelta(days=10))
    tid = create(gateway, auth, valid_until=until, per_customer_limit=2)["template_id"]
    lucky = create(gateway, auth, kind="lucky", amount_off=None, lucky_total_amount=100)["template_id"]
    open_ended = create(gateway, auth)["template_id"]
    earlier = clock.iso(clock.now() + timedelta(days=5))
    cases = [
        (tid, {"add_stock": 0}, 400),
        (tid, {"add_stock": -3}, 400),
        (tid, {"per_customer_limit": 1}, 400),
        (tid, {"valid_until": earlier}, 400),
        (tid, {"valid_until": "tomorrow"}, 400),
        (tid, {}, 400),
        (tid, {"name": "Spring 5 off"}, 400),  # changes nothing
        (tid, {"total_stock": 99}, 400),  # not editable
        (tid, {"add_stock": "5"}, 400),
        (lucky, {"add_stock": 5}, 400),
        (open_ended, {"valid_until": until}, 400),
        ("tpl-nope", {"name": "x"}, 404),
    ]
    for target, body, status in cases:
        answer = gateway.patch(f"/coupons/templates/{target}", body, headers=auth("merchant"))
        assert answer.status_code == status, (body, answer)
        assert answer.json()["error"]["code"], answer
    for target in (tid, lucky, open_ended):
        assert template(gateway, auth, target)["version"] == 1
        assert len(history(gateway, auth, target)) == 1


def test_an_ended_window_is_ended_and_extending_it_reopens_claims(gateway, auth, monkeypatch):
    start = clock.now()
    until = clock.iso(start + timedelta(days=1))
    tid = create(gateway, auth, valid_until=until)["template_id"]
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=2))
    assert template(gateway, auth, tid)["status"] == "ended"
    assert act(gateway, auth, tid, "pause").json()["error"]["code"] == "ended"
    later = clock.iso(start + timedelta(days=5))
    assert (
        gateway.patch(
            f"/coupons/templates/{tid}", {"valid_until": later}, headers=auth("merchant")
        ).status_code
        == 200
    )
    assert template(gateway, auth, tid)["status"] == "active"
    assert claim(gateway, auth, tid).status_code == 201


# ---- the list ---------------------------------------------------------------------------------


def test_the_list_filters_by_status_kind_and_name_newest_first(gateway, auth, monkeypatch):
    start = clock.now()
    moments = iter(start + timedelta(seconds=n) for n in range(100))
    monkeypatch.setattr(clock, "now", lambda: next(moments))
    active = create(gateway, auth, name="Double 11 Flash")["template_id"]
    paused = create(gateway, auth, name="Member day")["template_id"]
    ended = create(gateway, auth, name="Clearance FLASH")["template_id"]
    scheduled = create(
        gateway,
        auth,
        name="Spring preview",
        kind="percent_off",
        amount_off=None,
        percent_off=10,
        valid_from=clock.iso(start + timedelta(days=3)),
    )["template_id"]
    create(gateway, auth, shop="s2", name="Other shop flash")
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(minutes=5))
    act(gateway, auth, paused, "pause")
    act(gateway, auth, ended, "end")

    def ids(query=""):
        return [t["template_id"] for t in listed(gateway, auth, query)["items"]]

    assert ids() == [scheduled, ended, paused, active]
    assert ids("?status=active") == [active]
    assert ids("?status=paused") == [paused]
    assert ids("?status=ended") == [ended]
    assert ids("?status=scheduled") == [scheduled]
    assert ids("?kind=percent_off") == [scheduled]
    assert ids("?name=flash") == [ended, active]
    assert ids("?name=flash&status=active") == [active]
    statuses = {t["template_id"]: t["status"] for t in listed(gateway, auth)["items"]}
    assert statuses == {active: "active", paused: "paused", ended: "ended", scheduled: "scheduled"}
    first = listed(gateway, auth, "?limit=3")
    rest = listed(gateway, auth, f"?limit=3&cursor={first['next_cursor']}")
    assert [t["template_id"] for t in first["items"] + rest["items"]] == [scheduled, ended, paused, active]
    assert rest["next_cursor"] is None
    for bad in ("?status=gone", "?kind=free", "?limit=0"):
        answer = gateway.get(f"/coupons/templates{bad}", headers=auth("merchant"))
        assert answer.status_code == 400, (bad, answer)


# ---- shards ----------------------------------------------------------------------------------


def test_stock_shards_are_set_per_template_or_sized_from_the_peak_rate(gateway, auth):
    assert create(gateway, auth, stock_shards=16, total_stock=100)["stock_shards"] == 16
    assert create(gateway, auth, stock_shards=16, total_stock=5)["stock_shards"] == 5  # never an empty one
    sized = create(gateway, auth, expected_peak_claims_per_second=100_000, total_stock=1_000_000)
    assert sized["stock_shards"] == 400  # 100,000 / (1,000 WCU x 50% / 2 writes on the shard)
    for bad in ({"stock_shards": 0}, {"stock_shards": 513}, {"expected_peak_claims_per_second": 0}):
        answer = gateway.post("/coupons/templates", {**TEMPLATE, **bad}, headers=auth("merchant"))
        assert answer.status_code == 400, (bad, answer)
