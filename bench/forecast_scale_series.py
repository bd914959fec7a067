"""The series of bench/forecast-scale.sh: COUNT series of one day at 1-minute steps (1,440 points) ending
at END (unix seconds), written twice: as OpenMetrics for promtool's blocks (the forecaster pulls them from
Prometheus) and as statsforecast's long CSV (unique_id, ds, y) for the fit-only comparison.

Four shapes in turn, each with its own level, phase, amplitude and noise (seeded):
0. an hourly season (60 steps) and noise;
1. the season, a trend;
2. the season, a level shift at a random point;
3. no season: an AR(1) wander around a level.
Usage: forecast_scale_series.py COUNT END OPENMETRICS_OUT CSV_OUT
"""

import math
import random
import sys


def series(index: int, rng: random.Random) -> list[float]:
    shape = index % 4
    level = 20 + 80 * rng.random()
    amplitude = level * (0.05 + 0.15 * rng.random())
    phase = rng.random() * 2 * math.pi
    noise = level * (0.005 + 0.02 * rng.random())
    slope = level * (rng.random() - 0.5) * 0.5 / 1440
    shift_at, shift = rng.randrange(200, 1300), level * (0.1 + 0.2 * rng.random())
    values, wander = [], 0.0
    for t in range(1440):
        if shape == 3:
            wander = 0.95 * wander + rng.gauss(0, noise)
            values.append(level + wander)
            continue
        value = level + amplitude * math.sin(2 * math.pi * t / 60 + phase) + rng.gauss(0, noise)
        if shape == 1:
            value += slope * t
        if shape == 2 and t >= shift_at:
            value += shift
        values.append(value)
    return values


def main() -> None:
    count, end = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(1)
    with open(sys.argv[3], "w") as om, open(sys.argv[4], "w") as csv:
        om.write("# TYPE bench_value gauge\n")
        csv.write("unique_id,ds,y\n")
        for s in range(count):
            name = f"s{s:05d}"
            for t, value in enumerate(series(s, rng)):
                at = end - 60 * (1439 - t)
                om.write(f'bench_value{{batch="{s // 1000}",series="{name}"}} {value:.4f} {at}\n')
                csv.write(f"{name},{at},{value:.4f}\n")
        om.write("# EOF\n")


if __name__ == "__main__":
    main()
