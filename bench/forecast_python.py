"""The Python peers of `promlab forecast backtest` for bench/forecast.sh: Prophet and a numpy Fourier
extrapolation (train-prometheus' model), timed on the same CSV, scored the same way (sMAPE on the last
HORIZON points). Prints one line per model: name, fit+forecast seconds, sMAPE. With a third argument, writes
Prophet's yhat there (one value per line) for the comparison with promlab's Prophet."""
import sys
import time

import numpy as np
import pandas as pd


def smape(actual, predicted):
    actual, predicted = np.asarray(actual), np.asarray(predicted)
    scale = np.abs(actual) + np.abs(predicted)
    ratio = np.where(scale == 0, 0.0, 2 * np.abs(predicted - actual) / np.where(scale == 0, 1, scale))
    return 100 * ratio.mean()


def fourier_extrapolation(x, horizon, harmonics=10):
    """train-prometheus' model: detrend, keep the lowest frequencies, extend."""
    n = x.size
    t = np.arange(0, n)
    p = np.polyfit(t, x, 1)
    x_notrend = x - p[0] * t
    x_freqdom = np.fft.fft(x_notrend)
    f = np.fft.fftfreq(n)
    indexes = sorted(range(n), key=lambda i: np.absolute(f[i]))
    t = np.arange(0, n + horizon)
    restored = np.zeros(t.size)
    for i in indexes[: 1 + harmonics * 2]:
        amplitude = np.absolute(x_freqdom[i]) / n
        phase = np.angle(x_freqdom[i])
        restored += amplitude * np.cos(2 * np.pi * f[i] * t + phase)
    return (restored + p[0] * t)[n:]


def main():
    path, horizon = sys.argv[1], int(sys.argv[2])
    frame = pd.read_csv(path)
    frame["ds"] = pd.to_datetime(frame["timestamp"], unit="s")
    train, test = frame.iloc[:-horizon], frame.iloc[-horizon:]

    started = time.perf_counter()
    predicted = fourier_extrapolation(train["value"].to_numpy(), horizon)
    print(f"numpy_fourier {time.perf_counter() - started:.6f} {smape(test['value'], predicted):.4f}")

    from prophet import Prophet
    import logging
    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    started = time.perf_counter()
    model = Prophet(interval_width=0.95)
    model.fit(train.rename(columns={"value": "y"})[["ds", "y"]])
    future = model.make_future_dataframe(periods=horizon, freq="min", include_history=False)
    forecast = model.predict(future)
    print(f"python_prophet {time.perf_counter() - started:.6f} {smape(test['value'], forecast['yhat']):.4f}")
    if len(sys.argv) > 3:
        forecast["yhat"].to_csv(sys.argv[3], index=False, header=False)


main()
