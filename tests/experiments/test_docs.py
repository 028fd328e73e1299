"""Pieces of the generated results page that need no runs."""

from m3dreid.experiments.docs import _seeds_text


def test_seeds_text_names_tables_only_when_their_seeds_differ():
    same = {"table1": {"seeds": [1, 0]}, "table3": {"seeds": [0, 1]}}
    assert _seeds_text(same) == "seeds [0, 1]"
    differ = {"table1": {"seeds": [0, 1, 2]}, "table3": {"seeds": [4, 3, 2, 1, 0]}}
    assert _seeds_text(differ) == "seeds table1 [0, 1, 2], table3 [0, 1, 2, 3, 4]"
