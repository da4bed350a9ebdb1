"""``deskctl profile ...``: the people who use a desk, and their heights.

Commands that need the desk (capture, presets, recommend against its limits)
open it; the others only touch the profile files.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskctl.cli_spec import arg, command
from deskctl.cli_suggest import profile_suggest
from deskctl.errors import BadInput, ConfigError, InvalidHeight, Unsupported
from deskctl.units import BODY_HEIGHTS_MM, DESK_HEIGHTS_MM, Unit, parse_user_height

if TYPE_CHECKING:
    from pydantic import ValidationError

    from deskctl.context import Context
    from deskctl.profiles.model import Profile

LIST_FIELDS = {"desks", "exercises.focus", "exercises.skip", "calendars"}
HEIGHT_FIELDS = {"sit", "stand", "body_height"}


def _typed_height(ctx: Context, text: str | None, field: str) -> str | None:
    """A height typed on the command line, where a bare number is in the person's unit,
    as the profile file writes it (in millimetres, which the file reads unambiguously)."""
    if text is None:
        return None
    return f"{_height_mm(ctx, text, field):g}mm"


def _height_mm(ctx: Context, text: str, field: str) -> float:
    body = field == "body_height"
    try:
        mm = parse_user_height(
            text,
            ctx.unit,
            plausible_mm=BODY_HEIGHTS_MM if body else DESK_HEIGHTS_MM,
            what="body height" if body else "desk height",
        )
    except InvalidHeight as error:
        raise BadInput(f"{field}: {error}") from None
    return mm


def _allowance(ctx: Context, text: str | None, default_mm: float) -> float:
    """Shoes or the keyboard's height: a small length, a bare number in the person's unit."""
    if text is None:
        return default_mm
    return parse_user_height(text, ctx.unit, plausible_mm=None)


def _name(ctx: Context) -> str:
    """The profile a command is about: its NAME argument, else the active one."""
    name: str | None = getattr(ctx.args, "name", None) or ctx.profile_name()
    if name is None:
        raise BadInput(
            f"no profile is active at {ctx.entry.url}: name one, or choose with "
            "'deskctl profile use NAME'"
        )
    return name


def _summary(ctx: Context, profile: Profile) -> str:
    from deskctl.profiles.recommend import preferred

    sit, stand = preferred(profile)
    mark = {True: " (from body height)", False: ""}
    return (
        f"sit {ctx.height(sit)}{mark[profile.sit is None]}, "
        f"stand {ctx.height(stand)}{mark[profile.stand is None]}"
    )


async def profile_list(ctx: Context) -> int:
    active = ctx.profile_name()
    rows, data = [], []
    for listed in ctx.profiles.listing():
        mark = "*" if listed.name == active else " "
        if listed.profile is None:
            rows.append(f"{mark} {listed.name:<16} broken: {listed.problem}")
        else:
            rows.append(
                f"{mark} {listed.name:<16} {listed.profile.title:<20} "
                f"{_summary(ctx, listed.profile)}"
            )
        data.append(
            {
                "name": listed.name,
                "active": listed.name == active,
                "problem": listed.problem or None,
            }
        )
    empty = "no profiles yet: 'deskctl profile new NAME --body-height 175cm' makes one"
    ctx.emit("\n".join(rows) or empty, {"profiles": data, "active": active})
    return 0


async def profile_show(ctx: Context) -> int:
    from deskctl.profiles.recommend import preferred
    from deskctl.profiles.store import to_toml

    name = _name(ctx)
    profile = ctx.profiles.load(name)
    text = f"# {ctx.profiles.path(name)}\n{to_toml(profile)}"
    sit, stand = preferred(profile)
    # The heights in use, recommended from body height where the file gives none.
    heights = {"sit_mm": sit, "stand_mm": stand, "sit": ctx.height(sit), "stand": ctx.height(stand)}
    ctx.emit(text.rstrip(), profile.model_dump(mode="json") | {"heights": heights})
    return 0


async def profile_new(ctx: Context) -> int:
    from pydantic import ValidationError

    from deskctl.profiles.model import Profile
    from deskctl.profiles.store import examples

    args = ctx.args
    base: dict[str, Any] = {}
    if args.example:
        known = examples()
        if args.example not in known:
            raise BadInput(f"no example {args.example!r}; there are {', '.join(known)}")
        base = known[args.example].model_dump(exclude={"name"}, exclude_defaults=True)
    given = {
        "display_name": args.display_name,
        "body_height": _typed_height(ctx, args.body_height, "body_height"),
        "sit": _typed_height(ctx, args.sit, "sit"),
        "stand": _typed_height(ctx, args.stand, "stand"),
        "unit": args.profile_unit,
    }
    fields = base | {key: value for key, value in given.items() if value is not None}
    try:
        profile = Profile.model_validate({**fields, "name": args.name})
    except ValidationError as error:
        raise _bad(error) from None
    path = ctx.profiles.save(profile, new=True)
    lines = [f"made {path}: {_summary(ctx, profile)}"]
    if args.use:
        ctx.profiles.use(ctx.desk_key(), profile.name)
        lines.append(f"{profile.title} is now at {ctx.entry.url}")
    ctx.emit("\n".join(lines), {"path": str(path), "profile": profile.model_dump(mode="json")})
    return 0


def _is_weekday_hours(tables: list[str], last: str) -> bool:
    from deskctl.profiles.model import WEEKDAYS

    return tables == ["schedule", "hours"] and last in WEEKDAYS


def _bad(error: ValidationError) -> BadInput:
    from deskctl.profiles.store import one_line

    return BadInput(one_line(error))


async def profile_set(ctx: Context) -> int:
    from pydantic import ValidationError

    from deskctl.profiles.model import Profile

    name = ctx.args.name
    profile = ctx.profiles.load(name)
    data = profile.model_dump(mode="json")
    for assignment in ctx.args.assignments:
        key, equals, value = assignment.partition("=")
        if not equals or not key:
            raise BadInput(f"{assignment!r}: write settings as KEY=VALUE, like stand=110cm")
        *tables, last = key.strip().split(".")
        target = data
        for table in tables:
            if not isinstance(target.get(table), dict):
                raise BadInput(f"{key}: no such setting (see 'deskctl profile schema')")
            target = target[table]
        value = value.strip()
        if _is_weekday_hours(tables, last):
            # Working hours per day: ranges split by commas; empty or "off" is a day off.
            ranges = [item.strip() for item in value.split(",") if item.strip()]
            target.pop(last, None)
            if ranges != ["off"] and ranges:
                target[last] = ranges
            continue
        if last not in target:
            raise BadInput(f"{key}: no such setting (see 'deskctl profile schema')")
        if key in LIST_FIELDS:
            target[last] = [item.strip() for item in value.split(",") if item.strip()]
        elif key in HEIGHT_FIELDS and value:
            target[last] = _typed_height(ctx, value, key)
        else:
            target[last] = value or None
    try:
        changed = Profile.model_validate(data)
    except ValidationError as error:
        raise _bad(error) from None
    path = ctx.profiles.save(changed)
    ctx.emit(f"saved {path}: {_summary(ctx, changed)}", changed.model_dump(mode="json"))
    return 0


async def profile_edit(ctx: Context) -> int:
    import os
    import shlex
    import subprocess
    import tempfile

    from deskctl.profiles.store import parse, to_toml

    name = ctx.args.name
    profile = ctx.profiles.load(name)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise BadInput(
            f"set $EDITOR to edit profiles, or edit {ctx.profiles.path(name)} and check it "
            f"with 'deskctl profile show {name}'"
        )
    # Edit a copy: the profile changes only if the edited text validates.
    handle, draft_name = tempfile.mkstemp(prefix=f"{name}-", suffix=".toml")
    draft = Path(draft_name)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(to_toml(profile))
    if subprocess.run([*shlex.split(editor), str(draft)], check=False).returncode != 0:
        raise BadInput(f"the editor failed; your draft is in {draft}")
    text = draft.read_text(encoding="utf-8")
    try:
        edited = parse(text, name, str(draft))
    except ConfigError as error:
        raise BadInput(f"{error}; the profile is unchanged, your draft is kept there") from None
    draft.unlink()
    path = ctx.profiles.save(edited)
    ctx.emit(f"saved {path}: {_summary(ctx, edited)}", edited.model_dump(mode="json"))
    return 0


async def profile_use(ctx: Context) -> int:
    key = ctx.desk_key()
    name = None if ctx.args.nobody else ctx.args.name
    if name is None and not ctx.args.nobody:
        raise BadInput("name the profile to use, or --nobody")
    ctx.profiles.use(key, name)
    if name is None:
        ctx.emit(f"no profile is active at {key} now", {"desk": key, "profile": None})
        return 0
    profile = ctx.profiles.load(name)
    ctx.emit(
        f"{profile.title} is now at {key}: {_summary(ctx, profile)} "
        "('deskctl sit' or 'deskctl stand' moves there)",
        {"desk": key, "profile": name},
    )
    return 0


async def profile_delete(ctx: Context) -> int:
    backup = ctx.profiles.delete(ctx.args.name)
    ctx.emit(f"deleted {ctx.args.name} (kept as {backup})", {"backup": str(backup)})
    return 0


async def profile_export(ctx: Context) -> int:
    from deskctl.atomic import write_atomic
    from deskctl.profiles.store import to_toml

    text = to_toml(ctx.profiles.load(_name(ctx)))
    if ctx.args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        write_atomic(Path(ctx.args.output), text.encode())
    return 0


async def profile_import(ctx: Context) -> int:
    from deskctl.profiles.store import parse

    source = Path(ctx.args.file)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"cannot read {source}: {error}") from None
    name = ctx.args.name or source.stem
    profile = parse(text, name, str(source))
    path = ctx.profiles.save(profile, new=not ctx.args.force)
    ctx.emit(f"imported {name} into {path}: {_summary(ctx, profile)}", {"path": str(path)})
    return 0


async def profile_recommend(ctx: Context) -> int:
    from deskctl.profiles.model import BODY_MAX_MM, BODY_MIN_MM
    from deskctl.profiles.recommend import KEYBOARD_MM, SHOES_MM, recommend

    body = _height_mm(ctx, ctx.args.body_height, "body_height")
    if not BODY_MIN_MM <= body <= BODY_MAX_MM:
        raise BadInput(
            f"{ctx.height(body)} is no body height: give a barefoot height between "
            f"{ctx.height(BODY_MIN_MM)} and {ctx.height(BODY_MAX_MM)}"
        )
    shoes = 0.0 if ctx.args.barefoot else _allowance(ctx, ctx.args.shoes, SHOES_MM)
    keyboard = _allowance(ctx, ctx.args.keyboard, KEYBOARD_MM)
    limits = None
    if not ctx.args.any_desk:
        async with ctx.desk() as desk:
            limits = desk.limits
    advice = recommend(body, shoes_mm=shoes, keyboard_mm=keyboard, limits=limits, unit=ctx.unit)
    lines = advice.explain(ctx.unit)
    lines.append(
        f"recommended: sit {ctx.height(advice.sit_mm)}, stand {ctx.height(advice.stand_mm)}"
    )
    ctx.emit(
        "\n".join(lines),
        {
            "body_mm": body,
            "sit_mm": advice.sit_mm,
            "stand_mm": advice.stand_mm,
            "ideal_sit_mm": advice.ideal_sit_mm,
            "ideal_stand_mm": advice.ideal_stand_mm,
            "notes": advice.notes,
        },
    )
    return 0


async def profile_schema(ctx: Context) -> int:
    import json

    from deskctl.profiles.model import Profile

    schema = Profile.model_json_schema(mode="validation")
    schema["properties"].pop("name", None)
    schema["required"] = [key for key in schema.get("required", []) if key != "name"]
    sys.stdout.write(json.dumps(schema, indent=2) + "\n")
    return 0


async def profile_capture(ctx: Context) -> int:
    from pydantic import ValidationError

    name = _name(ctx)
    profile = ctx.profiles.load(name)
    async with ctx.desk() as desk:
        height = desk.state.height_mm
    try:
        changed = profile.model_copy(update={ctx.args.posture: height}, deep=True)
        changed = type(profile).model_validate(changed.model_dump())
    except ValidationError as error:
        raise _bad(error) from None
    ctx.profiles.save(changed)
    ctx.emit(
        f"{changed.title}: {ctx.args.posture} = {ctx.height(height)}",
        {"profile": name, "posture": ctx.args.posture, "height_mm": height},
    )
    return 0


async def profile_presets(ctx: Context) -> int:
    """Store the profile's heights in the desk's memory presets (this moves the desk)."""
    from deskctl.profiles.recommend import heights_for

    profile = ctx.profiles.load(_name(ctx))
    slots = {"sit": profile.presets.sit, "stand": profile.presets.stand}
    if not any(slots.values()):
        raise BadInput(
            f"{profile.title} names no preset slots: "
            f"'deskctl profile set {profile.name} presets.sit=1 presets.stand=2'"
        )
    async with ctx.desk() as desk:
        if not desk.capabilities.can_save_presets:
            raise Unsupported(f"{desk.info.family} desks cannot store presets from deskctl")
        heights = heights_for(profile, desk.limits, ctx.unit)
        ctx.warn(heights.notes)
        done = []
        for posture, slot in slots.items():
            if slot is None:
                continue
            target = heights.sit_mm if posture == "sit" else heights.stand_mm
            await desk.move_to(target)
            await desk.save_preset(slot)
            done.append(f"preset {slot} = {posture} {ctx.height(target)}")
    ctx.emit("; ".join(done), {"presets": done})
    return 0


PROFILE_COMMAND = command(
    "profile",
    profile_list,
    "the people who use the desk: their heights and rhythm",
    actions=[
        command("list", profile_list, "list the profiles; * marks the one active at this desk"),
        command(
            "show", profile_show, "show a profile (default: the active one)", arg("name", nargs="?")
        ),
        command(
            "new",
            profile_new,
            "make a profile",
            arg("name", help="lower-case letters, digits, - and _"),
            arg("--body-height", help="barefoot, e.g. 175cm: sit and stand are recommended"),
            arg("--sit", help="sitting height, e.g. 72cm"),
            arg("--stand", help="standing height, e.g. 110cm"),
            arg("--display-name", help="the name to show"),
            arg("--profile-unit", choices=[u.value for u in Unit], help="preferred unit"),
            arg("--example", help="start from a bundled example (petite, tall, hotdesk)"),
            arg("--use", action="store_true", help="and make it active at this desk"),
        ),
        command(
            "edit",
            profile_edit,
            "edit a profile in $EDITOR; saved only if it is valid",
            arg("name"),
        ),
        command(
            "set",
            profile_set,
            "change settings: stand=110cm schedule.sit_minutes=25",
            arg("name"),
            arg("assignments", nargs="+", metavar="KEY=VALUE"),
        ),
        command(
            "use",
            profile_use,
            "make a profile the active one at this desk",
            arg("name", nargs="?"),
            arg("--nobody", action="store_true", help="no profile at this desk"),
        ),
        command("delete", profile_delete, "delete a profile (kept as NAME.toml~)", arg("name")),
        command(
            "export",
            profile_export,
            "print a profile's file (or write it to a file)",
            arg("name", nargs="?"),
            arg("--output", "-o", help="a file to write instead"),
        ),
        command(
            "import",
            profile_import,
            "add a profile from a file",
            arg("file"),
            arg("--name", help="the profile's name (default: the file's name)"),
            arg("--force", action="store_true", help="replace a profile of that name"),
        ),
        command(
            "recommend",
            profile_recommend,
            "sit and stand heights for a body height",
            arg("body_height", help="barefoot, e.g. 175cm"),
            arg("--shoes", help="shoe allowance (default 25mm)"),
            arg("--barefoot", action="store_true", help="no shoes"),
            arg("--keyboard", help="keyboard home row above the desk (default 25mm)"),
            arg("--any-desk", action="store_true", help="ignore this desk's limits"),
        ),
        command("schema", profile_schema, "print the JSON schema of profile files, for editors"),
        command(
            "capture",
            profile_capture,
            "store the desk's height as sit or stand",
            arg("posture", choices=["sit", "stand"]),
            arg("name", nargs="?"),
        ),
        command(
            "suggest",
            profile_suggest,
            "heights learned from your fine-tunes, with the evidence; --apply N takes one",
            arg("name", nargs="?"),
            arg("--apply", type=int, metavar="N", help="write suggestion N into the profile"),
            arg("--dismiss", type=int, metavar="N", help="set suggestion N aside"),
        ),
        command(
            "presets",
            profile_presets,
            "write a profile's heights into the desk's memory presets",
            arg("name", nargs="?"),
        ),
    ],
)
