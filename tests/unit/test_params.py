"""The one reader of request parameters: one value or a refusal, never a guess between two."""

from __future__ import annotations

import pytest

from idp.core.params import Params
from idp.errors import InvalidRequest
from idp.http.forms import parse_params


def test_a_single_value_is_read_and_an_absent_one_is_none():
    params = Params({"scope": ["openid"]})

    assert params.one("scope") == "openid" and params.one("state") is None


def test_a_repeated_parameter_is_refused_not_resolved_to_the_first_or_last():
    params = parse_params("scope=openid&scope=profile")

    with pytest.raises(InvalidRequest) as refused:
        params.one("scope")

    assert refused.value.description == "scope must not be repeated"


def test_a_missing_required_parameter_is_named():
    with pytest.raises(InvalidRequest) as refused:
        Params().one("grant_type", required=True)

    assert refused.value.description == "grant_type is required"


def test_every_value_of_a_parameter_that_may_repeat_is_kept_in_order():
    params = parse_params("redirect_uris=https://a.example/cb&redirect_uris=https://b.example/cb")

    assert params.all("redirect_uris") == ["https://a.example/cb", "https://b.example/cb"]
    assert params.all("missing") == [] and "redirect_uris" in params and len(params) == 1


def test_plain_mappings_become_params_and_params_are_not_copied():
    params = Params({"a": ["1"], "empty": []})

    assert Params.of(params) is params and "empty" not in params
    assert Params.of({"a": ["1"]}).one("a") == "1"
