"""The reference numbers promlab's ARIMA is judged against (tests/fixtures/arima-reference.json, read by
tests/integration/arima.rs): statsmodels' ARIMA (exact Gaussian likelihood, state space) fitted with
fixed orders on a few series, its coefficients, sigma2, log-likelihood, forecasts and 95 % intervals.

The simulated series are written into the fixture (seeded, so they can be made again); the NAB series is
read from tests/fixtures/nab (a subset of NAB) by both sides and only its path and slice are written.

Usage: bench/arima-reference.sh (makes a venv under target/ with numpy and statsmodels, then runs this)."""
import json
import sys

import numpy as np
import statsmodels
from statsmodels.tsa.arima.model import ARIMA

HORIZON = 10
NAB_FILE = "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv"
NAB_SLICE = (0, 1000)


def simulate_arma(rng, n, ar, ma, mean, sigma, burn=200):
    e = rng.normal(0.0, sigma, n + burn)
    w = np.zeros(n + burn)
    for t in range(n + burn):
        w[t] = e[t]
        w[t] += sum(phi * w[t - 1 - i] for i, phi in enumerate(ar) if t - 1 - i >= 0)
        w[t] += sum(theta * e[t - 1 - j] for j, theta in enumerate(ma) if t - 1 - j >= 0)
    return w[burn:] + mean


def nab_values(root):
    values = []
    with open(f"{root}/{NAB_FILE}") as lines:
        next(lines)
        for line in lines:
            values.append(float(line.strip().split(",")[1]))
    return values[NAB_SLICE[0] : NAB_SLICE[1]]


def fit(name, y, order, trend, source):
    result = ARIMA(np.asarray(y), order=order, trend=trend).fit()
    names = list(result.model.param_names)
    params = dict(zip(names, map(float, result.params)))
    errors = dict(zip(names, map(float, result.bse)))
    forecast = result.get_forecast(HORIZON)
    interval = forecast.conf_int(alpha=0.05)
    case = {
        "name": name,
        "order": list(order),
        "mean": trend != "n",
        "ar": [params[f"ar.L{i + 1}"] for i in range(order[0])],
        "ma": [params[f"ma.L{j + 1}"] for j in range(order[2])],
        # statsmodels calls the mean of a stationary model `const` and the drift of a differenced one `x1`.
        "constant": params.get("const", params.get("x1", 0.0)),
        # Standard errors: how well the data pin each coefficient down (a flat likelihood ridge, as when
        # AR and MA terms nearly cancel, leaves the optimum's exact position to the optimiser).
        "ar_se": [errors[f"ar.L{i + 1}"] for i in range(order[0])],
        "ma_se": [errors[f"ma.L{j + 1}"] for j in range(order[2])],
        "sigma2": params["sigma2"],
        "loglik": float(result.llf),
        "forecast": list(map(float, forecast.predicted_mean)),
        "lower": list(map(float, interval[:, 0])),
        "upper": list(map(float, interval[:, 1])),
    }
    case.update(source)
    return case


def main():
    nab_root = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/nab"
    rng = np.random.default_rng(20261121)
    ar2 = simulate_arma(rng, 500, [0.5, -0.3], [], 10.0, 1.0)
    ma1 = simulate_arma(rng, 500, [], [0.6], 0.0, 2.0)
    walk = np.cumsum(rng.normal(0.2, 1.0, 300)) + 50.0
    arma11 = simulate_arma(rng, 800, [0.8], [-0.4], 5.0, 0.5)
    nab = nab_values(nab_root)
    inline = lambda y: {"values": [round(float(v), 10) for v in y]}
    cases = [
        fit("ar2", np.round(ar2, 10), (2, 0, 0), "c", inline(ar2)),
        fit("ma1", np.round(ma1, 10), (0, 0, 1), "c", inline(ma1)),
        fit("walk_with_drift", np.round(walk, 10), (0, 1, 0), "t", inline(walk)),
        fit("arma11", np.round(arma11, 10), (1, 0, 1), "c", inline(arma11)),
        fit("nab_cpu_arma11", nab, (1, 0, 1), "c", {"nab": NAB_FILE, "slice": list(NAB_SLICE)}),
        fit("nab_cpu_arima111", nab, (1, 1, 1), "n", {"nab": NAB_FILE, "slice": list(NAB_SLICE)}),
    ]
    json.dump(
        {
            "made_by": "bench/arima-reference.sh",
            "statsmodels": statsmodels.__version__,
            "numpy": np.__version__,
            "level": 0.95,
            "cases": cases,
        },
        sys.stdout,
        indent=1,
    )
    print()


main()
