"""The command line as a table: each command's name, handler, help and arguments.

argparse takes about half a millisecond to make each parser and deskctl has over
thirty, so a start builds only the parsers on the way to the command it runs; help
and mistakes get them all, to list the choices.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from deskctl.context import Context

Handler = Callable[["Context"], Coroutine[Any, Any, int]]
# Options before a command that take a value: the word after them is not the command.
VALUE_OPTIONS = ("--desk", "--unit", "--profile")


class Arg(NamedTuple):
    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    """An argument, as for ``ArgumentParser.add_argument``."""
    return Arg(flags, options)


class Spec(NamedTuple):
    name: str
    run: Handler
    help: str
    args: tuple[Arg, ...] = ()
    actions: tuple[Spec, ...] = ()
    """Sub-commands (``profile new``, ...); ``run`` is the command without one."""
    where: str = ""
    """``module:NAME`` of the whole spec (a Spec, or a tuple of them), when it lives in a
    module that loads only for the command: a start imports just the command it runs."""

    def loaded(self) -> Spec:
        if not self.where:
            return self
        module, _, name = self.where.partition(":")
        found: Spec | tuple[Spec, ...] = getattr(importlib.import_module(module), name)
        specs = (found,) if isinstance(found, Spec) else found
        return next(spec for spec in specs if spec.name == self.name)


def command(name: str, run: Handler, help: str, *args: Arg, actions: Sequence[Spec] = ()) -> Spec:
    return Spec(name, run, help, args, tuple(actions))


def elsewhere(name: str, help: str, where: str) -> Spec:
    """A command whose spec and handler are in another module (see ``Spec.where``)."""
    return Spec(name, _not_loaded, help, where=where)


async def _not_loaded(ctx: Context) -> int:
    raise AssertionError("a command is run from its loaded spec")


def add_commands(
    commands: argparse._SubParsersAction[Any],
    specs: Sequence[Spec],
    words: Sequence[str] | None,
    common: argparse.ArgumentParser,
) -> None:
    """Adds the parsers of ``specs`` that ``words`` (the command line after the parent
    command) reaches: the one it names, or none when it names none; with a word that is
    no command, or ``words`` None, all of them."""
    chosen, rest = specs, None
    if words is not None:
        found = next(_positionals(words), None)
        if found is None:
            chosen = ()
        else:
            at, word = found
            named = [spec for spec in specs if spec.name == word]
            if named:
                chosen, rest = named, words[at + 1 :]
    for spec in (each.loaded() for each in chosen):
        sub = commands.add_parser(
            spec.name, help=spec.help, description=spec.help, parents=[common]
        )
        sub.set_defaults(run=spec.run)
        for argument in spec.args:
            sub.add_argument(*argument.flags, **argument.options)
        if spec.actions:
            actions = sub.add_subparsers(dest="action", metavar="ACTION")
            add_commands(actions, spec.actions, rest, common)


def wants_everything(words: Iterable[str]) -> bool:
    """Help lists every command: ``-h``, ``--help`` (or an abbreviation of it)."""
    return any(word == "-h" or (len(word) > 2 and "--help".startswith(word)) for word in words)


def _positionals(words: Sequence[str]) -> Iterator[tuple[int, str]]:
    """The words that are neither options nor an option's value, with where they are."""
    takes_value = False
    for at, word in enumerate(words):
        if takes_value:
            takes_value = False
        elif word.startswith("-") and len(word) > 1:
            # argparse takes any unambiguous prefix of an option: --prof alice.
            takes_value = (
                len(word) > 2
                and "=" not in word
                and any(option.startswith(word) for option in VALUE_OPTIONS)
            )
        else:
            yield at, word
