"""The assurance levels in order: the only comparison every level decision goes through."""

from __future__ import annotations

from idp.core.levels import LEVELS, LOA1, LOA2, at_least, highest, lowest, rank, up_to


def test_the_levels_are_ordered_lowest_first():
    assert LEVELS == (LOA1, LOA2) and rank(LOA1) < rank(LOA2)


def test_a_higher_level_satisfies_a_lower_one_and_not_the_reverse():
    assert at_least(LOA2, LOA1) and at_least(LOA1, LOA1) and not at_least(LOA1, LOA2)


def test_an_unknown_level_satisfies_nothing():
    assert not at_least("LoA9", LOA1) and rank("") == 0


def test_lowest_asked_defaults_to_loa1_and_highest_picks_the_floor():
    assert lowest(()) == LOA1 and lowest((LOA2, LOA1)) == LOA1 and highest(LOA1, LOA2) == LOA2


def test_up_to_lists_every_level_reached():
    assert up_to(LOA1) == [LOA1] and up_to(LOA2) == [LOA1, LOA2]
