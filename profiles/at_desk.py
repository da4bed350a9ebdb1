"""Who is at which desk: ``PROFILES/active.toml``, read without loading any profile.

Kept apart from the profile store because every command asks it (the active
profile's unit shapes all output), and answering must not cost the import of
the validation machinery.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from deskctl.atomic import write_atomic
from deskctl.errors import ConfigError
from deskctl.paths import ensure_dir
from deskctl.toml_lines import line_of, toml_error_line
from deskctl.units import Unit

ACTIVE_FILE = "active.toml"
SUFFIX = ".toml"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
RESERVED_NAMES = frozenset({ACTIVE_FILE.removesuffix(".toml")})
"""Names of the store's own files, which no profile may take."""


class ActiveProfiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / ACTIVE_FILE

    def read(self) -> dict[str, str]:
        """Desk key -> profile name."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(str(self.path), None, None, f"cannot read it: {error}") from None
        where = str(self.path)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            line = toml_error_line(str(error))
            raise ConfigError(where, line, None, f"not valid TOML ({error})") from None
        table = data.get("desks", {})
        if set(data) - {"desks"} or not isinstance(table, dict):
            raise ConfigError(where, None, None, 'expected one table: [desks] "URL" = "name"')
        for desk, name in table.items():
            if not isinstance(name, str) or not NAME_RE.match(name):
                line = line_of(text.splitlines(), ("desks", desk))
                raise ConfigError(where, line, f"desks.{desk}", f"{name!r} is no profile name")
        return dict(table)

    def at(self, desk: str) -> str | None:
        return self.read().get(desk) if self.folder.is_dir() else None

    def write(self, active: dict[str, str]) -> None:
        import tomli_w

        ensure_dir(self.folder)
        text = "# Whose profile is active at each desk: 'deskctl profile use NAME'.\n"
        text += tomli_w.dumps({"desks": dict(sorted(active.items()))})
        write_atomic(self.path, text.encode())


def preferred_unit(folder: Path, name: str) -> Unit | None:
    """The unit profile ``name`` asks for, read straight from its file; None when it sets
    none or the file has problems (the commands that use the profile report those)."""
    try:
        data = tomllib.loads((folder / f"{name}{SUFFIX}").read_text(encoding="utf-8"))
        return Unit(data["unit"])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, ValueError, TypeError):
        return None
