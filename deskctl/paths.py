"""Where deskctl keeps its files, following each platform's conventions.

``DESKCTL_CONFIG`` names the config file; ``XDG_*`` variables move the rest
on Linux (tests use them to keep each run to itself).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from deskctl.errors import StorageError

APP = "deskctl"


@dataclass(frozen=True)
class Paths:
    config_file: Path
    state_dir: Path
    data_dir: Path

    @classmethod
    def from_env(cls) -> Paths:
        import platformdirs

        config = os.environ.get("DESKCTL_CONFIG")
        return cls(
            config_file=Path(config)
            if config
            else platformdirs.user_config_path(APP) / "config.toml",
            state_dir=platformdirs.user_state_path(APP),
            data_dir=platformdirs.user_data_path(APP),
        )

    @property
    def profiles_dir(self) -> Path:
        """Profiles live beside the config file."""
        return self.config_file.parent / "profiles"

    def state_file(self, kind: str, key: str) -> Path:
        """A file under the state directory, e.g. ``sim/default.json``; creates its folder."""
        return ensure_dir(self.state_dir / kind) / f"{slug(key)}.json"


def slug(text: str) -> str:
    """A file-name-safe form of a desk URL or name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "default"


def ensure_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StorageError(f"cannot create the folder {path}: {error.strerror}") from None
    return path
