"""Tests write only under temporary or ignored folders: the session as a whole leaves the checkout as it found it."""
import pytest

from conftest import CHECKOUT_AT_START, checkout_state


def test_the_test_session_left_the_checkout_clean():
    if CHECKOUT_AT_START is None:
        pytest.skip("not a git checkout: nothing to compare")
    assert checkout_state() == CHECKOUT_AT_START, "the tests changed files in the checkout (see `git status`)"
