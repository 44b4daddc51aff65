"""Every route x every role x own / foreign object: who may call what; a supplier sees and
changes only its own call-offs, racks, picks and shipments, a carrier only its own trucks (a
foreign object is answered as not found)."""

from __future__ import annotations

import re
from datetime import date
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from api_support import USERS, Api, with_floor

from jisflow.domain.forecast import Commitment, ReceivedForecast, ReceivedPeriod
from jisflow.services import webhooks
from jisflow.services.edi import ReceiveForecasts
from jisflow.services.unit_of_work import AlertFilter

EVERYONE = set(USERS)
READERS = {"planner", "warehouse", "auditor", "admin"}
FLOOR = {"warehouse", "seats", "admin"}
PLANT_FLOOR = {"warehouse", "admin"}


@dataclass(frozen=True)
class Route:
    method: str
    path: Callable[[Api, str], str]  # (api, call-off number of the object) -> path
    allowed: set[str]
    body: dict | Callable[[Api, str], dict] | None = None  # (api, call-off number of the object) -> body
    per_object: bool = False  # the object belongs to a partner: own and foreign differ
    partners: frozenset[str] = frozenset({"seats"})  # the users bound to the owner of the object
    foreign_status: int = 404  # what a partner gets for another partner's object
    uses_up: bool = False  # the first allowed call uses the object up: later ones may hear it is gone (404)


def fixed(path: str) -> Callable[[Api, str], str]:
    return lambda api, number: path


def supplier(api: Api, number: str) -> str:
    """The supplier of the call-off ``number``: SEATS for the own object, ROOFS for the foreign."""
    return "SEATS" if number == api.own_calloff else "ROOFS"


def rack(api: Api, number: str) -> str:
    return api.racks[supplier(api, number)]


def shipment(api: Api, number: str) -> str:
    return api.shipments[supplier(api, number)]


SHIPMENT_PARTNERS = frozenset({"seats", "carrier"})
FAMILY = {"SEATS": "SEAT", "ROOFS": "ROOF"}
HIDDEN = re.compile(r"^no (call-off|call-off line|rack|shipment) '")
"""How a route answers for an object the caller may not see: as if it did not exist."""


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
    "list chain changes": Route("GET", fixed("/lines/L1/changes"), READERS),
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
    "list stations": Route("GET", fixed("/lines/L1/stations"), EVERYONE),
    "get calendar": Route("GET", fixed("/lines/L1/calendar"), EVERYONE),
    "list sequenced demand": Route("GET", fixed("/lines/L1/demand"), READERS),
    "list items": Route("GET", fixed("/inventory/items"), READERS),
    "list stock": Route("GET", fixed("/inventory/stock"), READERS),
    "get projection": Route("GET", fixed("/inventory/projection"), READERS),
    "receive stock": Route("POST", fixed("/inventory/receipts"), PLANT_FLOOR, {"item": "SEAT-L", "location": "BIN-1", "quantity": 2}),
    "move stock": Route("POST", fixed("/inventory/moves"), PLANT_FLOOR, {"item": "SEAT-L", "from_location": "BIN-1", "to_location": "BIN-2", "quantity": 1}),
    "adjust stock": Route("POST", fixed("/inventory/adjustments"), PLANT_FLOOR, {"item": "SEAT-L", "location": "BIN-1", "quantity": -1, "reason": "scrap"}),
    "count stock": Route("POST", fixed("/inventory/counts"), PLANT_FLOOR, {"item": "SEAT-L", "location": "BIN-2", "counted": 1}),
    "get purchasing plan": Route("GET", fixed("/purchasing/plan"), READERS),
    "list purchase orders": Route("GET", fixed("/purchasing/orders"), READERS),
    "list forecasts": Route("GET", fixed("/purchasing/forecasts"), READERS | {"seats"}),
    "list forecasts of a supplier": Route(
        "GET", lambda api, number: f"/purchasing/forecasts?supplier={supplier(api, number)}", READERS | {"seats"}, per_object=True, foreign_status=403,
    ),
    "place purchase order": Route(
        "POST", fixed("/purchasing/orders"), {"planner", "admin"}, {"item": "SEAT-L", "supplier": "SEATS", "quantity": 5, "due_at": "2026-12-08T06:00:00Z"},
    ),
    "create pick list": Route("POST", fixed("/lines/L1/pick-lists"), FLOOR, {}),
    "confirm picks": Route(
        "POST", fixed("/lines/L1/picks"), FLOOR, lambda api, number: {"keys": [{"order_id": "V0001", "family": FAMILY[supplier(api, number)]}]}, per_object=True,
    ),
    "verify scans": Route(
        "POST", fixed("/lines/L1/scans"), FLOOR,
        lambda api, number: {"scans": [{"rack_id": rack(api, number), "slot": 1, "part_number": "SEAT-L", "serial": "SN9999"}]}, per_object=True,
    ),
    "close racks": Route(
        "POST", fixed("/lines/L1/racks/close"), FLOOR, lambda api, number: {"rack_ids": [rack(api, number)]}, per_object=True, uses_up=True,
    ),
    "list racks": Route("GET", fixed("/racks"), READERS | {"seats"}),
    "list racks of a supplier": Route(
        "GET", lambda api, number: f"/racks?supplier={supplier(api, number)}", READERS | {"seats"}, per_object=True, foreign_status=403,
    ),
    "get rack": Route("GET", lambda api, number: f"/racks/{rack(api, number)}", READERS | {"seats"}, per_object=True),
    "plan loads": Route("POST", fixed("/lines/L1/loads"), PLANT_FLOOR, {}),
    "list shipments": Route("GET", fixed("/shipments"), EVERYONE),
    "get shipment": Route("GET", lambda api, number: f"/shipments/{shipment(api, number)}", EVERYONE, per_object=True, partners=SHIPMENT_PARTNERS),
    "get ASN": Route("GET", lambda api, number: f"/shipments/{shipment(api, number)}/asn", EVERYONE, per_object=True, partners=SHIPMENT_PARTNERS),
    "despatch shipment": Route(
        "POST", lambda api, number: f"/shipments/{shipment(api, number)}/despatch", FLOOR, per_object=True, partners=SHIPMENT_PARTNERS,
    ),
    "update ETA": Route(
        "POST", lambda api, number: f"/shipments/{shipment(api, number)}/eta", {"warehouse", "carrier", "admin"}, {"eta": "2026-12-07T09:00:00Z"},
        per_object=True, partners=SHIPMENT_PARTNERS,
    ),
    "receive shipment": Route(
        "POST", lambda api, number: f"/shipments/{shipment(api, number)}/receipt", PLANT_FLOOR, {"racks": None}, per_object=True, partners=SHIPMENT_PARTNERS,
    ),
    "order emergency delivery": Route(
        "POST", fixed("/emergency-deliveries"), {"planner", "warehouse", "admin"}, {"line": "L1", "order_id": "V0001", "family": "SEAT"},
    ),
    "check line side": Route(
        "POST", fixed("/lines/L1/line-side-checks"), PLANT_FLOOR, {"station": "S10", "scans": [{"order_id": "V0001", "part_number": "SEAT-L", "serial": "SN0001"}]},
    ),
    "consume vehicles": Route("POST", fixed("/lines/L1/consumption"), PLANT_FLOOR, {"order_ids": ["V0001"]}, uses_up=True),
    "trace a serial": Route("GET", fixed("/trace/SN0001"), READERS),
    "read KPIs": Route("GET", fixed("/kpis?line=L1"), READERS),
    "pause webhook": Route("POST", lambda api, number: f"/webhooks/subscriptions/{a_subscription(api)}/active", {"admin"}, {"active": True}),
}

@pytest.fixture(scope="module")
def floor(shared_api: Api) -> Api:
    """The shared jisflow with racks and despatched shipments of both suppliers."""
    return with_floor(shared_api)


CASES = [
    pytest.param(route, user, owner, id=f"{route}-{user}-{owner}")
    for route, spec in ROUTES.items()
    for user in USERS
    for owner in (("own", "foreign") if spec.per_object else ("-",))
]


def call(api: Api, spec: Route, user: str | None, owner: str):
    number = api.foreign_calloff if owner == "foreign" else api.own_calloff
    headers = api.as_(user) if user else {}
    body = spec.body(api, number) if callable(spec.body) else spec.body
    return api.client.request(spec.method, spec.path(api, number), headers=headers, json=body)


@pytest.mark.parametrize(("route", "user", "owner"), CASES)
def test_each_role_reaches_exactly_the_routes_and_objects_it_is_entitled_to(floor: Api, route: str, user: str, owner: str):
    spec = ROUTES[route]
    response = call(floor, spec, user, owner)
    if user not in spec.allowed:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
    elif owner == "foreign" and user in spec.partners:
        expected = 403 if route == "list call-off lines of a supplier" else spec.foreign_status
        assert response.status_code == expected, response.text
    elif spec.uses_up:
        assert response.status_code not in (401, 403), response.text
        assert not HIDDEN.match(response.json().get("detail", "")), response.text
    else:
        assert response.status_code not in (401, 403, 404), response.text


@pytest.mark.parametrize("route", list(ROUTES))
def test_every_route_refuses_a_caller_without_credentials(floor: Api, route: str):
    response = call(floor, ROUTES[route], None, "own")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_supplier_lists_only_its_own_call_off_lines(floor: Api):
    everything = floor.get("planner", "/calloff-lines").json()["items"]
    own = floor.get("seats", "/calloff-lines").json()["items"]
    assert {ln["supplier"] for ln in everything} == {"SEATS", "ROOFS"}
    assert own and {ln["supplier"] for ln in own} == {"SEATS"}
    assert len(own) == sum(ln["supplier"] == "SEATS" for ln in everything)


def test_a_supplier_cannot_move_a_foreign_call_off_and_nothing_changes(floor: Api):
    before = floor.get("planner", f"/calloffs/{floor.foreign_calloff}").json()
    response = floor.post("seats", f"/calloffs/{floor.foreign_calloff}/transitions", {"to": "CANCELLED"})
    assert response.status_code == 404
    assert floor.get("planner", f"/calloffs/{floor.foreign_calloff}").json() == before


def test_a_supplier_lists_only_the_forecasts_sent_to_it(floor: Api):
    periods = (ReceivedPeriod(date(2026, 12, 14), 40, Commitment.FIRM), ReceivedPeriod(date(2026, 12, 21), 60, Commitment.PLANNING))
    floor.app.bus.handle(ReceiveForecasts("edifact:PLANT:ALL:F-MATRIX", tuple(
        ReceivedForecast("", "PLANT", who, f"{who}-PART", None, "DOCK", "EA", "DELFOR", f"FC-{who}", date(2026, 12, 7), periods)
        for who in ("SEATS", "ROOFS"))))
    everything = floor.get("planner", "/purchasing/forecasts").json()["items"]
    own = floor.get("seats", "/purchasing/forecasts").json()["items"]
    assert {f["supplier"] for f in everything} == {"SEATS", "ROOFS"}
    assert own and {f["supplier"] for f in own} == {"SEATS"}
    assert len(own) == sum(f["supplier"] == "SEATS" for f in everything)
    assert [f["cumulative"] for f in own] == [40, 100]
