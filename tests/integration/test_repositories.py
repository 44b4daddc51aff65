"""The repositories behave alike on memory, SQLite and PostgreSQL (``uow_factory``); what only a
database can do (unique indexes, CHECK constraints, UTC conversion) runs on SQLite and
PostgreSQL (``sql_engine``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from jisflow.adapters.db.uow import SqlUnitOfWork
from jisflow.adapters.plant_file import demo_plant_path, load_plant_file
from jisflow.domain import vin as vinlib
from jisflow.domain.alerts import Alert, AlertKind, Severity
from jisflow.domain.calloff import CallOff, CallOffLine, CallOffState, SummarizedCall
from jisflow.domain.errors import NotFound
from jisflow.domain.plant import Line
from jisflow.domain.sequence import LineFeedState, PearlChain, Vehicle, VehicleStatus
from jisflow.services.unit_of_work import AlertFilter, CallOffLineFilter

T0 = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)  # a Monday, inside the day shift
MINUTE = timedelta(minutes=1)


def a_vin(n: int) -> str:
    body = f"WJFAA1230TM{n:06d}"
    return body[:8] + vinlib.calc_check_digit(body) + body[9:]


def a_vehicle(n: int) -> Vehicle:
    return Vehicle(
        order_id=f"O{n:04d}",
        model="A" if n % 2 else "B",
        options={"trim": "cloth" if n % 3 else "leather", "market": "EU"},
        vin=a_vin(n) if n % 4 == 0 else None,
    )


def load_plant(uow_factory, build_plant) -> Line:
    definition = build_plant("P1", ("L1", "L2"))
    with uow_factory() as uow:
        uow.plants.put(definition.plant, definition.data, T0)
        uow.commit()
    return definition.plant.line("L1")


def append_vehicles(uow_factory, line: Line, count: int) -> None:
    with uow_factory() as uow:
        chain = uow.chains.get(line)
        chain.append([(f"rows[{n}]", a_vehicle(n), None) for n in range(1, count + 1)])
        uow.chains.save(chain)
        uow.commit()


def numbers(chain: PearlChain) -> dict[str, int]:
    return {e.order_id: e.seq_no for e in chain.entries()}


def picture(chain: PearlChain, order_ids: list[str]) -> list[tuple]:
    """Everything these entries carry except their storage ids."""
    return [
        (e.order_id, e.seq_no, e.status, e.vehicle, e.broadcast_at, e.flagged) for e in map(chain.get, order_ids)
    ]


def a_calloff_line(number: str, order_id: str, seq_no: int, *, family: str = "SEAT-L1", quantity: int = 1) -> CallOffLine:
    return CallOffLine(
        number=number,
        supplier="SEATCO",
        unloading_point="DOCK-A",
        line="L1",
        order_id=order_id,
        family=family,
        seq_no=seq_no,
        rolling_no=seq_no % 10_000,
        vin=None,
        part_number="SEAT-1",
        quantity=quantity,
        station="S90",
        need_time=T0 + 90 * MINUTE + seq_no * MINUTE,
        ship_by=T0 + 30 * MINUTE + seq_no * MINUTE,
    )


def a_calloff(number: str, lines: list[CallOffLine]) -> CallOff:
    return CallOff(number=number, supplier="SEATCO", unloading_point="DOCK-A", line="L1", issued_at=T0, lines=lines)


def without_ids(lines: list[CallOffLine]) -> list[CallOffLine]:
    return [replace(ln, id=None) for ln in lines]


# ------------------------------------------------------------------------------ plants
def test_a_stored_plant_is_found_by_its_code_and_by_each_of_its_lines(uow_factory, build_plant):
    first, second = build_plant("P1", ("L1", "L2")), build_plant("P2", ("L3",), name="Second plant")
    with uow_factory() as uow:
        uow.plants.put(second.plant, second.data, T0)
        uow.plants.put(first.plant, first.data, T0)
        uow.commit()

    with uow_factory() as uow:
        assert uow.plants.get("P1") == first.plant
        assert uow.plants.of_line("L2") == first.plant
        assert uow.plants.of_line("L3") == second.plant
        assert uow.plants.list() == [first.plant, second.plant]
        with pytest.raises(NotFound, match="P9"):
            uow.plants.get("P9")
        with pytest.raises(NotFound, match="L9"):
            uow.plants.of_line("L9")


def test_loading_a_plant_again_replaces_it_and_drops_the_lines_it_no_longer_has(uow_factory, build_plant):
    with uow_factory() as uow:
        uow.plants.put(build_plant("P1", ("L1", "L2")).plant, build_plant("P1", ("L1", "L2")).data, T0)
        uow.commit()
    with uow_factory() as uow:
        uow.plants.get("P1")  # read (and cached) before the reload
    renamed = build_plant("P1", ("L1",), name="Renamed plant")
    with uow_factory() as uow:
        uow.plants.put(renamed.plant, renamed.data, T0 + MINUTE)
        uow.commit()

    with uow_factory() as uow:
        assert uow.plants.get("P1") == renamed.plant
        assert uow.plants.of_line("L1").name == "Renamed plant"
        with pytest.raises(NotFound, match="L2"):
            uow.plants.of_line("L2")


def test_the_demo_plant_comes_back_equal_from_its_stored_definition(uow_factory):
    demo = load_plant_file(demo_plant_path())
    with uow_factory() as uow:
        uow.plants.put(demo.plant, demo.data, T0)
        uow.commit()
    with uow_factory() as uow:
        assert uow.plants.get(demo.plant.code) == demo.plant


# ------------------------------------------------------------------------------ pearl chains
def test_a_pearl_chain_comes_back_with_its_vehicles_statuses_and_feed_state(uow_factory, build_plant):
    line = load_plant(uow_factory, build_plant)
    order_ids = [f"O{n:04d}" for n in range(1, 9)]
    with uow_factory() as uow:
        chain = uow.chains.get(line)
        assert len(chain) == 0 and chain.feed == LineFeedState()
        chain.append([(f"rows[{n}]", a_vehicle(n), None) for n in range(1, 9)])
        chain.broadcast("O0001", T0)
        chain.broadcast("O0002", T0 + MINUTE)
        chain.cancel("O0003", now=T0 + MINUTE, override=True, actor="anna", reason="customer cancelled")
        chain.cancel("O0006", now=T0 + MINUTE)
        expected, feed = picture(chain, order_ids), replace(chain.feed)
        uow.chains.save(chain)
        uow.commit()

    with uow_factory() as uow:
        again = uow.chains.get(line)
    assert picture(again, order_ids) == expected
    assert again.feed == feed == LineFeedState(2, T0 + MINUTE, False)
    assert again.get("O0004").vehicle.vin == a_vin(4)
    assert again.get("O0003").flagged and again.get("O0003").status is VehicleStatus.CANCELLED
    assert [e.order_id for e in again.planned()] == ["O0004", "O0005", "O0007", "O0008"]


def test_saving_a_chain_writes_only_to_its_own_line(uow_factory, build_plant):
    line = load_plant(uow_factory, build_plant)
    append_vehicles(uow_factory, line, 3)
    with uow_factory() as uow:
        other = uow.chains.get(build_plant("P1", ("L1", "L2")).plant.line("L2"))
    assert len(other) == 0 and other.feed == LineFeedState()


def test_renumbering_many_vehicles_in_one_save_keeps_the_numbers_unique(uow_factory, build_plant):
    line = load_plant(uow_factory, build_plant)
    append_vehicles(uow_factory, line, 60)
    with uow_factory() as uow:
        chain = uow.chains.get(line)
        chain.insert(Vehicle("N0001", "A", {"trim": "cloth"}), now=T0, before="O0010")  # shifts 51 vehicles
        chain.move("O0060", now=T0, after="O0005")  # rotates 56 vehicles
        uow.chains.save(chain)
        chain.swap("O0020", "O0030", now=T0)  # a second save in the same transaction
        uow.chains.save(chain)
        expected = numbers(chain)
        uow.commit()

    with uow_factory() as uow:
        again = uow.chains.get(line)
    assert numbers(again) == expected
    assert sorted(expected.values()) == list(range(1, 62))
    assert (expected["O0060"], expected["O0006"], expected["N0001"]) == (6, 7, 11)


def test_a_cancelled_vehicle_keeps_its_number_while_a_new_vehicle_takes_it(uow_factory, build_plant):
    line = load_plant(uow_factory, build_plant)
    append_vehicles(uow_factory, line, 5)
    with uow_factory() as uow:
        chain = uow.chains.get(line)
        chain.cancel("O0003", now=T0)
        chain.insert(Vehicle("N0001", "B", {"trim": "leather"}), now=T0, before="O0004")
        uow.chains.save(chain)
        uow.commit()

    with uow_factory() as uow:
        again = uow.chains.get(line)
    cancelled, newcomer = again.get("O0003"), again.get("N0001")
    assert (cancelled.seq_no, cancelled.status) == (3, VehicleStatus.CANCELLED)
    assert (newcomer.seq_no, newcomer.status) == (3, VehicleStatus.PLANNED)
    assert numbers(again) == {"O0001": 1, "O0002": 2, "N0001": 3, "O0004": 4, "O0005": 5}


def test_the_database_refuses_two_live_vehicles_on_one_sequence_number(sql_engine, build_plant):
    definition = build_plant()
    line = definition.plant.line("L1")
    with SqlUnitOfWork(sql_engine) as uow:
        uow.plants.put(definition.plant, definition.data, T0)
        chain = uow.chains.get(line)
        chain.append([("rows[0]", a_vehicle(1), 1)])
        uow.chains.save(chain)
        uow.commit()
    with SqlUnitOfWork(sql_engine) as uow:
        stale = PearlChain(line)  # a chain that does not know vehicle 1
        stale.append([("rows[0]", a_vehicle(2), 1)])
        with pytest.raises(sa.exc.IntegrityError):
            uow.chains.save(stale)


# ------------------------------------------------------------------------------ call-offs
def add_three_lines(uow_factory) -> CallOff:
    calloff = a_calloff("CO-1", [a_calloff_line("CO-1", f"O000{n}", n) for n in (1, 2, 3)])
    with uow_factory() as uow:
        uow.calloffs.add(calloff)
        uow.commit()
    return calloff


def test_a_calloff_comes_back_with_all_its_lines(uow_factory):
    calloff = add_three_lines(uow_factory)
    with uow_factory() as uow:
        stored = uow.calloffs.get("CO-1")
        with pytest.raises(NotFound, match="CO-9"):
            uow.calloffs.get("CO-9")
    assert (stored.number, stored.supplier, stored.unloading_point, stored.line, stored.issued_at) == (
        "CO-1", "SEATCO", "DOCK-A", "L1", T0,
    )
    assert without_ids(stored.lines) == without_ids(calloff.lines)
    assert all(ln.id is not None for ln in stored.lines)


def test_saved_calloff_lines_keep_their_new_state_and_numbers(uow_factory):
    add_three_lines(uow_factory)
    with uow_factory() as uow:
        first, second, third = uow.calloffs.get("CO-1").lines
        third.transition(CallOffState.CANCELLED, T0 + MINUTE, "vehicle cancelled")
        second.amend(
            T0 + MINUTE, seq_no=7, rolling_no=7, part_number="SEAT-2", quantity=2,
            need_time=second.need_time, ship_by=second.ship_by, vin=None, reason="moved",
        )
        uow.calloffs.save_lines([second, third])
        uow.commit()

    with uow_factory() as uow:
        stored = uow.calloffs.get("CO-1").lines
        live = uow.calloffs.live_lines_for("L1", ["O0001", "O0002", "O0003", "O0009"])
        assert uow.calloffs.live_lines_for("L1", []) == {}
        assert uow.calloffs.live_lines_for("L2", ["O0001"]) == {}
    assert stored == [first, second, third]
    assert (stored[1].seq_no, stored[1].part_number, stored[1].quantity) == (7, "SEAT-2", 2)
    assert stored[2].state is CallOffState.CANCELLED
    assert sorted(live) == [("O0001", "SEAT-L1"), ("O0002", "SEAT-L1")]
    assert live[("O0002", "SEAT-L1")] == second


def test_calloff_lines_are_listed_in_line_and_sequence_order_through_filters(uow_factory):
    add_three_lines(uow_factory)
    with uow_factory() as uow:
        other = a_calloff("CO-2", [a_calloff_line("CO-2", "O0001", 1, family="COCKPIT"), a_calloff_line("CO-2", "O0004", 4)])
        uow.calloffs.add(other)
        third = uow.calloffs.get("CO-1").lines[2]
        third.transition(CallOffState.SENT, T0, "transmitted")
        uow.calloffs.save_lines([third])
        uow.commit()

    with uow_factory() as uow:
        keys = lambda where: [(ln.number, ln.order_id, ln.family) for ln in uow.calloffs.lines(where)]  # noqa: E731
        assert keys(CallOffLineFilter()) == [
            ("CO-2", "O0001", "COCKPIT"),
            ("CO-1", "O0001", "SEAT-L1"),
            ("CO-1", "O0002", "SEAT-L1"),
            ("CO-1", "O0003", "SEAT-L1"),
            ("CO-2", "O0004", "SEAT-L1"),
        ]
        assert keys(CallOffLineFilter(number="CO-2")) == [("CO-2", "O0001", "COCKPIT"), ("CO-2", "O0004", "SEAT-L1")]
        assert keys(CallOffLineFilter(states=(CallOffState.SENT,))) == [("CO-1", "O0003", "SEAT-L1")]
        assert keys(CallOffLineFilter(order_id="O0001", limit=1)) == [("CO-2", "O0001", "COCKPIT")]
        assert keys(CallOffLineFilter(line="L2")) == []
        assert keys(CallOffLineFilter(supplier="OTHER")) == []
        listed = uow.calloffs.lines(CallOffLineFilter())
        second = listed[1]
        after = (second.line, second.seq_no, second.family, second.id or 0)
        assert keys(CallOffLineFilter(after=after, limit=2)) == [("CO-1", "O0002", "SEAT-L1"), ("CO-1", "O0003", "SEAT-L1")]
        assert keys(CallOffLineFilter(after=after)) == [(ln.number, ln.order_id, ln.family) for ln in listed[2:]]
        assert uow.calloffs.count_by_supplier_and_state() == {("SEATCO", "CREATED"): 4, ("SEATCO", "SENT"): 1}
        assert uow.calloffs.count_by_supplier_and_state("L2") == {}


def test_the_database_keeps_one_live_calloff_line_per_vehicle_and_family(sql_engine):
    with SqlUnitOfWork(sql_engine) as uow:
        uow.calloffs.add(a_calloff("CO-1", [a_calloff_line("CO-1", "O0001", 1)]))
        uow.commit()
    with SqlUnitOfWork(sql_engine) as uow, pytest.raises(sa.exc.IntegrityError):
        uow.calloffs.add(a_calloff("CO-2", [a_calloff_line("CO-2", "O0001", 1)]))
        uow.commit()  # on PostgreSQL the insert travels with the commit

    with SqlUnitOfWork(sql_engine) as uow:
        (old,) = uow.calloffs.get("CO-1").lines
        old.transition(CallOffState.CANCELLED, T0, "re-issued")
        uow.calloffs.save_lines([old])
        uow.calloffs.add(a_calloff("CO-2", [a_calloff_line("CO-2", "O0001", 1)]))
        uow.commit()
    with SqlUnitOfWork(sql_engine) as uow:
        states = [(ln.number, ln.state) for ln in uow.calloffs.lines(CallOffLineFilter(order_id="O0001"))]
    assert states == [("CO-1", CallOffState.CANCELLED), ("CO-2", CallOffState.CREATED)]


def test_the_database_refuses_a_calloff_line_without_quantity(sql_engine):
    with SqlUnitOfWork(sql_engine) as uow, pytest.raises(sa.exc.IntegrityError):
        uow.calloffs.add(a_calloff("CO-1", [a_calloff_line("CO-1", "O0001", 1, quantity=0)]))
        uow.commit()


# ------------------------------------------------------------------------------ summarized calls
def a_call(window: int, *, part: str = "WHL-17") -> SummarizedCall:
    start = T0 + window * timedelta(hours=1)
    return SummarizedCall("L1", "WHEELS", "WHEELCO", part, start, start + timedelta(hours=1))


def test_summarized_calls_are_found_by_window_and_by_the_vehicles_they_count(uow_factory):
    first, second, other_part = a_call(0), a_call(1), a_call(0, part="WHL-18")
    first.set_contribution("O0001", 4, T0)
    first.set_contribution("O0002", 4, T0)
    second.set_contribution("O0002", 4, T0)
    second.set_contribution("O0003", 4, T0)
    other_part.set_contribution("O0004", 4, T0)
    with uow_factory() as uow:
        uow.jit_calls.save([first, second, other_part])
        uow.commit()

    with uow_factory() as uow:
        found = uow.jit_calls.find("L1", "WHEELS", "WHL-17", T0)
        assert uow.jit_calls.find("L1", "WHEELS", "WHL-17", T0 + timedelta(hours=5)) is None
        counting = uow.jit_calls.counting("L1", ["O0001", "O0002", "O0009"])
        assert uow.jit_calls.counting("L2", ["O0001"]) == {}
        listed = uow.jit_calls.list(line="L1")
        assert uow.jit_calls.list(supplier="OTHER") == []
    assert found is not None and found.id is not None
    assert (found.contributions, found.quantity, found.window_end) == ({"O0001": 4, "O0002": 4}, 8, T0 + timedelta(hours=1))
    assert {k: sorted(c.window_start for c in calls) for k, calls in counting.items()} == {
        "O0001": [T0],
        "O0002": [T0, T0 + timedelta(hours=1)],
    }
    assert [(c.window_start, c.part_number) for c in listed] == [
        (T0, "WHL-17"), (T0, "WHL-18"), (T0 + timedelta(hours=1), "WHL-17"),
    ]


def test_summarized_calls_are_gathered_by_the_vehicles_they_count_and_by_window_in_one_read(uow_factory):
    first, second, other_part, other_line = a_call(0), a_call(1), a_call(0, part="WHL-18"), a_call(2)
    first.set_contribution("O0001", 4, T0)
    second.set_contribution("O0002", 4, T0)
    other_part.set_contribution("O0004", 4, T0)
    other_line.line = "L2"
    with uow_factory() as uow:
        uow.jit_calls.save([first, second, other_part, other_line])
        uow.commit()

    windows = {("WHEELS", "WHL-17", T0), ("WHEELS", "WHL-18", T0), ("WHEELS", "WHL-17", T0 + timedelta(hours=2)), ("WHEELS", "WHL-17", T0 + timedelta(hours=5))}
    with uow_factory() as uow:
        stored = uow.jit_calls.gather("L1", ["O0001", "O0002", "O0009"], windows)
        only_counting = uow.jit_calls.gather("L1", ["O0002"], set())
        only_windows = uow.jit_calls.gather("L1", [], {("WHEELS", "WHL-18", T0)})
        nothing = uow.jit_calls.gather("L1", [], set())
    assert {k: [(c.part_number, c.window_start) for c in calls] for k, calls in stored.counting.items()} == {
        "O0001": [("WHL-17", T0)],
        "O0002": [("WHL-17", T0 + timedelta(hours=1))],
    }
    assert {w: call.contributions for w, call in stored.windows.items()} == {
        ("WHEELS", "WHL-17", T0): {"O0001": 4},
        ("WHEELS", "WHL-18", T0): {"O0004": 4},
    }  # the window of line L2 and an empty window are not found
    assert [c.window_start for c in only_counting.counting["O0002"]] == [T0 + timedelta(hours=1)] and only_counting.windows == {}
    assert (only_windows.counting, list(only_windows.windows)) == ({}, [("WHEELS", "WHL-18", T0)])
    assert (nothing.counting, nothing.windows) == ({}, {})


def test_a_saved_summarized_call_keeps_its_new_quantity(uow_factory):
    call = a_call(0)
    call.set_contribution("O0001", 4, T0)
    with uow_factory() as uow:
        uow.jit_calls.save([call])
        uow.commit()
    with uow_factory() as uow:
        stored = uow.jit_calls.find("L1", "WHEELS", "WHL-17", T0)
        stored.set_contribution("O0001", 0, T0 + MINUTE)
        stored.set_contribution("O0002", 8, T0 + MINUTE)
        uow.jit_calls.save([stored])
        uow.commit()

    with uow_factory() as uow:
        again = uow.jit_calls.find("L1", "WHEELS", "WHL-17", T0)
        assert uow.jit_calls.counting("L1", ["O0001"]) == {}
    assert (again.contributions, again.quantity, again.updated_at, again.id) == ({"O0002": 8}, 8, T0 + MINUTE, stored.id)


def test_a_new_summarized_call_for_a_stored_window_replaces_the_stored_one(uow_factory):
    old, new = a_call(0), a_call(0)
    old.set_contribution("O0001", 4, T0)
    new.set_contribution("O0009", 2, T0 + MINUTE)
    for call in (old, new):
        with uow_factory() as uow:
            uow.jit_calls.save([call])
            uow.commit()
    with uow_factory() as uow:
        assert uow.jit_calls.find("L1", "WHEELS", "WHL-17", T0).contributions == {"O0009": 2}
        assert len(uow.jit_calls.list()) == 1


# ------------------------------------------------------------------------------ alerts
def test_alerts_get_an_id_and_are_listed_newest_first(uow_factory):
    gap = Alert(AlertKind.GAP, "L1", "gap before 7", T0, order_id="O0007", seq_no=7, details={"skipped": ["O0006"]})
    silent = Alert(AlertKind.SILENT_FEED, "L1", "no broadcast", T0 + MINUTE)
    elsewhere = Alert(AlertKind.GAP, "L2", "gap on L2", T0 + 2 * MINUTE)
    with uow_factory() as uow:
        for alert in (gap, silent, elsewhere):
            uow.alerts.add(alert)
        uow.commit()
    assert None not in (gap.id, silent.id, elsewhere.id)

    with uow_factory() as uow:
        messages = lambda where: [a.message for a in uow.alerts.list(where)]  # noqa: E731
        assert messages(AlertFilter()) == ["gap on L2", "no broadcast", "gap before 7"]
        assert messages(AlertFilter(line="L1")) == ["no broadcast", "gap before 7"]
        assert messages(AlertFilter(kinds=(AlertKind.GAP,))) == ["gap on L2", "gap before 7"]
        assert messages(AlertFilter(limit=1)) == ["gap on L2"]
        stored = uow.alerts.list(AlertFilter(line="L1", kinds=(AlertKind.GAP,)))
        assert uow.alerts.count_by_kind() == {"gap": 2, "silent_feed": 1}
        assert uow.alerts.count_by_kind("L1") == {"gap": 1, "silent_feed": 1}
    assert stored == [gap]
    assert stored[0].severity is Severity.CRITICAL and stored[0].details == {"skipped": ["O0006"]}


def test_acknowledging_an_alert_twice_keeps_the_first_acknowledgement(uow_factory):
    alert = Alert(AlertKind.GAP, "L1", "gap", T0)
    with uow_factory() as uow:
        uow.alerts.add(alert)
        uow.commit()
    with uow_factory() as uow:
        first = uow.alerts.acknowledge(alert.id, "anna", T0 + MINUTE)
        uow.commit()
    with uow_factory() as uow:
        second = uow.alerts.acknowledge(alert.id, "ben", T0 + 2 * MINUTE)
        uow.commit()
        with pytest.raises(NotFound, match="9999"):
            uow.alerts.acknowledge(9999, "anna", T0)

    with uow_factory() as uow:
        (stored,) = uow.alerts.list(AlertFilter())
        assert uow.alerts.list(AlertFilter(open_only=True)) == []
    assert (first.acknowledged_by, first.acknowledged_at) == ("anna", T0 + MINUTE)
    assert second == first == stored


# ------------------------------------------------------------------------------ outbox, inbox
def test_the_outbox_hands_out_unpublished_messages_oldest_first(uow_factory):
    with uow_factory() as uow:
        for n, key in ((1, "L1"), (2, "L1"), (3, "L2")):
            uow.outbox.add(f"topic.{n}", key, {"n": n, "nested": {"at": "2025-03-03T07:00:00+00:00"}}, T0)
        uow.commit()
    with uow_factory() as uow:
        pending = uow.outbox.pending()
        assert [m.payload["n"] for m in uow.outbox.pending(limit=2)] == [1, 2]
        first, second, third = pending
        uow.outbox.mark_published([first.id], T0 + MINUTE)
        uow.outbox.mark_failed([second.id])
        uow.outbox.mark_failed([second.id])
        uow.outbox.mark_published([], T0)
        uow.commit()

    with uow_factory() as uow:
        left = uow.outbox.pending()
    assert [(m.topic, m.key, m.payload["n"], m.created_at) for m in pending] == [
        ("topic.1", "L1", 1, T0), ("topic.2", "L1", 2, T0), ("topic.3", "L2", 3, T0),
    ]
    assert first.payload["nested"] == {"at": "2025-03-03T07:00:00+00:00"}
    assert [(m.id, m.attempts, m.published_at) for m in left] == [(second.id, 2, None), (third.id, 0, None)]


def test_the_inbox_remembers_applied_keys(uow_factory):
    with uow_factory() as uow:
        assert not uow.inbox.seen("ICR-1")
        uow.inbox.add("ICR-1", T0)
        assert uow.inbox.seen("ICR-1")
        uow.commit()
    with uow_factory() as uow:
        assert uow.inbox.seen("ICR-1")
        assert not uow.inbox.seen("ICR-2")


def test_a_claimed_inbox_key_is_new_once_and_a_replay_after_its_commit(uow_factory):
    with uow_factory() as uow:
        assert uow.inbox.claim("ICR-1", T0) is True
        assert uow.inbox.claim("ICR-1", T0) is False  # within the same transaction too
        uow.commit()
    with uow_factory() as uow:
        assert uow.inbox.claim("ICR-1", T0 + MINUTE) is False
        assert uow.inbox.claim("ICR-2", T0 + MINUTE) is True  # rolled back at the end of the block
    with uow_factory() as uow:
        assert uow.inbox.seen("ICR-1") and not uow.inbox.seen("ICR-2")
        assert uow.inbox.claim("ICR-2", T0 + MINUTE) is True


# ------------------------------------------------------------------------------ transactions
def test_a_block_that_fails_before_commit_leaves_nothing_behind(uow_factory, build_plant):
    line = load_plant(uow_factory, build_plant)
    with pytest.raises(RuntimeError, match="boom"), uow_factory() as uow:
        chain = uow.chains.get(line)
        chain.append([("rows[0]", a_vehicle(1), None)])
        uow.chains.save(chain)
        uow.calloffs.add(a_calloff("CO-1", [a_calloff_line("CO-1", "O0001", 1)]))
        uow.jit_calls.save([a_call(0)])
        uow.alerts.add(Alert(AlertKind.GAP, "L1", "gap", T0))
        uow.outbox.add("topic", "L1", {}, T0)
        uow.inbox.add("ICR-1", T0)
        raise RuntimeError("boom")

    with uow_factory() as uow:
        assert len(uow.chains.get(line)) == 0
        with pytest.raises(NotFound):
            uow.calloffs.get("CO-1")
        assert uow.jit_calls.list() == []
        assert uow.alerts.list(AlertFilter()) == []
        assert uow.outbox.pending() == []
        assert not uow.inbox.seen("ICR-1")


def test_work_after_the_last_commit_of_a_block_is_rolled_back(uow_factory):
    with uow_factory() as uow:
        uow.inbox.add("kept", T0)
        uow.commit()
        uow.inbox.add("dropped", T0)
    with uow_factory() as uow:
        assert uow.inbox.seen("kept")
        assert not uow.inbox.seen("dropped")


def test_stored_datetimes_come_back_as_utc_whatever_zone_they_were_given_in(sql_engine, build_plant):
    summer = timezone(timedelta(hours=2))
    at = datetime(2025, 6, 2, 9, 30, 15, 123456, tzinfo=summer)
    definition = build_plant()
    line = definition.plant.line("L1")
    with SqlUnitOfWork(sql_engine) as uow:
        uow.plants.put(definition.plant, definition.data, at)
        chain = uow.chains.get(line)
        chain.append([("rows[0]", a_vehicle(1), None)])
        chain.broadcast("O0001", at)
        uow.chains.save(chain)
        uow.alerts.add(Alert(AlertKind.GAP, "L1", "gap", at))
        uow.outbox.add("topic", "L1", {}, at)
        uow.commit()

    with SqlUnitOfWork(sql_engine) as uow:
        again = uow.chains.get(line)
        read = [
            again.get("O0001").broadcast_at,
            again.feed.last_broadcast_at,
            uow.alerts.list(AlertFilter())[0].raised_at,
            uow.outbox.pending()[0].created_at,
        ]
    for value in read:
        assert value == at
        assert value.tzinfo is UTC


def test_a_naive_datetime_is_refused(sql_engine):
    with SqlUnitOfWork(sql_engine) as uow, pytest.raises(sa.exc.StatementError, match="naive datetime"):
        uow.outbox.add("topic", "L1", {}, datetime(2025, 3, 3, 7, 0))
