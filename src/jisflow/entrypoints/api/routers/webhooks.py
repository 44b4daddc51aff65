"""Webhook subscriptions and the status of their deliveries."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from jisflow.domain.auth import Principal, Scope
from jisflow.entrypoints.api import schemas as s
from jisflow.entrypoints.api.deps import Ctx, Cursor, IdempotencyKey, Limit, decode_cursor, encode_cursor, idempotent, requires
from jisflow.services import webhooks
from jisflow.services.webhooks import Delivery, Subscription

router = APIRouter(tags=["webhooks"])
Admin = Annotated[Principal, Depends(requires(Scope.WEBHOOKS_ADMIN))]


def subscription_out(sub: Subscription) -> s.SubscriptionOut:
    return s.SubscriptionOut(id=sub.id, url=sub.url, event_types=list(sub.event_types), active=sub.active, created_by=sub.created_by, created_at=sub.created_at)


def delivery_out(d: Delivery) -> s.DeliveryOut:
    return s.DeliveryOut(
        id=d.id, subscription_id=d.subscription_id, message_id=d.message_id, topic=d.topic, status=d.status, attempts=d.attempts,
        next_attempt_at=d.next_attempt_at, last_status_code=d.last_status_code, last_error=d.last_error, created_at=d.created_at,
        delivered_at=d.delivered_at,
    )


@router.post("/webhooks/subscriptions", status_code=201, response_model=s.NewSubscriptionOut, summary="Subscribe a URL to event types")
def subscribe(body: s.SubscriptionIn, ctx: Ctx, caller: Admin, request: Request, idempotency_key: IdempotencyKey = None):
    def run():
        with ctx.acting_as(caller) as app:
            sub = webhooks.subscribe(app.uow, app.clock, body.url, body.event_types)
        return s.NewSubscriptionOut(**subscription_out(sub).model_dump(), secret=sub.secret).model_dump(mode="json")

    return idempotent(ctx, caller, idempotency_key, request, body, 201, run)


@router.post("/webhooks/subscriptions/{subscription_id}/active", response_model=s.SubscriptionOut, summary="Pause or resume a subscription")
def set_active(
    subscription_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: s.ActiveIn, ctx: Ctx, caller: Admin, request: Request, idempotency_key: IdempotencyKey = None,
):
    def run():
        with ctx.acting_as(caller) as app:
            return subscription_out(webhooks.set_active(app.uow, app.clock, subscription_id, body.active)).model_dump(mode="json")

    return idempotent(ctx, caller, idempotency_key, request, body, 200, run)


@router.get("/webhooks/subscriptions", response_model=s.Page[s.SubscriptionOut], summary="Webhook subscriptions")
def list_subscriptions(ctx: Ctx, caller: Admin) -> s.Page[s.SubscriptionOut]:
    with ctx.acting_as(caller) as app, app.uow:
        subs = app.uow.webhooks.subscriptions()
    return s.Page[s.SubscriptionOut](items=[subscription_out(x) for x in subs], next_cursor=None)


@router.get("/webhooks/deliveries", response_model=s.Page[s.DeliveryOut], summary="Deliveries with their status, oldest first")
def list_deliveries(
    ctx: Ctx, caller: Admin, subscription_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None, status: Literal["pending", "delivered", "failed"] | None = None,
    cursor: Cursor = None, limit: Limit = 100,
) -> s.Page[s.DeliveryOut]:
    after = decode_cursor(cursor, 0)
    with ctx.acting_as(caller) as app, app.uow:
        found = app.uow.webhooks.deliveries(after, limit + 1, subscription_id, status)
    page = found[:limit]
    return s.Page[s.DeliveryOut](items=[delivery_out(d) for d in page], next_cursor=encode_cursor(page[-1].id) if len(found) > limit else None)
