"""The suite's own comparison helpers (helpers.py): they must not accept NaN == NaN."""

import numpy as np
import pytest

from helpers import assert_close, assert_same


@pytest.mark.parametrize("helper", [assert_close, assert_same])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_on_both_sides_fails(helper, bad):
    a = np.array([1.0, bad, 3.0])
    with pytest.raises(AssertionError, match="non-finite"):
        helper(a, a.copy())
    with pytest.raises(AssertionError):
        helper([np.ones(3), a], [np.ones(3), a.copy()])      # a list of arrays, as states are


@pytest.mark.parametrize("helper", [assert_close, assert_same])
def test_finite_values_pass(helper):
    helper(np.float32([1.5, -2.0]), [1.5, -2.0])
    helper(np.array([1, 2]), [1, 2])
    helper(np.array([True, False]), [True, False])
    helper(2.0, 2.0)


def test_assert_close_keeps_its_tolerances():
    assert_close(1.0, 1.0 + 1e-8)                       # rtol 1e-7 by default, as assert_allclose
    with pytest.raises(AssertionError):
        assert_close(1.0, 1.0 + 1e-6)
    assert_close(0.0, 1e-6, atol=1e-5)
    with pytest.raises(AssertionError):
        assert_close(np.zeros(2), [0.0, 1e-3], atol=1e-5)
