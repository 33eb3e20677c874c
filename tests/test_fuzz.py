"""Schemathesis over the live OpenAPI, on both engines: generated requests, valid and not, to
every operation must never get a 5xx, and every answer must be one the schema declares (its
status, content type, headers and shape).

Driven through schemathesis' Python API (one test per operation, a Hypothesis ``@given`` per
generation mode) rather than its pytest plugin, which does not run under pytest 9. A fixed seed
(``derandomize``) keeps CI repeatable; the examples per operation keep the suite's time.
"""

import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orderly.app import create_app

# Per operation and generation mode; ORDERLY_FUZZ_EXAMPLES raises it for a long run by hand.
EXAMPLES_PER_OPERATION = int(os.environ.get("ORDERLY_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# The schema does not depend on the database: read once, from the app itself.
SCHEMA = schemathesis.openapi.from_dict(create_app("sqlite://").openapi())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]  # type: ignore[union-attr]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[o.label for o in OPERATIONS])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_breaks_the_api(
    operation: schemathesis.APIOperation,  # type: ignore[type-arg]
    mode: GenerationMode,
    api: httpx.Client,
    base_url: str,
) -> None:
    headers = dict(api.headers)
    sent = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def call(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
        nonlocal sent
        sent += 1
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

    try:
        call()
    except Unsatisfiable:
        # Nothing about this operation can be invalid (no parameters, or free-form text
        # only): there is no negative request to make.
        assert mode is GenerationMode.NEGATIVE
    print(f"{operation.label} {mode.value}: {sent} requests")  # shown with -s
