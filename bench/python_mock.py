"""The lab's original Python model mock, as students write it: one Gauge, a new random value every 5 s.

Only the port is a parameter, so the benchmark can run it beside promlab on a free port.
"""
import random
import sys
import time

from prometheus_client import Gauge, start_http_server

MODEL_RESULT = Gauge("model_result", "Result of the model")

if __name__ == "__main__":
    start_http_server(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
    while True:
        MODEL_RESULT.set(random.random())
        time.sleep(5)
