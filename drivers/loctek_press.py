"""How far a press of a key carries a desk from rest, by how long it is held.

The motor sets off some time after the key and stops braking some time after
the release; in between it ramps up at ``accel`` to its top speed, and after
the reaction time it brakes at ``decel``.  Only the difference of the two
delays shows in where the desk ends (``lag_s``): a press of ``t`` seconds
runs the motor for ``t + lag_s``.  The model is fitted to the presses the
desk has made (calibration makes a range of them), so a short move can be
timed exactly, where watching the display would be too late: the desk
covers the last few millimetres of a short move before the digits say so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# What no desk goes beyond: the fit stays inside, and a fit at an edge is no fit.
ACCEL_RANGE = (5.0, 500.0)
DECEL_RANGE = (5.0, 2000.0)
LAG_RANGE = (-0.5, 1.5)
_PRIOR_WEIGHT = 0.25
"""Squared millimetres a unit of log-distance from the likely desk costs: it only decides
between fits the presses cannot tell apart."""
COARSE_MM = 3.0


@dataclass(frozen=True)
class PressModel:
    accel_mm_s2: float = 38.0
    decel_mm_s2: float = 76.0
    lag_s: float = 0.3
    top_speed_mm_s: float = 38.0

    @property
    def ramp_s(self) -> float:
        return self.top_speed_mm_s / self.accel_mm_s2

    @property
    def shortest_mm(self) -> float:
        """Where the briefest press (the key and its release at once) takes the desk."""
        return self.distance(0.0)

    def distance(self, held_s: float) -> float:
        """From rest to rest, for a key held ``held_s`` seconds."""
        run = held_s + self.lag_s
        if run <= 0:
            return 0.0
        top, ramp = self.top_speed_mm_s, self.ramp_s
        if run <= ramp:
            speed = self.accel_mm_s2 * run
            travelled = speed * run / 2
        else:
            speed = top
            travelled = top * ramp / 2 + top * (run - ramp)
        return travelled + speed * speed / (2 * self.decel_mm_s2)

    def held_for(self, distance_mm: float) -> float:
        """How long to hold the key to go ``distance_mm`` from rest (0: the briefest press)."""
        if distance_mm <= self.shortest_mm:
            return 0.0
        low, high = 0.0, 1.0
        while self.distance(high) < distance_mm and high < 600.0:
            low, high = high, high * 2
        for _ in range(50):
            middle = (low + high) / 2
            low, high = (middle, high) if self.distance(middle) < distance_mm else (low, middle)
        return (low + high) / 2

    def error(self, presses: Sequence[tuple[float, float]]) -> float:
        """Root mean square of how far each press landed from where this model says."""
        if not presses:
            return 0.0
        squares = [(self.distance(held) - went) ** 2 for held, went in presses]
        return math.sqrt(sum(squares) / len(squares))

    def at_an_edge(self) -> bool:
        """The fit ran into a bound: nothing physical explains the presses."""
        return any(
            math.isclose(value, bound, rel_tol=1e-3, abs_tol=1e-3)
            for value, bounds in (
                (self.accel_mm_s2, ACCEL_RANGE),
                (self.decel_mm_s2, DECEL_RANGE),
                (self.lag_s, LAG_RANGE),
            )
            for bound in bounds
        )

    def fitted(self, presses: Sequence[tuple[float, float]], noise_mm: float = 1.0) -> PressModel:
        """The model that explains ``presses`` (seconds held, distance) best, top speed
        included (long presses show it best), starting from this one as the likely desk.

        Distances read off whole centimetres (``noise_mm`` above a few millimetres) are
        off by up to a digit each; the fit leans on this model the more."""
        if not presses:
            return self
        prior = self
        coarse = noise_mm > COARSE_MM
        weight = _PRIOR_WEIGHT * (noise_mm / 2 if coarse else 1.0) ** 2
        bounds = [
            (math.log(ACCEL_RANGE[0]), math.log(ACCEL_RANGE[1])),
            (math.log(DECEL_RANGE[0]), math.log(DECEL_RANGE[1])),
            LAG_RANGE,
            (math.log(prior.top_speed_mm_s * 0.8), math.log(prior.top_speed_mm_s * 1.25)),
        ]

        def model_at(point: Sequence[float]) -> PressModel:
            return PressModel(math.exp(point[0]), math.exp(point[1]), point[2], math.exp(point[3]))

        def cost(point: Sequence[float]) -> float:
            model = model_at(point)
            squares = sum((model.distance(held) - went) ** 2 for held, went in presses)
            away = (
                (point[0] - math.log(prior.accel_mm_s2)) ** 2
                + (point[1] - math.log(prior.decel_mm_s2)) ** 2
                + ((point[2] - prior.lag_s) / 0.3) ** 2
                + 100 * (point[3] - math.log(prior.top_speed_mm_s)) ** 2
            )
            return squares + weight * away

        top = math.log(prior.top_speed_mm_s)
        grid = [
            [math.log(accel), math.log(decel), lag, top + drift]
            for accel in (10.0, 20.0, 40.0, 80.0, 160.0)
            for decel in (15.0, 30.0, 60.0, 120.0, 240.0, 480.0)
            for lag in (-0.1, 0.1, 0.3, 0.5, 0.8)
            for drift in (-0.05, 0.0, 0.05)
        ]
        # The parameters trade off against each other (a harder start, a softer stop):
        # a simplex search from the best few points of the grid follows such valleys.
        starts = sorted(grid, key=cost)[:3]
        point = min(
            (_simplex(cost, start, [0.3, 0.3, 0.1, 0.03], bounds) for start in starts), key=cost
        )
        return model_at(point)


def _simplex(
    cost: Callable[[Sequence[float]], float],
    start: Sequence[float],
    scales: Sequence[float],
    bounds: Sequence[tuple[float, float]],
    rounds: int = 400,
) -> list[float]:
    """Nelder and Mead's downhill simplex, kept inside ``bounds``."""

    def inside(point: Sequence[float]) -> list[float]:
        return [
            min(max(value, low), high) for value, (low, high) in zip(point, bounds, strict=True)
        ]

    size = len(start)
    simplex = [inside(start)]
    for index in range(size):
        vertex = list(start)
        vertex[index] += scales[index]
        simplex.append(inside(vertex))
    values = [cost(vertex) for vertex in simplex]
    for _ in range(rounds):
        order = sorted(range(size + 1), key=values.__getitem__)
        simplex, values = [simplex[i] for i in order], [values[i] for i in order]
        if values[-1] - values[0] < 1e-9:
            break
        centre = [sum(vertex[i] for vertex in simplex[:-1]) / size for i in range(size)]

        def towards(
            factor: float, centre: list[float] = centre, worst: list[float] = simplex[-1]
        ) -> list[float]:
            return inside([c + factor * (w - c) for c, w in zip(centre, worst, strict=True)])

        reflected = towards(-1.0)
        value = cost(reflected)
        if value < values[0]:
            expanded = towards(-2.0)
            expanded_value = cost(expanded)
            simplex[-1], values[-1] = (
                (expanded, expanded_value) if expanded_value < value else (reflected, value)
            )
        elif value < values[-2]:
            simplex[-1], values[-1] = reflected, value
        else:
            contracted = towards(0.5)
            contracted_value = cost(contracted)
            if contracted_value < values[-1]:
                simplex[-1], values[-1] = contracted, contracted_value
            else:
                best = simplex[0]
                simplex = [best] + [
                    inside([b + 0.5 * (v - b) for b, v in zip(best, vertex, strict=True)])
                    for vertex in simplex[1:]
                ]
                values = [values[0]] + [cost(vertex) for vertex in simplex[1:]]
    return simplex[min(range(size + 1), key=values.__getitem__)]
