"""The seeds' exporter (train-prometheus, the TF-IO tutorial): requests + pandas, one range request
after another, each within Prometheus' 11,000 points per series, rows in a DataFrame written as CSV or
Parquet. Usage: export_python.py URL QUERY START END STEP_SECONDS OUT.(csv|parquet)"""
import sys

import pandas as pd
import requests

url, query, start, end, step, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
rows = []
session = requests.Session()
span = step * 10_999
at = start
while at <= end:
    to = min(at + span, end)
    answer = session.get(f"{url}/api/v1/query_range", params={"query": query, "start": at, "end": to, "step": step}).json()
    if answer["status"] != "success":
        sys.exit(answer.get("error"))
    for series in answer["data"]["result"]:
        metric = dict(series["metric"])
        name = metric.pop("__name__", "")
        labels = "{" + ",".join(f'{k}="{v}"' for k, v in sorted(metric.items())) + "}"
        for timestamp, value in series["values"]:
            rows.append({"timestamp": timestamp, "metric": name, "labels": labels, "value": float(value)})
    at = to + step
frame = pd.DataFrame(rows)
frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s", utc=True)
if out.endswith(".parquet"):
    frame.to_parquet(out, index=False)
else:
    frame.to_csv(out, index=False)
print(len(frame))
