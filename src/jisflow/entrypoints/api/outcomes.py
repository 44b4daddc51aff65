"""A command's outcome as the JSON body the API answers with."""

from __future__ import annotations

from typing import Any

from jisflow.entrypoints.api.schemas import AlertBrief, ChangeOut, OutcomeOut
from jisflow.services.handlers import Outcome


def outcome_body(outcome: Outcome) -> dict[str, Any]:
    change = outcome.change
    return OutcomeOut(
        applied=outcome.applied,
        duplicate=outcome.duplicate,
        change=None if change is None else ChangeOut(
            kind=change.kind.value, order_id=change.order_id, old_seq_no=change.old_seq_no, new_seq_no=change.new_seq_no,
            in_frozen_zone=change.in_frozen_zone, overridden=change.overridden, renumbered=len(change.renumbered),
        ),
        alerts=[AlertBrief(kind=a.kind, message=a.message) for a in outcome.alerts],
        calloffs=list(outcome.calloffs),
        lines_issued=outcome.lines_issued,
        lines_changed=outcome.lines_changed,
        details=outcome.details,
    ).model_dump(mode="json")
