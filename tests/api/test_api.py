"""The HTTP API on SQLite: documents, pages, commands through the bus, problem details,
idempotency, size limits, credentials and the audit trail of API changes."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from api_support import FAST_HASH, Api, vehicles

from jisflow.domain.auth import Scope
from jisflow.entrypoints.api import ApiSettings, create_app
from jisflow.entrypoints.api.deps import MAX_PAGE_SIZE
from jisflow.services import auth


def test_the_openapi_document_and_the_interactive_docs_are_served_without_any_outside_address(api: Api):
    document = api.client.get("/openapi.json").json()
    assert {"/plants", "/lines/{line}/chain", "/calloff-lines", "/alerts", "/audit"} <= document["paths"].keys()
    assert "Idempotency-Key" in {p["name"] for p in document["paths"]["/lines/{line}/broadcast"]["post"]["parameters"]}
    assert "application/problem+json" in document["paths"]["/calloffs/{number}"]["get"]["responses"]["404"]["content"]
    docs = api.client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets and not [a for a in assets if a.startswith(("http:", "https:", "//"))]
    for asset in assets:
        assert api.client.get(asset).status_code == 200, asset


def test_plants_are_listed_with_their_lines_and_stations(api: Api):
    [plant] = api.get("carrier", "/plants").json()["items"]
    assert plant["code"] == "SMALL"
    assert [s["code"] for s in plant["lines"][0]["stations"]] == ["S00", "S10", "S20"]


def test_the_pearl_chain_is_paged_with_a_cursor_in_sequence_order(api: Api):
    first = api.get("planner", "/lines/L1/chain", params={"limit": 3}).json()
    second = api.get("planner", "/lines/L1/chain", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    rest = api.get("planner", "/lines/L1/chain", params={"limit": 100, "cursor": second["next_cursor"]}).json()
    numbers = [e["seq_no"] for page in (first, second, rest) for e in page["items"]]
    assert numbers == list(range(1, 9))
    assert rest["next_cursor"] is None


def test_a_page_larger_than_the_maximum_is_refused(api: Api):
    response = api.get("planner", "/lines/L1/chain", params={"limit": MAX_PAGE_SIZE + 1})
    assert response.status_code == 422
    assert response.json()["problems"][0]["where"] == "query.limit"


def test_a_made_up_cursor_is_refused_with_a_problem(api: Api):
    response = api.get("planner", "/calloff-lines", params={"cursor": "bm9wZQ=="})
    assert response.status_code == 422
    assert response.json()["detail"] == "the cursor is not one this API handed out"


def test_call_off_lines_paged_with_a_cursor_are_the_whole_listing_once_each_in_order(api: Api):
    api.post("planner", "/lines/L1/broadcast-next", {"count": 5})
    whole = api.get("planner", "/calloff-lines", params={"limit": MAX_PAGE_SIZE}).json()
    assert whole["next_cursor"] is None and len(whole["items"]) > 6
    paged, cursor = [], None
    while True:
        page = api.get("planner", "/calloff-lines", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        assert len(page["items"]) <= 3
        paged.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == whole["items"]


def test_a_cursor_of_the_right_length_but_the_wrong_kinds_is_refused_with_a_problem(api: Api):
    import base64
    import json

    forged = base64.urlsafe_b64encode(json.dumps(["L1", "seven", 3, None]).encode()).decode()
    response = api.get("planner", "/calloff-lines", params={"cursor": forged})
    assert response.status_code == 422
    assert response.json()["detail"] == "the cursor is not one this API handed out"


def test_imported_rows_go_through_the_bus_and_extend_the_chain(api: Api):
    response = api.post("planner", "/lines/L1/chain/import", {"rows": vehicles(2, first=9)})
    assert response.status_code == 201
    assert response.json()["details"] == {"vehicles": 2, "first_seq_no": 9, "last_seq_no": 10}
    chain = api.get("planner", "/lines/L1/chain", params={"status": "planned"}).json()["items"]
    assert chain[-1]["order_id"] == "V0010"


def test_every_bad_row_of_an_import_is_named_and_nothing_is_applied(api: Api):
    rows = [*vehicles(1, first=20), {"order_id": "X2", "model": "TOURER", "vin": "WJT0000000000000I"}, {"order_id": "X3", "model": "CITY", "vin": "123"}]
    response = api.post("planner", "/lines/L1/chain/import", {"rows": rows})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert {p["where"] for p in response.json()["problems"]} == {"rows[1].vin", "rows[2].vin"}
    assert len(api.get("planner", "/lines/L1/chain").json()["items"]) == 8


def test_a_vin_without_the_check_digit_the_plant_requires_is_named_by_its_row(api: Api):
    rows = [*vehicles(1, first=20), {"order_id": "X2", "model": "TOURER", "options": {"trim": "LUX", "roof": "GLASS"}, "vin": "WVWZZZ1JZXW000001"}]
    response = api.post("planner", "/lines/L1/chain/import", {"rows": rows})
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["where"] == "rows[1].vin" and "check digit" in problem["what"]


def test_a_broadcast_issues_the_call_offs_of_the_vehicle(api: Api):
    response = api.post("planner", "/lines/L1/broadcast", {"order_id": "V0003"})
    assert response.status_code == 200
    body = response.json()
    assert body["details"]["order_id"] == "V0003" and body["lines_issued"] >= 1
    lines = api.get("planner", "/calloff-lines", params={"order_id": "V0003", "line": "L1"}).json()["items"]
    assert {ln["family"] for ln in lines} >= {"SEAT"}


def test_a_change_inside_the_frozen_zone_is_a_conflict_unless_overridden(api: Api):
    change = {"kind": "swap", "first": "V0003", "second": "V0004"}
    refused = api.post("planner", "/lines/L1/changes", change)
    assert refused.status_code == 409 and refused.json()["code"] == "frozen_zone_violation"
    done = api.post("planner", "/lines/L1/changes", {**change, "override": True, "reason": "rework"})
    assert done.status_code == 200 and done.json()["change"]["overridden"] is True


def test_the_change_log_is_paged_with_a_cursor_oldest_first_and_names_who_changed_what(api: Api):
    changes = [
        {"kind": "cancel", "order_id": "V0008", "override": True, "reason": "order withdrawn"},
        {"kind": "swap", "first": "V0006", "second": "V0007", "override": True, "reason": "rework"},
        {"kind": "move", "order_id": "V0005", "after": "V0007", "override": True, "reason": "paint"},
    ]
    for change in changes:
        assert api.post("planner", "/lines/L1/changes", change).status_code == 200
    first = api.get("auditor", "/lines/L1/changes", params={"limit": 2}).json()
    rest = api.get("auditor", "/lines/L1/changes", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    log = first["items"] + rest["items"]
    assert [(c["kind"], c["order_id"], c["reason"], c["actor"]) for c in log] == [
        ("cancel", "V0008", "order withdrawn", "planner"), ("swap", "V0006", "rework", "planner"), ("move", "V0005", "paint", "planner"),
    ]
    assert rest["next_cursor"] is None
    assert api.get("auditor", "/lines/NOPE/changes").status_code == 404


def test_an_unknown_line_is_not_found(api: Api):
    response = api.post("planner", "/lines/NOPE/broadcast-next", {"count": 1})
    assert response.status_code == 404
    assert response.json()["detail"] == "no line 'NOPE' in any loaded plant"


def test_call_off_lines_move_through_their_states_and_an_illegal_move_is_a_conflict(api: Api):
    number = api.own_calloff
    assert api.post("seats", f"/calloffs/{number}/transitions", {"to": "ACKNOWLEDGED"}).status_code == 200
    states = {ln["state"] for ln in api.get("seats", f"/calloffs/{number}").json()["lines"]}
    assert states == {"ACKNOWLEDGED"}
    illegal = api.post("seats", f"/calloffs/{number}/transitions", {"to": "CONSUMED"})
    assert illegal.status_code == 422
    assert all("cannot go from ACKNOWLEDGED to CONSUMED" in p["what"] for p in illegal.json()["problems"])


def test_call_off_lines_are_filtered_by_state(api: Api):
    api.post("warehouse", f"/calloffs/{api.foreign_calloff}/transitions", {"to": "ACKNOWLEDGED"})
    acknowledged = api.get("planner", "/calloff-lines", params={"state": "ACKNOWLEDGED"}).json()["items"]
    assert acknowledged and {ln["number"] for ln in acknowledged} == {api.foreign_calloff}


def test_an_alert_is_acknowledged_in_the_callers_name(api: Api):
    api.post("planner", "/lines/L1/changes", {"kind": "cancel", "order_id": "V0008", "override": True})
    alert = api.get("planner", "/alerts", params={"open": True}).json()["items"][0]
    assert api.post("planner", f"/alerts/{alert['id']}/acknowledge").status_code == 200
    acknowledged = [a for a in api.get("planner", "/alerts").json()["items"] if a["id"] == alert["id"]][0]
    assert acknowledged["acknowledged_by"] == "planner"


def test_a_post_repeated_with_its_idempotency_key_is_answered_again_and_applied_once(api: Api):
    key = {"Idempotency-Key": "import-42"}
    body = {"rows": vehicles(1, first=30)}
    first = api.post("planner", "/lines/L1/chain/import", body, headers=key)
    again = api.post("planner", "/lines/L1/chain/import", body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert [e["order_id"] for e in api.get("planner", "/lines/L1/chain").json()["items"]].count("V0030") == 1


def test_an_idempotency_key_reused_for_another_request_is_refused(api: Api):
    key = {"Idempotency-Key": "k-1"}
    api.post("planner", "/lines/L1/broadcast-next", {"count": 1}, headers=key)
    reused = api.post("planner", "/lines/L1/broadcast-next", {"count": 2}, headers=key)
    assert reused.status_code == 422
    assert "was used for another request" in reused.json()["detail"]


def test_a_request_body_over_the_limit_is_refused_before_it_is_read(api: Api):
    small = create_app(api.app, ApiSettings(max_body_bytes=1000))
    from fastapi.testclient import TestClient

    response = TestClient(small).post("/lines/L1/chain/import", headers=api.as_("planner"), json={"rows": vehicles(50, first=100)})
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


@pytest.mark.parametrize("header", [{"Authorization": "Bearer jf_nope_nope"}, {"Authorization": "Basic abc"}, {"X-API-Key": "garbage"}])
def test_bad_credentials_are_refused(api: Api, header: dict):
    response = api.client.get("/plants", headers=header)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_a_key_is_accepted_as_x_api_key_too(api: Api):
    assert api.client.get("/me", headers={"X-API-Key": api.tokens["seats"]}).json()["partner"] == "SEATS"


def test_a_revoked_key_no_longer_opens_the_api(api: Api):
    issued = auth.issue_key(api.app.uow, api.clock, "planner", cost=FAST_HASH)
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert api.client.get("/me", headers=headers).status_code == 200
    auth.revoke_key(api.app.uow, api.clock, issued.key.key_id)
    assert api.client.get("/me", headers=headers).status_code == 401


def test_a_key_once_verified_still_refuses_a_wrong_secret(api: Api):
    issued = auth.issue_key(api.app.uow, api.clock, "planner", cost=FAST_HASH)
    assert api.client.get("/me", headers={"Authorization": f"Bearer {issued.token}"}).status_code == 200
    forged = issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B")  # same key id, another secret
    assert api.client.get("/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_a_key_with_narrower_scopes_cannot_do_what_its_role_could(api: Api):
    issued = auth.issue_key(api.app.uow, api.clock, "planner", [Scope.SEQUENCE_READ], cost=FAST_HASH)
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert api.client.get("/lines/L1/chain", headers=headers).status_code == 200
    assert api.client.post("/lines/L1/broadcast-next", headers=headers, json={"count": 1}).status_code == 403


def test_every_change_made_through_the_api_is_audited_with_its_actor_before_and_after(api: Api):
    api.post("seats", f"/calloffs/{api.own_calloff}/transitions", {"to": "ACKNOWLEDGED"})
    entries = api.get("auditor", "/audit", params={"actor": "seats"}).json()["items"]
    assert entries
    assert all(e["action"] == "calloff.line_changed" and e["subject"].startswith(api.own_calloff) for e in entries)
    assert {(e["before"]["state"], e["after"]["state"]) for e in entries} == {("SENT", "ACKNOWLEDGED")}


def test_the_audit_log_is_paged_in_writing_order(api: Api):
    first = api.get("auditor", "/audit", params={"limit": 5}).json()
    second = api.get("auditor", "/audit", params={"limit": 5, "cursor": first["next_cursor"]}).json()
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert ids == sorted(ids) and len(set(ids)) == 10


def test_the_audit_log_refuses_updates_and_deletes(api: Api):
    engine = api.app.uow.engine
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql(statement)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM audit_log WHERE actor = 'someone else'").scalar() == 0
