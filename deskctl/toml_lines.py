"""Which line of a TOML file sets a key: what error messages point at."""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
_ASSIGNMENT = re.compile(r'^\s*"?([^"=\s]+)"?\s*=')


def line_of(lines: list[str], where: tuple[str, ...]) -> int | None:
    """The 1-based line that sets the key path ``where`` (a table header for a table),
    found by reading the file as TOML does; None if the file does not set it."""
    if not where:
        return None
    *table, key = where
    current: list[str] = []
    for number, line in enumerate(lines, start=1):
        found = _HEADER.match(line)
        if found:
            current = [part.strip().strip('"') for part in found.group(1).split(".")]
            if current == [*table, key]:
                return number
            continue
        assignment = _ASSIGNMENT.match(line)
        if assignment is None:
            continue
        name = assignment.group(1)
        if current == table and name == key:
            return number
        if current == table[: len(current)] and name == ".".join(where[len(current) :]):
            return number  # a dotted key: schedule.sit_minutes = 20
    return None


def toml_error_line(message: str) -> int | None:
    """The line a tomllib error message names."""
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None
