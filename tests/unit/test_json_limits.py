"""JSON from outside is read without recursion trouble: a thousand-deep nesting is a refusal, not a 500."""

from __future__ import annotations

import pytest

from idp.core import client_spec
from idp.crypto import assertions
from idp.errors import InvalidRequest, ValidationError
from idp.http.json_body import json_depth, parse_json

DEEP = "[" * 5000 + "]" * 5000


def test_depth_counts_arrays_and_objects_but_not_brackets_in_strings():
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{{"}], "c": "\\"[["}') == 3


def test_parse_json_refuses_nesting_past_the_policy():
    with pytest.raises(InvalidRequest):
        parse_json(b'{"a":' * 33 + b"1" + b"}" * 33)


def test_parse_json_refuses_nan_and_infinity():
    with pytest.raises(InvalidRequest):
        parse_json(b'{"exp": Infinity}')


def test_a_typed_jwks_nested_a_thousand_deep_is_a_validation_error():
    with pytest.raises(ValidationError):
        client_spec.parse_jwks(DEEP)


def test_a_fetched_jwks_nested_a_thousand_deep_is_a_bad_token():
    with pytest.raises(assertions.BadToken):
        assertions.parse_jwks(DEEP)
