"""The theme chosen in the command palette ("Change theme"), kept for the next start.

One line, the theme's name, in the state folder: a preference of this machine's terminal
rather than of a person (profiles keep what follows a person from desk to desk).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from deskctl.paths import Paths


def theme_file(paths: Paths) -> Path:
    return paths.state_dir / "interface" / "theme"


def remembered_theme(paths: Paths) -> str | None:
    """The theme chosen last, if any (an unreadable file: none)."""
    try:
        return theme_file(paths).read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def remember_theme(paths: Paths, name: str) -> None:
    """Raises StorageError when the folder or the file cannot be written."""
    from deskctl.atomic import write_atomic
    from deskctl.paths import ensure_dir

    path = theme_file(paths)
    ensure_dir(path.parent)
    write_atomic(path, f"{name}\n".encode())
