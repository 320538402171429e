"""The data behind the live curves, without Qt (:mod:`workbench.engine.curves`)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workbench.engine.curves import (
    Series,
    Smoother,
    smoothing_beta,
    x_range_end,
    y_range_to_fit,
)


def test_series_grow_truncate_and_hide_non_finite_values():
    s = Series(capacity=2)
    s.extend(np.arange(5, dtype=np.float64), np.array([1.0, np.inf, 3.0, np.nan, 5.0]))
    x, y = s.view()
    assert len(s) == 5 and x.tolist() == [0, 1, 2, 3, 4]
    assert np.isnan(y[1]) and np.isnan(y[3]) and y[4] == 5.0
    assert s.last_x() == 4.0 and s.dirty
    s.truncate(2.0)
    assert s.view()[0].tolist() == [0, 1, 2]
    s.clear()
    assert len(s) == 0 and s.last_x() is None


def test_a_view_is_a_copy():
    s = Series()
    s.append(1.0, 2.0)
    s.append(2.0, None)
    x, y = s.view()
    y[0] = 99.0
    assert s.view()[1][0] == 2.0 and math.isnan(s.view()[1][1])


def test_a_step_series_keeps_points_only_where_the_value_changes():
    lr = Series()
    lr.append_step(0.1, 1e-3)
    lr.append_step(0.2, 1e-3)
    lr.append_step(0.3, 1e-3)
    assert lr.view()[0].tolist() == [0.1]
    lr.append_step(1.0, 5e-4)  # a step: the old value up to x, then the new one
    x, y = lr.view()
    assert x.tolist() == [0.1, 1.0, 1.0] and y.tolist() == [1e-3, 1e-3, 5e-4]


def test_smoothing_is_a_bias_corrected_moving_average_with_gaps():
    smoother = Smoother(beta=0.5)
    out = smoother.smooth(np.array([4.0, np.nan, 2.0]))
    assert out[0] == 4.0  # bias-corrected: the first value is itself
    assert math.isnan(out[1])  # a gap, and the average is left as it was
    assert out[2] == pytest.approx((0.25 * 4.0 + 0.5 * 2.0) / 0.75)
    # fed in bursts, the same as fed at once
    again = Smoother(beta=0.5)
    burst = np.concatenate([again.smooth(np.array([4.0])), again.smooth(np.array([np.nan, 2.0]))])
    np.testing.assert_array_equal(burst, out)


def test_smoothing_restarts_from_a_kept_value():
    smoother = Smoother(beta=0.9)
    smoother.restart_from(3.0)
    assert smoother.smooth(np.array([3.0]))[0] == pytest.approx(3.0)
    smoother.reset()
    assert smoother.smooth(np.array([7.0]))[0] == 7.0


@pytest.mark.parametrize(("batches", "window"), [(10, 10), (100, 20), (500, 100), (5000, 200)])
def test_smoothing_spans_a_fifth_of_an_epoch_within_limits(batches, window):
    assert smoothing_beta(batches) == pytest.approx(1 - 1 / window)


def test_the_epoch_axis_grows_in_steps_up_to_the_last_epoch():
    assert x_range_end(0.0, 0.0) == 1.0  # an empty plot shows epoch 0 to 1
    assert x_range_end(0.4, 0.0, total=10) == 1.0
    assert x_range_end(0.9, 1.0, total=10) == 1.0  # inside: unchanged
    assert x_range_end(1.2, 1.0, total=10) == 2.0  # x1.5, rounded up
    assert x_range_end(6.0, 2.0, total=10) == 9.0
    assert x_range_end(9.5, 9.0, total=10) == 10.0  # never past the run's end...
    assert x_range_end(12.5, 10.0, total=10) == 13.0  # ...unless the data is (Train more)
    assert x_range_end(3.0, 2.0) == 5.0  # no total: only the steps


def test_the_y_range_moves_only_when_the_data_leaves_it_or_is_lost_in_it():
    first = y_range_to_fit([np.array([1.0, 2.0])], None)
    assert first == pytest.approx((1.0 - 0.08, 2.0 + 0.08))
    assert y_range_to_fit([np.array([1.2, 1.8])], first) is None  # still fits
    assert y_range_to_fit([np.array([1.0, 3.0])], first) is not None  # left it
    lost = y_range_to_fit([np.array([1.5, 1.6])], (0.0, 10.0))  # a tenth of the range
    assert lost == pytest.approx((1.5 - 0.008, 1.6 + 0.008))
    # NaN is ignored; nothing finite leaves the range alone
    assert y_range_to_fit([np.array([np.nan, 1.0]), np.array([2.0])], None) == first
    assert y_range_to_fit([np.array([np.nan])], None) is None
    assert y_range_to_fit([], None) is None
    flat = y_range_to_fit([np.array([5.0, 5.0])], None)
    assert flat is not None and flat[0] < 5.0 < flat[1]  # a flat curve still gets a range
