"""Percentiles of a sample, by the nearest-rank method (what wrk reports too)."""

import math


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        raise ValueError("no values: nothing was measured")
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {"p50": rank(50), "p90": rank(90), "p99": rank(99), "max": ordered[-1]}
