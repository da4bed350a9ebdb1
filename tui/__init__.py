"""The Textual interface; the only part of deskctl that imports textual."""
