"""Statement parameters: a part of a statement cannot overwrite another part's value."""

import pytest

from common.sql import Params


def test_a_parameter_given_twice_fails_instead_of_overwriting_the_first():
    params = Params()
    placeholder = params.add("now", "2026-03-02T12:00:00Z")

    with pytest.raises(ValueError, match="'now'"):
        params.add("now", "1999-01-01T00:00:00Z")
    assert (placeholder, params) == ("%(now)s", {"now": "2026-03-02T12:00:00Z"})
