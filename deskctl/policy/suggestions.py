"""The suggestions for a desk and a person, and what the person said of each.

``suggestions`` is what every face calls to show them (``deskctl run``, ``stats``,
``profile suggest``, the interface); ``apply`` writes one into the profile (atomically,
keeping the previous file) and ``dismiss`` sets one aside.  Either way its evidence is
answered: the same adjustments never make a suggestion again.  The answers are a small
file of their own (the history has one writer, the agent; these come from the person).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskctl.atomic import write_atomic
from deskctl.errors import BadInput, StorageError
from deskctl.paths import ensure_dir
from deskctl.policy.learning import LOOK_BACK, Suggestion, suggest_each

if TYPE_CHECKING:
    from deskctl.history import History
    from deskctl.profiles.model import Profile
    from deskctl.profiles.store import ProfileStore

ANSWERS_FILE = "suggestions.json"


@dataclass(frozen=True)
class Answers:
    """Suggestions applied or dismissed, by their evidence, in the state folder."""

    path: Path

    @classmethod
    def in_folder(cls, state_dir: Path) -> Answers:
        return cls(state_dir / ANSWERS_FILE)

    def read(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as error:
            raise StorageError(f"cannot read {self.path}: {error}") from None
        answered = data.get("answered") if isinstance(data, dict) else None
        return [a for a in answered or [] if isinstance(a, dict)]

    def evidence_ids(self) -> frozenset[int]:
        return frozenset(
            ident
            for answer in self.read()
            for ident in answer.get("evidence", [])
            if isinstance(ident, int)
        )

    def add(self, suggestion: Suggestion, answer: str) -> None:
        answered = self.read()
        answered.append(
            {
                "answer": answer,
                "t": time.time(),
                "desk": suggestion.desk,
                "profile": suggestion.profile,
                "posture": suggestion.posture,
                "from_mm": suggestion.current_mm,
                "to_mm": suggestion.suggested_mm,
                "evidence": sorted(suggestion.evidence_ids),
            }
        )
        ensure_dir(self.path.parent)
        text = json.dumps({"answered": answered}, indent=1) + "\n"
        write_atomic(self.path, text.encode())


def suggestions(
    history: History,
    *,
    desk: str,
    profile: str | None,
    current: dict[str, float],
    limits: tuple[float, float],
    answers: Answers | None = None,
) -> list[Suggestion]:
    """The suggestions for ``profile`` at ``desk`` (None: nobody's profile), whose heights
    in use are ``current`` (sit and stand), on a desk with ``limits``."""
    mine = [a for a in history.adjustments(desk) if a.profile == profile]
    answered = answers.evidence_ids() if answers is not None else frozenset()
    return suggest_each(mine, current, limits, answered)


def apply(store: ProfileStore, profile: Profile, suggestion: Suggestion, answers: Answers) -> Path:
    """Write the suggested height into the profile; the file keeps its previous version."""
    from pydantic import ValidationError

    try:
        changed = profile.model_copy(
            update={suggestion.posture: suggestion.suggested_mm}, deep=True
        )
        changed = type(profile).model_validate(changed.model_dump())
    except ValidationError as error:
        raise BadInput(f"{suggestion.posture}: {error.errors()[0]['msg']}") from None
    path = store.save(changed)
    answers.add(suggestion, "applied")
    return path


def dismiss(suggestion: Suggestion, answers: Answers) -> None:
    answers.add(suggestion, "dismissed")


def describe(suggestion: Suggestion, height: Any, zone: Any = None) -> str:
    """One line: the new height, and why (``height`` formats millimetres)."""
    import datetime as dt

    way = "raised" if suggestion.typical_mm > 0 else "lowered"
    count = len(suggestion.evidence)
    days = dict.fromkeys(
        dt.datetime.fromtimestamp(a.t, zone).strftime("%a %d %b") for a in suggestion.evidence
    )
    return (
        f"{suggestion.posture} at {height(suggestion.suggested_mm)} instead of "
        f"{height(suggestion.current_mm)}: you {way} it by about "
        f"{height(abs(suggestion.typical_mm))} after {count} of the last {LOOK_BACK} moves "
        f"to it ({', '.join(days)})"
    )
