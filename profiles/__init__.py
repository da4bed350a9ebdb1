"""Per-user height profiles (model, TOML store, recommendation from body height)."""
