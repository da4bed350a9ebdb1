"""The interface's sections, one widget each: what the app tells them goes down as method
calls, what the person asks for goes up as messages; the app owns the desk and the schedule.

``desk`` is part of the first frame; the others are imported once it is painted.
"""
