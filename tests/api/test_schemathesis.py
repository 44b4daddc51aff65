"""Property-based tests of the whole API from its own OpenAPI document (schemathesis): no
request the schema allows makes the server fail, and every answer matches the schema."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from api_support import make_api
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES_PER_OPERATION = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]
"""What every answer must satisfy. A request the schema allows may still be refused for its
meaning (a VIN with a bad check digit, a made-up cursor): that is a documented 4xx."""


def test_no_request_the_schema_allows_fails_the_server_or_breaks_the_schema(tmp_path: Path):
    api = make_api(f"sqlite:///{tmp_path / 'api.db'}")
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    auth = {"Authorization": f"Bearer {api.tokens['admin']}"}
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
        def exercise(case):
            case.call_and_validate(headers={**(case.headers or {}), **auth}, checks=CHECKS)

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as exc:  # collect every failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
