"""The API serves several requests at once: each borrows a wired jisflow of its own from the
context's pool (on PostgreSQL), and gives it back when it ends."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jisflow.adapters.memory import MemoryUnitOfWork
from jisflow.bootstrap import bootstrap
from jisflow.domain.auth import Principal, Role
from jisflow.entrypoints.api import create_app
from jisflow.entrypoints.api.app import ApiSettings
from jisflow.entrypoints.api.deps import Context
from jisflow.services.audit import SYSTEM


def _apps(count: int):
    return [bootstrap(MemoryUnitOfWork()) for _ in range(count)]


def test_two_requests_at_once_get_two_different_apps_and_a_third_waits_for_one_given_back():
    apps = _apps(2)
    ctx = Context(apps)
    inside, leave, third_in = threading.Barrier(3), threading.Event(), threading.Event()
    got: list[object] = []

    def request() -> None:
        with ctx.borrow() as app:
            got.append(app)
            inside.wait(5)
            leave.wait(5)

    def third() -> object:
        with ctx.borrow() as app:
            third_in.set()
            return app

    with ThreadPoolExecutor(3) as pool:
        first, second = pool.submit(request), pool.submit(request)
        inside.wait(5)  # both are in
        waiting = pool.submit(third)
        assert not third_in.wait(0.3), "a third request got an app while both were busy"
        assert sorted(map(id, got)) == sorted(map(id, apps))
        leave.set()
        first.result(5), second.result(5)
        assert waiting.result(5) in apps


def test_one_request_after_another_always_gets_the_first_app():
    apps = _apps(3)
    ctx = Context(apps)
    for _ in range(4):
        with ctx.borrow() as app:
            assert app is apps[0]


def test_a_request_that_asks_again_inside_its_block_gets_the_same_app_even_from_a_pool_of_one():
    ctx = Context(_apps(1))
    with ctx.borrow() as outer, ctx.borrow() as inner:
        assert inner is outer


def test_a_request_acts_as_its_caller_and_the_app_goes_back_acting_for_the_system():
    (app,) = apps = _apps(1)
    ctx = Context(apps)
    anna = Principal("anna", Role.SUPPLIER, "SITZ")
    with ctx.acting_as(anna) as borrowed:
        assert (borrowed.uow.actor, borrowed.uow.tenant) == ("anna", "SITZ")
    assert (app.uow.actor, app.uow.tenant) == (SYSTEM, None)


def test_the_api_on_sqlite_serves_one_request_at_a_time(tmp_path: Path):
    api = create_app(bootstrap(database_url=f"sqlite:///{tmp_path / 'one.db'}", migrate=True), ApiSettings(concurrency=8))
    assert api.state.jisflow.size == 1


def test_a_context_without_apps_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        Context([])
