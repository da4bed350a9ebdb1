"""``deskctl profile suggest``, and the suggestion lines ``run`` and ``stats`` show:
heights learned from the person's fine-tunes (``deskctl.policy.learning``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deskctl.errors import BadInput

if TYPE_CHECKING:
    from deskctl.context import Context
    from deskctl.policy.learning import Adjustment, Suggestion
    from deskctl.profiles.model import Profile


def found(
    ctx: Context, limits: tuple[float, float], profile: Profile | None = None
) -> list[Suggestion]:
    """The suggestions for the person (``profile``, else the active one) at this desk."""
    from deskctl.drivers.registry import parse_desk_url, physical_key
    from deskctl.history import History
    from deskctl.model import Limits
    from deskctl.policy.suggestions import Answers, suggestions

    person = profile if profile is not None else ctx.profile()
    if person is not None:
        from deskctl.profiles.recommend import heights_for

        heights = heights_for(person, Limits(*limits), ctx.unit)
        current = {"sit": heights.sit_mm, "stand": heights.stand_mm}
    else:
        current = {"sit": ctx.entry.sit_mm, "stand": ctx.entry.stand_mm}
    path = ctx.paths.data_dir / "history.sqlite3"
    if not path.exists():
        return []
    history = History(path)
    try:
        return suggestions(
            history,
            desk=physical_key(parse_desk_url(ctx.entry.url)),
            profile=None if person is None else person.name,
            current=current,
            limits=limits,
            answers=Answers.in_folder(ctx.paths.state_dir),
        )
    finally:
        history.close()


def lines(ctx: Context, found_: list[Suggestion]) -> list[str]:
    """What ``run`` and ``stats`` say of the suggestions (nothing when there are none)."""
    from deskctl.clock import local_timezone
    from deskctl.policy.suggestions import describe

    said = [f"suggestion: {describe(s, ctx.height, local_timezone())}" for s in found_]
    if said:
        said.append("('deskctl profile suggest' shows the evidence; --apply N takes one)")
    return said


def evidence(adjustment: Adjustment, height: Any, zone: Any) -> str:
    """One fine-tune behind a suggestion: when, from where to where, after which move
    (``height`` formats millimetres); the interface shows the same lines."""
    import datetime as dt

    when = dt.datetime.fromtimestamp(adjustment.t, zone).strftime("%a %d %b %H:%M")
    sign = "+" if adjustment.delta_mm >= 0 else "-"
    return (
        f"{when}  {height(adjustment.target_mm)} -> {height(adjustment.settled_mm)} "
        f"({sign}{height(abs(adjustment.delta_mm))}, after {adjustment.kind})"
    )


def to_data(n: int, suggestion: Suggestion) -> dict[str, Any]:
    return {
        "n": n,
        "desk": suggestion.desk,
        "profile": suggestion.profile,
        "posture": suggestion.posture,
        "current_mm": suggestion.current_mm,
        "suggested_mm": suggestion.suggested_mm,
        "typical_mm": suggestion.typical_mm,
        "evidence": [
            {
                "t": a.t,
                "kind": a.kind,
                "target_mm": a.target_mm,
                "settled_mm": a.settled_mm,
                "delta_mm": a.delta_mm,
            }
            for a in suggestion.evidence
        ],
    }


async def profile_suggest(ctx: Context) -> int:
    """List the suggestions with their evidence; ``--apply N`` or ``--dismiss N``."""
    from deskctl.clock import local_timezone
    from deskctl.policy.suggestions import Answers, apply, describe, dismiss

    name: str | None = ctx.args.name or ctx.profile_name()
    profile = None if name is None else ctx.profiles.load(name)
    async with ctx.desk() as desk:
        limits = (desk.limits.min_mm, desk.limits.max_mm)
    listed = found(ctx, limits, profile)
    if ctx.args.apply is not None and ctx.args.dismiss is not None:
        raise BadInput("--apply or --dismiss, not both")
    chosen: int | None = ctx.args.apply if ctx.args.apply is not None else ctx.args.dismiss
    if chosen is not None:
        if not 1 <= chosen <= len(listed):
            have = f"there are {len(listed)}" if listed else "there are none"
            raise BadInput(f"no suggestion {chosen}: {have} ('deskctl profile suggest' lists them)")
        suggestion = listed[chosen - 1]
        answers = Answers.in_folder(ctx.paths.state_dir)
        if ctx.args.dismiss is not None:
            dismiss(suggestion, answers)
            ctx.emit(
                f"dismissed: {suggestion.posture} stays at {ctx.height(suggestion.current_mm)}",
                {"dismissed": to_data(chosen, suggestion)},
            )
            return 0
        if profile is None:
            raise BadInput(
                "no profile is active at this desk: set the height in the config, or make a "
                "profile ('deskctl profile new NAME --use') for heights that learn"
            )
        apply(ctx.profiles, profile, suggestion, answers)
        ctx.emit(
            f"{profile.title}: {suggestion.posture} = {ctx.height(suggestion.suggested_mm)} "
            f"(was {ctx.height(suggestion.current_mm)})",
            {"applied": to_data(chosen, suggestion), "profile": profile.name},
        )
        return 0
    who = "nobody's profile" if profile is None else profile.title
    zone = local_timezone()
    text: list[str] = []
    for n, suggestion in enumerate(listed, start=1):
        text.append(f"{n}. {describe(suggestion, ctx.height, zone)}")
        text += [f"     {evidence(a, ctx.height, zone)}" for a in suggestion.evidence]
    if listed:
        text.append("'deskctl profile suggest --apply N' takes one, '--dismiss N' sets it aside")
    else:
        text.append(
            f"no suggestions for {who}: a height is suggested once 3 of the last 5 moves to "
            "it were fine-tuned the same way, by 5 mm or more"
        )
    data = {
        "profile": name,
        "desk": ctx.entry.url,
        "suggestions": [to_data(n, s) for n, s in enumerate(listed, start=1)],
    }
    ctx.emit("\n".join(text), data)
    return 0
