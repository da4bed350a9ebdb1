"""The Stats section: today's postures over the working hours and the week's standing
against the goal, as charts (``deskctl.tui.charts``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll

from deskctl.tui.charts import StatsCharts

if TYPE_CHECKING:
    from deskctl.chart_data import StatsView


class StatsSection(VerticalScroll):
    """The charts fetch their figures from ``source`` when they come into view and once a
    minute while shown; the app calls ``show`` whenever a bout ends or begins."""

    def __init__(self, source: Callable[[], StatsView]) -> None:
        super().__init__(id="stats-section")
        self.source = source

    def compose(self) -> ComposeResult:
        yield StatsCharts(self.source)

    def show(self) -> None:
        self.query_one(StatsCharts).refresh_charts()
