#!/usr/bin/env bash
# Makes tests/fixtures/arima-reference.json: statsmodels' ARIMA fits that tests/integration/arima.rs
# compares promlab's ARIMA with (see bench/arima-reference.py). Needs python3 with venv and pip (numpy and
# statsmodels are installed into a venv under target/) and the NAB subset in tests/fixtures/nab.
# Usage: bench/arima-reference.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/arima-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet numpy statsmodels
fi
tmp=$(mktemp tests/fixtures/.arima-reference.XXXXXX)
trap 'rm -f "$tmp"' EXIT
"$venv/bin/python" bench/arima-reference.py tests/fixtures/nab > "$tmp"
mv "$tmp" tests/fixtures/arima-reference.json
trap - EXIT
echo "wrote tests/fixtures/arima-reference.json"
