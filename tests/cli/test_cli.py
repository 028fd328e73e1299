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


def test_a_user_error_is_one_line_exit_2_and_the_traceback_only_with_v(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  lr: fast\n")
    assert cli.main(["show-config", "-c", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("m3dreid show-config: ") and "bad.yaml" in err and "train.lr" in err
    assert cli.main(["-v", "show-config", "-c", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("m3dreid show-config: ")


def test_a_programming_error_keeps_its_traceback(monkeypatch):
    import m3dreid.cli.show_config as show_config

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(show_config, "run", broken)
    with pytest.raises(ZeroDivisionError):
        cli.main(["show-config"])


def test_a_file_system_error_names_the_file_and_a_full_disk_the_device(monkeypatch, capsys):
    import errno

    import m3dreid.cli.show_config as show_config

    def no_space(args):
        raise OSError(errno.ENOSPC, "No space left on device", "/somewhere/out.txt")

    monkeypatch.setattr(show_config, "run", no_space)
    assert cli.main(["show-config"]) == 2
    assert "no space left on / while writing /somewhere/out.txt" in capsys.readouterr().err

    def denied(args):
        raise PermissionError(errno.EACCES, "Permission denied", "/root/x.yaml")

    monkeypatch.setattr(show_config, "run", denied)
    assert cli.main(["show-config"]) == 2
    assert capsys.readouterr().err == "m3dreid show-config: /root/x.yaml: Permission denied\n"
