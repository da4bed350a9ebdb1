"""Profiles on disk: one TOML file per person, and which one is at each desk.

``PROFILES/NAME.toml`` holds one profile (its name is the file's name);
``PROFILES/active.toml`` says whose profile is active at each desk.  Writes go
through a synced temporary file and a rename, keeping the previous version as
``NAME.toml~``.  A file that does not validate is reported with its line and
field and is never overwritten or deleted: the person fixes it first.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import tomli_w
from pydantic import BaseModel, ValidationError

from deskctl.atomic import write_atomic
from deskctl.errors import BadInput, ConfigError, StorageError
from deskctl.paths import ensure_dir
from deskctl.profiles.at_desk import ACTIVE_FILE, NAME_RE, RESERVED_NAMES, SUFFIX, ActiveProfiles
from deskctl.profiles.model import Profile
from deskctl.toml_lines import line_of, toml_error_line

EXAMPLE_PREFIX = "example-"
HEADER = "# A deskctl profile. Fields: 'deskctl profile schema'; heights like 72cm or 28.5in.\n"


class ProfileNotFound(BadInput):
    """No profile by that name."""


def to_toml(profile: Profile) -> str:
    """The file text for ``profile``: what differs from the defaults, name left out."""
    data = profile.model_dump(
        mode="json", exclude={"name"}, exclude_none=True, exclude_defaults=True
    )
    return HEADER + tomli_w.dumps({key: value for key, value in data.items() if value != {}})


def parse(text: str, name: str, source: str) -> Profile:
    """Validate profile ``text`` (from ``source``, for messages) as the profile ``name``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = toml_error_line(str(error))
        raise ConfigError(source, line, None, f"not valid TOML ({error})") from None
    if "name" in data:
        raise ConfigError(
            source,
            line_of(text.splitlines(), ("name",)),
            "name",
            "a profile is named by its file name; leave this out",
        )
    try:
        return Profile.model_validate({**data, "name": name})
    except ValidationError as error:
        raise _explain(error, text, source) from None


def problem_of(error: ValidationError) -> tuple[tuple[str, ...], str, str]:
    """The first problem pydantic found: its key path, the field as people write it
    (``exercises.focus[0]``) and what is wrong, in deskctl's words."""
    problem = error.errors()[0]
    where = tuple(str(part) for part in problem["loc"] if not isinstance(part, int))
    field = ".".join(
        f"[{part}]" if isinstance(part, int) else str(part) for part in problem["loc"]
    ).replace(".[", "[")
    if problem["type"] == "extra_forbidden":
        known = ", ".join(sorted(_fields_at(where[:-1])))
        return where, field, f"unknown setting (known here: {known})"
    message = problem["msg"].removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if problem["type"] in (
        "enum",
        "literal_error",
        "int_parsing",
        "less_than_equal",
        "greater_than_equal",
    ):
        message = f"{message} (got {problem['input']!r})"
    return where, field, message


def one_line(error: ValidationError) -> str:
    """The first problem as ``field: what is wrong``, for people typing values in."""
    _, field, message = problem_of(error)
    return f"{field}: {message}" if field else message


def _explain(error: ValidationError, text: str, source: str) -> ConfigError:
    """The first problem, as file, line, field and what is wrong."""
    where, field, message = problem_of(error)
    return ConfigError(source, line_of(text.splitlines(), where), field or None, message)


def _fields_at(where: tuple[str, ...]) -> list[str]:
    model: type[BaseModel] = Profile
    for part in where:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return [name for name in model.model_fields if model is not Profile or name != "name"]


@dataclass(frozen=True)
class Listed:
    """A profile file as ``list`` shows it: the profile, or why it does not load."""

    name: str
    profile: Profile | None
    problem: str = ""


class ProfileStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, name: str) -> Path:
        if not NAME_RE.match(name):
            raise BadInput(
                f"{name!r} is not a profile name: use lower-case letters, digits, - and _"
            )
        if name in RESERVED_NAMES:
            raise BadInput(f"{name!r} is reserved for deskctl's own use: choose another name")
        return self.folder / f"{name}{SUFFIX}"

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(
            path.stem
            for path in self.folder.glob(f"*{SUFFIX}")
            if path.name != ACTIVE_FILE and NAME_RE.match(path.stem)
        )

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def load(self, name: str) -> Profile:
        path = self.path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            known = ", ".join(self.names()) or "none yet"
            raise ProfileNotFound(
                f"no profile {name!r} (profiles: {known}); 'deskctl profile new {name}' makes one"
            ) from None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(str(path), None, None, f"cannot read it: {error}") from None
        return parse(text, name, str(path))

    def listing(self) -> Iterator[Listed]:
        for name in self.names():
            try:
                yield Listed(name, self.load(name))
            except ConfigError as error:
                yield Listed(name, None, str(error))

    def save(self, profile: Profile, *, new: bool = False) -> Path:
        """Write ``profile``; ``new`` refuses to replace an existing one.  A file that does
        not validate is never replaced: loading it first reports what is wrong."""
        path = self.path(profile.name)
        if path.exists():
            if new:
                raise BadInput(
                    f"a profile {profile.name!r} exists already ({path}); change it with "
                    f"'deskctl profile set' or 'deskctl profile edit', or delete it first"
                )
            self.load(profile.name)
        ensure_dir(self.folder)
        write_atomic(path, to_toml(profile).encode(), keep_backup=True)
        return path

    def delete(self, name: str) -> Path:
        """Remove a profile, keeping it as ``NAME.toml~``; returns where it went."""
        self.load(name)  # a broken file is the person's to fix, not ours to remove
        path = self.path(name)
        backup = path.with_name(path.name + "~")
        try:
            path.replace(backup)
        except OSError as error:
            raise StorageError(f"cannot remove {path}: {error.strerror}") from None
        active = self.active()
        if name in active.values():
            remaining = {desk: who for desk, who in active.items() if who != name}
            ActiveProfiles(self.folder).write(remaining)
        return backup

    # -- who is at which desk -----------------------------------------------------------------

    def active(self) -> dict[str, str]:
        """Desk key -> profile name."""
        return ActiveProfiles(self.folder).read()

    def active_for(self, desk: str) -> str | None:
        return ActiveProfiles(self.folder).at(desk)

    def use(self, desk: str, name: str | None) -> None:
        """Make ``name`` the active profile at ``desk`` (None: nobody's)."""
        if name is not None:
            self.load(name)
        active = self.active()
        if name is None:
            active.pop(desk, None)
        else:
            active[desk] = name
        ActiveProfiles(self.folder).write(active)


def examples() -> dict[str, Profile]:
    """The example profiles that come with deskctl, by name (without ``example-``)."""
    found = {}
    for entry in resources.files("deskctl.profiles").iterdir():
        if entry.name.startswith(EXAMPLE_PREFIX) and entry.name.endswith(SUFFIX):
            name = entry.name.removeprefix(EXAMPLE_PREFIX).removesuffix(SUFFIX)
            found[name] = parse(entry.read_text(encoding="utf-8"), name, entry.name)
    return dict(sorted(found.items()))
