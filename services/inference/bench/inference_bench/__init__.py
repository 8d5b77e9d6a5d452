"""Benchmark of the inference service: in-process scoring against raw `inplace_predict`, and HTTP
latency at a fixed request rate against a real server process (see `main.py`)."""
