"""Every route x every role x own / foreign object: who may call what, and a supplier sees and
changes only its own call-offs (a foreign one is answered as not found)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from api_support import USERS, Api

from jisflow.domain.auth import Role
from jisflow.services import webhooks
from jisflow.services.unit_of_work import AlertFilter

EVERYONE = set(USERS)
READERS = {"planner", "warehouse", "auditor", "admin"}


@dataclass(frozen=True)
class Route:
    method: str
    path: Callable[[Api, str], str]  # (api, call-off number of the object) -> path
    allowed: set[str]
    body: dict | None = None
    per_object: bool = False  # the object belongs to a supplier: own and foreign differ


def fixed(path: str) -> Callable[[Api, str], str]:
    return lambda api, number: path


def first_alert(api: Api, number: str) -> str:
    with api.app.uow:
        return f"/alerts/{api.app.uow.alerts.list(AlertFilter())[-1].id}/acknowledge"


def a_subscription(api: Api) -> int:
    with api.app.uow:
        existing = api.app.uow.webhooks.subscriptions()
    if existing:
        return existing[0].id
    return webhooks.subscribe(api.app.uow, api.clock, "http://127.0.0.1:9/hook", ["*"]).id


ROUTES = {
    "list plants": Route("GET", fixed("/plants"), EVERYONE),
    "get plant": Route("GET", fixed("/plants/SMALL"), EVERYONE),
    "get line": Route("GET", fixed("/lines/L1"), EVERYONE),
    "me": Route("GET", fixed("/me"), EVERYONE),
    "list chain": Route("GET", fixed("/lines/L1/chain"), READERS),
    "import rows": Route("POST", fixed("/lines/L1/chain/import"), {"planner", "admin"}, {"rows": [{"order_id": "M1", "model": "TOURER", "options": {"trim": "LUX", "roof": "CLOSED"}}]}),
    "broadcast": Route("POST", fixed("/lines/L1/broadcast"), {"planner", "admin"}, {"order_id": "V0003"}),
    "broadcast next": Route("POST", fixed("/lines/L1/broadcast-next"), {"planner", "admin"}, {"count": 1}),
    "change chain": Route("POST", fixed("/lines/L1/changes"), {"planner", "admin"}, {"kind": "swap", "first": "V0007", "second": "V0008"}),
    "list call-off lines": Route("GET", fixed("/calloff-lines"), READERS | {"seats"}),
    "list call-off lines of a supplier": Route(
        "GET", lambda api, number: f"/calloff-lines?supplier={'SEATS' if number == api.own_calloff else 'ROOFS'}", READERS | {"seats"}, per_object=True,
    ),
    "get call-off": Route("GET", lambda api, number: f"/calloffs/{number}", READERS | {"seats"}, per_object=True),
    "transition call-off": Route(
        "POST", lambda api, number: f"/calloffs/{number}/transitions", {"planner", "warehouse", "seats", "admin"}, {"to": "ACKNOWLEDGED"}, per_object=True,
    ),
    "list alerts": Route("GET", fixed("/alerts"), READERS),
    "acknowledge alert": Route("POST", first_alert, {"planner", "admin"}),
    "read audit": Route("GET", fixed("/audit"), {"auditor", "admin"}),
    "list webhook subscriptions": Route("GET", fixed("/webhooks/subscriptions"), {"admin"}),
    "subscribe webhook": Route("POST", fixed("/webhooks/subscriptions"), {"admin"}, {"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}),
    "list webhook deliveries": Route("GET", fixed("/webhooks/deliveries"), {"admin"}),
    "pause webhook": Route("POST", lambda api, number: f"/webhooks/subscriptions/{a_subscription(api)}/active", {"admin"}, {"active": True}),
}

CASES = [
    pytest.param(route, user, owner, id=f"{route}-{user}-{owner}")
    for route, spec in ROUTES.items()
    for user in USERS
    for owner in (("own", "foreign") if spec.per_object else ("-",))
]


def call(api: Api, spec: Route, user: str | None, owner: str):
    number = api.foreign_calloff if owner == "foreign" else api.own_calloff
    headers = api.as_(user) if user else {}
    return api.client.request(spec.method, spec.path(api, number), headers=headers, json=spec.body)


@pytest.mark.parametrize(("route", "user", "owner"), CASES)
def test_each_role_reaches_exactly_the_routes_and_objects_it_is_entitled_to(shared_api: Api, route: str, user: str, owner: str):
    spec = ROUTES[route]
    response = call(shared_api, spec, user, owner)
    if user not in spec.allowed:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
    elif owner == "foreign" and USERS[user] == (Role.SUPPLIER, "SEATS"):
        expected = 403 if route == "list call-off lines of a supplier" else 404
        assert response.status_code == expected, response.text
    else:
        assert response.status_code not in (401, 403, 404), response.text


@pytest.mark.parametrize("route", list(ROUTES))
def test_every_route_refuses_a_caller_without_credentials(shared_api: Api, route: str):
    response = call(shared_api, ROUTES[route], None, "own")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_supplier_lists_only_its_own_call_off_lines(shared_api: Api):
    everything = shared_api.get("planner", "/calloff-lines").json()["items"]
    own = shared_api.get("seats", "/calloff-lines").json()["items"]
    assert {ln["supplier"] for ln in everything} == {"SEATS", "ROOFS"}
    assert own and {ln["supplier"] for ln in own} == {"SEATS"}
    assert len(own) == sum(ln["supplier"] == "SEATS" for ln in everything)


def test_a_supplier_cannot_move_a_foreign_call_off_and_nothing_changes(shared_api: Api):
    before = shared_api.get("planner", f"/calloffs/{shared_api.foreign_calloff}").json()
    response = shared_api.post("seats", f"/calloffs/{shared_api.foreign_calloff}/transitions", {"to": "CANCELLED"})
    assert response.status_code == 404
    assert shared_api.get("planner", f"/calloffs/{shared_api.foreign_calloff}").json() == before
