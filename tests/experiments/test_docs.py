"""Pieces of the generated results page that need no runs."""

from m3dreid.experiments.docs import _seeds_text, budget_text


def test_seeds_text_names_tables_only_when_their_seeds_differ():
    same = {"table1": {"seeds": [1, 0]}, "table3": {"seeds": [0, 1]}}
    assert _seeds_text(same) == "seeds [0, 1]"
    differ = {"table1": {"seeds": [0, 1, 2]}, "table3": {"seeds": [4, 3, 2, 1, 0]}}
    assert _seeds_text(differ) == "seeds table1 [0, 1, 2], table3 [0, 1, 2, 3, 4]"


def test_budget_text_gives_each_tables_steps_and_recipes():
    from m3dreid.experiments import TABLES, default_experiments_dir, load_config_set

    def text(table, size):
        return budget_text(TABLES[table], load_config_set(default_experiments_dir() / f"{table}.yaml"), size)

    assert text("table1", "small") == "Training: every row 1,000 steps (experiments/recipes/synthetic_small.yaml)."
    assert text("table3", "small") == (
        "Training: 2D rows 1,000 steps (experiments/recipes/synthetic_small.yaml), "
        "temporal rows 2,000 steps (experiments/recipes/synthetic_small_long.yaml)."
    )
    assert text("table3", "tiny").startswith("Training: every row ")
