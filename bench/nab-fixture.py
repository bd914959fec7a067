#!/usr/bin/env python3
"""Build the compact NAB fixture that the NAB scorer's reproduction tests read.

NAB's published results for a detector (``results/<detector>/``, 22 MB for numenta) are too large
to carry in the repository. This script reduces them to what the tests need:

``<detector>-scores.csv.zst``
    The detector's anomaly score for every row of every corpus file: a zstd-compressed CSV with the
    header ``file,timestamp,anomaly_score``, one line per data row, files in the order of
    ``combined_windows.json`` and rows in file order. ``file`` is the file's key in
    ``combined_windows.json`` (``CATEGORY/NAME.csv``), ``timestamp`` is copied verbatim from
    NAB's results file, and ``anomaly_score`` is Python's ``repr`` of the parsed value (the
    shortest text that reads back to the same double).
``<detector>-file-scores.csv``
    NAB's per-file score tables (``<detector>_<profile>_scores.csv``) of every profile,
    concatenated under one header, verbatim.
``<detector>-row-scores.csv``
    NAB's per-row score columns ``S(t)_<profile>``, sparse: only the rows where some profile's
    value is non-zero (``file,row,timestamp`` then one column per profile, verbatim; ``row``
    counts data rows from 0). Every other row scores 0 under every profile.
``thresholds.json``
    ``config/thresholds.json`` trimmed to the detector's entry.
``profiles.json``
    ``config/profiles.json``, verbatim.
``final_results.json``
    ``results/final_results.json`` trimmed to the detector, ``null`` and the detectors of
    ``SCOREBOARD``.
``combined_windows.json``
    The label windows, verbatim.

The script also checks that each results file has exactly the timestamps of its data file (NAB
scores against the data file's rows), when the data files are present.

Compression uses Python's ``zstandard`` module if installed, otherwise the ``zstd`` command-line
tool.

Usage::

    python3 make_fixture.py --nab /path/to/NAB --out tests/fixtures/nab [--detector numenta]

``--nab`` is a NAB checkout (``labels/combined_windows.json`` and ``data/``) or a flattened copy
with ``combined_windows.json`` and the data categories at its top level; both need ``config/``
and ``results/``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

#: Detectors of NAB's scoreboard kept in ``final_results.json`` besides the fixture's detector.
SCOREBOARD = (
    "ARTime",
    "contextOSE",
    "knncad",
    "randomCutForest",
    "twitterADVec",
    "windowedGaussian",
    "random",
)

#: zstd compression level (19: the highest without ``--ultra``, decodable with default limits).
ZSTD_LEVEL = 19


def find(nab: Path, *candidates: str) -> Path:
    """Returns the first of ``candidates`` (paths relative to ``nab``) that exists."""
    for candidate in candidates:
        path = nab / candidate
        if path.exists():
            return path
    raise SystemExit(f"{nab}: none of {', '.join(candidates)} exists; is --nab a NAB folder?")


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Reads a NAB CSV file into its header and rows."""
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def compress(data: bytes) -> bytes:
    """Compresses ``data`` into one zstd frame."""
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        zstd = shutil.which("zstd")
        if zstd is None:
            raise SystemExit(
                "need Python's zstandard module or the zstd command-line tool"
            ) from None
        return subprocess.run(
            [zstd, f"-{ZSTD_LEVEL}", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True
        ).stdout
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)


def write_json(path: Path, value: object) -> None:
    """Writes ``value`` as indented JSON with sorted keys."""
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--nab", type=Path, required=True, help="NAB folder (checkout or flattened copy)"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="output folder (created if missing)"
    )
    parser.add_argument("--detector", default="numenta", help="detector whose results to keep")
    args = parser.parse_args()
    nab: Path = args.nab
    out: Path = args.out
    detector: str = args.detector
    out.mkdir(parents=True, exist_ok=True)

    windows_path = find(nab, "labels/combined_windows.json", "combined_windows.json")
    windows = json.loads(windows_path.read_text())
    data_root = nab / "data" if (nab / "data").is_dir() else nab
    results = find(nab, f"results/{detector}")
    profiles = json.loads(find(nab, "config/profiles.json").read_text())

    scores = io.StringIO(newline="")
    scores.write("file,timestamp,anomaly_score\n")
    row_scores = io.StringIO(newline="")
    st_columns = [f"S(t)_{profile}" for profile in profiles]
    row_scores.write(",".join(["file", "row", "timestamp", *st_columns]) + "\n")
    rows_total = 0
    for key in windows:
        category, name = key.split("/")
        header, rows = read_csv(results / category / f"{detector}_{name}")
        missing = [c for c in ["timestamp", "anomaly_score", *st_columns] if c not in header]
        if missing:
            raise SystemExit(f"{key}: results file lacks {missing}")
        data = data_root / key
        if data.exists():
            _, data_rows = read_csv(data)
            if [r["timestamp"] for r in data_rows] != [r["timestamp"] for r in rows]:
                raise SystemExit(f"{key}: results timestamps differ from the data file's")
        else:
            print(f"warning: {data} not found; timestamps not checked", file=sys.stderr)
        for i, row in enumerate(rows):
            scores.write(f"{key},{row['timestamp']},{float(row['anomaly_score'])!r}\n")
            if any(float(row[c]) != 0.0 for c in st_columns):
                values = [row[c] for c in st_columns]
                row_scores.write(",".join([key, str(i), row["timestamp"], *values]) + "\n")
        rows_total += len(rows)

    (out / f"{detector}-scores.csv.zst").write_bytes(compress(scores.getvalue().encode()))
    (out / f"{detector}-row-scores.csv").write_text(row_scores.getvalue())

    tables = []
    for profile in profiles:
        header, rows = read_csv(results / f"{detector}_{profile}_scores.csv")
        if not tables:
            tables.append(",".join(header))
        tables.extend(",".join(r[c] for c in header) for r in rows)
    (out / f"{detector}-file-scores.csv").write_text("\n".join(tables) + "\n")

    thresholds = json.loads(find(nab, "config/thresholds.json").read_text())
    write_json(out / "thresholds.json", {detector: thresholds[detector]})
    shutil.copyfile(find(nab, "config/profiles.json"), out / "profiles.json")
    final = json.loads(find(nab, "results/final_results.json").read_text())
    keep = {detector, "null", *SCOREBOARD}
    write_json(out / "final_results.json", {k: v for k, v in final.items() if k in keep})
    shutil.copyfile(windows_path, out / "combined_windows.json")

    print(
        f"{len(windows)} files, {rows_total} rows of {detector} scores written to {out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
