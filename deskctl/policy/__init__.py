"""The sit/stand policy: a pure engine, its schedule, the exercise library and picker.

``engine.Engine.step(state, event, now)`` decides; :mod:`deskctl.policy.runner`
binds it to a desk, a clock, the person and the history.
"""
