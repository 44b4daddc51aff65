"""The broadcast feed's messages as commands, and how workers split the lines."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from jisflow.adapters.broker.feed import broadcast_subject, durable_name, share
from jisflow.domain.errors import ValidationError
from jisflow.services import commands as c
from jisflow.services.feed import broadcast_command


def test_a_feed_message_becomes_a_broadcast_command_carrying_its_message_id():
    command = broadcast_command("TF1", "mes-7", {"order_id": "ORD7", "at": "2026-12-07T06:00:00+01:00", "rolling_no": 7})
    assert command == c.BroadcastVehicle("TF1", "ORD7", at=datetime(2026, 12, 7, 5, 0, tzinfo=timezone.utc), rolling_no=7, message_id="mes-7")


def test_a_malformed_feed_message_names_every_problem_with_its_message_id_and_line():
    with pytest.raises(ValidationError) as caught:
        broadcast_command("TF1", "mes-8", {"at": "2026-12-07T06:00:00", "rolling_no": -1, "colour": "RED"})
    assert caught.value.message == "broadcast message mes-8 for line TF1 rejected: 4 problem(s), nothing applied"
    assert [p.where.rsplit(".", 1)[1] for p in caught.value.problems] == ["order_id", "at", "rolling_no", "colour"]


def test_workers_split_the_sorted_lines_in_turn_so_each_line_has_exactly_one_owner():
    lines = ["TF3", "TF1", "TF4", "TF2", "TF5"]
    split = [share(lines, i, 2) for i in range(2)]
    assert split == [["TF1", "TF3", "TF5"], ["TF2", "TF4"]]
    assert share(lines, 0, 1) == sorted(lines)


def test_a_worker_index_outside_the_number_of_workers_is_refused():
    with pytest.raises(ValueError, match="worker index 2 is not one of 2 worker"):
        share(["TF1"], 2, 2)


def test_a_line_has_one_subject_and_one_durable_consumer_name_per_group():
    assert broadcast_subject("PLANT 1", "TF.1") == "jisflow.PLANT_1.TF_1.broadcast"
    assert durable_name("P1", "TF1") == "jisflow-broadcast-P1-TF1"
    assert durable_name("P1", "TF1", group="blue") != durable_name("P1", "TF1")
