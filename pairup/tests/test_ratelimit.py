"""The one fixed-window counter behind every limit."""

from unittest import mock

from pairup.ratelimit import Window


def test_hits_within_the_limit_pass_and_the_next_waits_for_the_window_end():
    window = Window("test:hits", 2, 10)
    with mock.patch("pairup.ratelimit.time.time", return_value=1003.5):
        assert window.hit() is None
        assert window.retry_after() is None  # counts nothing
        assert window.hit() is None
        assert window.retry_after() == 7
        assert window.hit() == 7  # the window is 1000-1010
    with mock.patch("pairup.ratelimit.time.time", return_value=1010.1):
        assert window.hit() is None  # a new window


def test_a_hit_taken_back_is_not_counted():
    window = Window("test:unhit", 1, 60)
    with mock.patch("pairup.ratelimit.time.time", return_value=600.0):
        assert window.hit() is None
        window.unhit()
        assert window.hit() is None
        assert window.hit() == 60


def test_counters_are_separate_by_name():
    with mock.patch("pairup.ratelimit.time.time", return_value=5.0):
        assert Window("test:a", 1, 60).hit() is None
        assert Window("test:b", 1, 60).hit() is None
