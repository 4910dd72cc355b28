"""CI's schemathesis hook lets through only the refusals of schema-valid requests it names."""

import ast
import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

HOOKS = Path(__file__).resolve().parent.parent / ".ci" / "schemathesis_hooks.py"
APPLICATION_ACTION = "/api/v1/partners/admin/applications/{application_id}/{action}"


@pytest.fixture(scope="module")
def hooks():
    original_parse = ast.parse
    spec = importlib.util.spec_from_file_location("ci_schemathesis_hooks", HOOKS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        yield module
    finally:
        ast.parse = original_parse  # the hooks serialise it for schemathesis's process only


@pytest.fixture
def filter_failure(hooks):
    return hooks.filter_failure


def test_ast_parse_is_serialised_and_still_parses(hooks):
    assert ast.parse is hooks._serialised_parse
    assert isinstance(ast.parse("x = 1").body[0], ast.Assign)


def keeps(filter_failure, problem, *, code="ST202", path="/api/v1/things") -> bool:
    failure = SimpleNamespace(code=code)
    case = SimpleNamespace(operation=SimpleNamespace(method="post", path=path))
    response = SimpleNamespace(json=lambda: json.loads(json.dumps(problem)))
    return filter_failure(None, failure, case, response)


def test_a_rule_the_schema_cannot_state_is_let_through(filter_failure):
    assert not keeps(filter_failure, {"code": "clinic_not_found"})
    assert not keeps(filter_failure, {"code": "rrule_too_frequent"})
    assert not keeps(
        filter_failure,
        {"code": "validation_error", "errors": [{"field": "phone", "code": "invalid_phone"}]},
    )
    assert not keeps(
        filter_failure,
        {"code": "validation_error", "errors": [{"field": "slug", "code": "unique"}]},
    )
    assert not keeps(
        filter_failure,
        {"code": "validation_error", "errors": [{"field": "reason", "code": "required"}]},
        path=APPLICATION_ACTION,
    )


def test_any_other_refusal_still_fails_the_run(filter_failure):
    assert keeps(filter_failure, {"code": "invalid_page_size"})
    assert keeps(
        filter_failure,
        {"code": "validation_error", "errors": [{"field": "name", "code": "max_length"}]},
    )
    mixed = [{"field": "slug", "code": "unique"}, {"field": "name", "code": "blank"}]
    assert keeps(filter_failure, {"code": "validation_error", "errors": mixed})
    assert keeps(
        filter_failure,
        {"code": "validation_error", "errors": [{"field": "reason", "code": "required"}]},
    )


def test_other_checks_are_never_filtered(filter_failure):
    assert keeps(filter_failure, {"code": "clinic_not_found"}, code="ST201")


def test_a_body_that_is_not_a_problem_is_kept(filter_failure):
    failure = SimpleNamespace(code="ST202")
    case = SimpleNamespace(operation=SimpleNamespace(method="post", path="/x"))

    def broken() -> None:
        raise ValueError("not JSON")

    assert filter_failure(None, failure, case, SimpleNamespace(json=broken))
    assert keeps(filter_failure, ["a list"])
