"""Property-based: generated requests to every documented API operation never get a 5xx or an
answer that breaks the spec (status, content type, body schema)."""
import base64
import re

import schemathesis
from schemathesis.checks import positive_data_acceptance
from hypothesis import HealthCheck, given, settings

import models
from tests.records import log_row

# /openapi.yaml is left out: its contract schema is `string`, but the YAML parses to an object.
CHECKED = re.compile(r"^/(api|health|livez|openapi\.json)")


AUTH = {"Authorization": "Basic " + base64.b64encode(b"me:pw").decode()}


def test_generated_requests_never_break_the_spec(make_app):
    app = make_app(dashboard_password="pw")
    models.save_records([log_row("seed0001", organization_id="org-1", timestamp_ms=1_795_000_000_000)], [])
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not CHECKED.match(operation.path):
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            # Schema-valid but meaningless values (a random tz, an unknown org) get a 400 by design.
            case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance])

        check()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) >= 14, checked  # every dashboard, settings and health operation
