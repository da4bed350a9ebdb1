"""Whether the person is at the computer, from whatever the platform offers: logind's
session hints, GNOME's idle monitor, the freedesktop screen saver, macOS's HID idle time,
``xprintidle``.  One module per source (:mod:`deskctl.presence.source` is their shape);
:func:`deskctl.presence.pick.open_presence` picks those that answer here, once, at the
start.  This module stays light: the config reads the choices from it."""

from __future__ import annotations

CHOICES = ("auto", "logind", "gnome", "screensaver", "macos", "xprintidle", "none")
"""What ``[presence] source`` in the config may say."""
