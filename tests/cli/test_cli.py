"""The CLI lists its subcommands, and commands that do not exist yet say so and fail."""

import pytest

from m3dreid import cli


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_no_command_prints_help_and_fails(capsys):
    assert cli.main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_show_config_applies_overrides(capsys):
    assert cli.main(["show-config", "--set", "train.lr=0.25", "--set", "data.seq_len=8"]) == 0
    out = capsys.readouterr().out
    assert "lr: 0.25" in out and "seq_len: 8" in out
