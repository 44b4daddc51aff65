"""Webhooks: deliveries made from the outbox, signed as Standard Webhooks does, retried with
back-off, and visible with their status through the API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from api_support import Api

from jisflow.services import webhooks
from jisflow.services.webhooks import BACKOFF


def test_the_signature_matches_the_standard_webhooks_reference_example():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    signature = webhooks.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


class Receiver:
    """A webhook endpoint that checks every signature and answers from a script of statuses."""

    def __init__(self, secret: str, statuses: list[int | Exception]) -> None:
        self.key = base64.b64decode(secret.removeprefix("whsec_"))
        self.statuses = statuses
        self.received: list[dict] = []

    def send(self, url: str, headers: dict[str, str], body: bytes) -> int:
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = "v1," + base64.b64encode(hmac.new(self.key, signed, hashlib.sha256).digest()).decode()
        assert hmac.compare_digest(headers["webhook-signature"], expected)
        outcome = self.statuses.pop(0) if self.statuses else 200
        if isinstance(outcome, Exception):
            raise outcome
        if 200 <= outcome < 300:
            self.received.append({"id": headers["webhook-id"], **json.loads(body)})
        return outcome


def subscribe(api: Api, event_types: list[str]) -> dict:
    response = api.post("admin", "/webhooks/subscriptions", {"url": "https://mes.example/hooks", "event_types": event_types})
    assert response.status_code == 201
    return response.json()


def test_each_subscribed_event_from_the_outbox_is_delivered_once_signed(api: Api):
    sub = subscribe(api, ["vehicle.broadcast"])
    assert sub["secret"].startswith("whsec_")
    api.post("planner", "/lines/L1/broadcast-next", {"count": 2})
    receiver = Receiver(sub["secret"], [])
    assert webhooks.fan_out(api.app.uow, api.clock) == 2
    assert webhooks.fan_out(api.app.uow, api.clock) == 0  # the cursor moved on
    webhooks.deliver_due(api.app.uow, api.clock, receiver)
    assert [r["type"] for r in receiver.received] == ["vehicle.broadcast", "vehicle.broadcast"]
    assert [r["data"]["order_id"] for r in receiver.received] == ["V0003", "V0004"]
    statuses = [d["status"] for d in api.get("admin", "/webhooks/deliveries").json()["items"]]
    assert statuses == ["delivered", "delivered"]


def test_a_failed_delivery_is_retried_after_its_back_off_and_its_status_shows_it(api: Api):
    sub = subscribe(api, ["vehicle.broadcast"])
    api.post("planner", "/lines/L1/broadcast", {"order_id": "V0003"})
    webhooks.fan_out(api.app.uow, api.clock)
    receiver = Receiver(sub["secret"], [503, ConnectionError("refused")])
    [first] = webhooks.deliver_due(api.app.uow, api.clock, receiver)
    shown = api.get("admin", "/webhooks/deliveries", params={"subscription_id": sub["id"]}).json()["items"][0]
    assert (shown["status"], shown["attempts"], shown["last_status_code"], shown["last_error"]) == ("pending", 1, 503, "HTTP 503")
    assert webhooks.deliver_due(api.app.uow, api.clock, receiver) == []  # not due before its back-off
    api.clock.advance(BACKOFF[0])
    [second] = webhooks.deliver_due(api.app.uow, api.clock, receiver)
    assert (second.status, second.last_error) == ("pending", "ConnectionError: refused")
    assert second.next_attempt_at == api.clock.now() + BACKOFF[1]
    api.clock.advance(BACKOFF[1])
    webhooks.deliver_due(api.app.uow, api.clock, receiver)
    [shown] = api.get("admin", "/webhooks/deliveries", params={"subscription_id": sub["id"]}).json()["items"]
    assert (shown["status"], shown["attempts"], shown["last_error"]) == ("delivered", 3, None)
    assert [r["data"]["order_id"] for r in receiver.received] == ["V0003"]


def test_a_delivery_that_keeps_failing_gives_up_after_the_last_back_off(api: Api):
    sub = subscribe(api, ["vehicle.broadcast"])
    api.post("planner", "/lines/L1/broadcast", {"order_id": "V0003"})
    webhooks.fan_out(api.app.uow, api.clock)
    receiver = Receiver(sub["secret"], [500] * 100)
    webhooks.deliver_due(api.app.uow, api.clock, receiver)
    for wait in BACKOFF:
        api.clock.advance(wait)
        webhooks.deliver_due(api.app.uow, api.clock, receiver)
    [delivery] = api.get("admin", "/webhooks/deliveries").json()["items"]
    assert (delivery["status"], delivery["attempts"]) == ("failed", len(BACKOFF) + 1)
    assert receiver.received == []


def test_a_paused_subscription_gets_no_new_deliveries(api: Api):
    sub = subscribe(api, ["vehicle.broadcast"])
    paused = api.post("admin", f"/webhooks/subscriptions/{sub['id']}/active", {"active": False})
    assert paused.status_code == 200 and paused.json()["active"] is False
    api.post("planner", "/lines/L1/broadcast-next", {"count": 1})
    assert webhooks.fan_out(api.app.uow, api.clock) == 0
    assert api.get("auditor", "/audit", params={"subject": f"webhook/{sub['id']}"}).json()["items"][-1]["action"] == "webhook.deactivated"
    assert api.post("admin", "/webhooks/subscriptions/999/active", {"active": True}).status_code == 404
