"""The registry: duplicate names and unknown names are errors that say what is known."""

import pytest

from m3dreid.registry import Registry


def test_register_build_and_list():
    table = Registry("widget")

    @table.register("b")
    def build_b(*, size: int):
        return ("b", size)

    @table.register("a")
    def build_a():
        return "a"

    assert table.names() == ["a", "b"]
    assert table.build("b", size=3) == ("b", 3)
    assert "a" in table and "c" not in table


def test_duplicate_and_unknown_names():
    table = Registry("widget")
    table.register("a")(lambda: 1)
    with pytest.raises(KeyError, match="registered twice"):
        table.register("a")(lambda: 2)
    with pytest.raises(KeyError, match="unknown widget 'z'; known widgets: a"):
        table.get("z")
