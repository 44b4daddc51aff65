"""Secrets, tokens and users (domain rules), and the audit trail written by the unit of work on
the in-memory store."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from jisflow.adapters.memory import MemoryUnitOfWork
from jisflow.adapters.plant_file import load_plant_file
from jisflow.bootstrap import bootstrap
from jisflow.domain.auth import ROLE_SCOPES, Role, Scope, check_scopes, check_user, hash_secret, new_token, secret_matches, split_token
from jisflow.domain.errors import ValidationError
from jisflow.domain.sequence import Vehicle
from jisflow.services import commands as c
from jisflow.services.clock import SimulatedClock

from api_support import PLANT


def test_a_secret_is_stored_as_a_salted_scrypt_hash_that_only_it_matches():
    stored = hash_secret("s3cret", n=2**8)
    assert stored.startswith("scrypt$256$8$1$") and "s3cret" not in stored
    assert secret_matches("s3cret", stored)
    assert not secret_matches("s3cret!", stored)
    assert hash_secret("s3cret", n=2**8) != stored  # a new salt every time


@pytest.mark.parametrize("stored", ["", "md5$abc", "scrypt$x$8$1$00$00", "scrypt$256$8$1$zz$00"])
def test_a_stored_hash_that_is_not_one_of_ours_matches_nothing(stored: str):
    assert not secret_matches("anything", stored)


def test_a_token_carries_its_key_id_and_secret():
    key_id, secret, token = new_token()
    assert split_token(token) == (key_id, secret)
    assert split_token("Bearer nonsense") is None
    assert split_token("jf__secret") is None


def test_a_partner_role_needs_its_partner_and_other_roles_take_none():
    with pytest.raises(ValidationError) as error:
        check_user("x y", Role.SUPPLIER, None)
    assert {p.where for p in error.value.problems} == {"name", "supplier"}
    with pytest.raises(ValidationError):
        check_user("planner", Role.PLANNER, "SEATS")
    check_user("sitz", Role.SUPPLIER, "SEATS")


def test_an_admin_holds_every_scope_and_a_carrier_cannot_be_given_the_audit():
    assert ROLE_SCOPES[Role.ADMIN] == frozenset(Scope)
    with pytest.raises(ValidationError, match="audit:read"):
        check_scopes(Role.CARRIER, frozenset({Scope.AUDIT_READ}))


def test_each_event_of_a_command_leaves_an_audit_entry_with_the_actor_in_the_same_commit():
    uow = MemoryUnitOfWork()
    jf = bootstrap(uow, clock=SimulatedClock(datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)))
    definition = load_plant_file(PLANT)
    jf.bus.handle(c.LoadPlant(definition.plant, definition.data))
    rows = tuple(c.SequenceRow(f"row {i}", Vehicle(f"V{i}", "TOURER", {"trim": "LUX", "roof": "CLOSED"})) for i in range(1, 4))
    jf.bus.handle(c.ImportSequence("L1", rows))
    uow.actor = "feed-7"
    jf.bus.handle(c.BroadcastNext("L1", 1))
    entries = [e for e in uow.store.audit if e.actor == "feed-7"]
    broadcast = [e for e in entries if e.action == "vehicle.broadcast"]
    assert [(e.subject, e.before, e.after["status"]) for e in broadcast] == [("L1/V1", {"status": "planned"}, "broadcast")]
    assert {e.action for e in entries} >= {"vehicle.broadcast", "calloff.issued"}
    assert len(uow.store.audit) == len(uow.store.outbox)  # one entry per event, none lost
    with pytest.raises(ValidationError):  # a refused command leaves no entry
        jf.bus.handle(c.BroadcastNext("L1", 0))
    assert len(uow.store.audit) == len(uow.store.outbox)
