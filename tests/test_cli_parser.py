"""The command line's parser: built only as far as the command it runs, read the same way."""

from __future__ import annotations

import argparse

import pytest

from deskctl.cli import COMMANDS, build_parser

SAMPLES = [
    [],
    ["--desk", "sim://x"],
    ["--desk", "status"],  # a desk named like a command: still the interface
    ["--de", "status", "stand"],  # an abbreviated option takes its value too
    ["--prof", "alice", "sit"],
    ["--unit=in", "move", "110cm"],
    ["move", " -5cm"],
    ["--json", "status"],
    ["status", "--json", "--desk", "sim://y"],
    ["up", "--hold", "2"],
    ["down", "3cm"],
    ["preset", "2", "--save"],
    ["emulate", "loctek", "--tcp", "0"],
    ["run", "--auto", "--no-notify"],
    ["stats", "--week"],
    ["simulate", "--days", "3", "--seed", "7"],
    ["serve", "-v"],
    ["scan", "--timeout", "1"],
    ["profile"],
    ["profile", "--json", "list"],
    ["--json", "profile", "show", "alice"],
    ["profile", "new", "bob", "--sit", "72cm", "--use"],
    ["profile", "set", "bob", "stand=110cm", "schedule.sit_minutes=25"],
    ["profile", "capture", "stand"],
    *([spec.name] for spec in COMMANDS),
]


def read(parser: argparse.ArgumentParser, words: list[str]) -> object:
    try:
        return vars(parser.parse_args(words))
    except SystemExit as exit:  # a command without its argument (move, emulate)
        return exit.code


def subcommands(parser: argparse.ArgumentParser) -> set[str]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(actions[0].choices)


@pytest.mark.parametrize("words", SAMPLES, ids=" ".join)
def test_the_parser_for_a_command_reads_it_like_the_whole_parser(words: list[str]) -> None:
    assert read(build_parser(words), words) == read(build_parser(), words)


def test_only_the_command_being_run_is_built() -> None:
    assert subcommands(build_parser(["--desk", "status", "stand", "--json"])) == {"stand"}
    assert subcommands(build_parser(["--desk", "sim://x"])) == set()
    assert len(subcommands(build_parser())) == len(COMMANDS) > 15


@pytest.mark.parametrize("words", [["bogus"], ["profile", "bogus"], ["move"]])
def test_mistakes_read_as_with_the_whole_parser(
    words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as partial:
        build_parser(words).parse_args(words)
    said = capsys.readouterr().err
    with pytest.raises(SystemExit) as whole:
        build_parser().parse_args(words)
    assert partial.value.code == whole.value.code == 2
    assert said == capsys.readouterr().err
    assert said.count("\n") == 1


@pytest.mark.parametrize(
    ("words", "listed"),
    [
        (["-h"], "calibrate"),
        (["--desk", "status", "--help"], "calibrate"),
        (["profile", "--he"], "recommend"),
    ],
)
def test_help_lists_everything(
    words: list[str], listed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser(words).parse_args(words)
    assert listed in capsys.readouterr().out
