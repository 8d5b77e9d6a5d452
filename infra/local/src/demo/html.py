"""The run's report as one standalone HTML file: the text report, the checks, and plots as
base64-embedded PNGs (latency histogram per wave, the evaluation's PR curve, decisions over time)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # (after choosing the backend)
from matplotlib.figure import Figure

from demo.report import Check, RunReport

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; font-size: 0.85em; }
.ok { color: #116329; } .fail { color: #b3261e; font-weight: bold; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.9em; }
img { max-width: 100%; border: 1px solid #ddd; }
"""


_BINS = 40


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _image(data: str, caption: str) -> str:
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def latency_histogram(report: RunReport) -> str:
    figure, axes = plt.subplots(figsize=(8, 3.5))
    samples = {wave.name: [ms / 1000 for ms in wave.topics.decision_latencies_ms] for wave in report.waves}
    every = [value for values in samples.values() for value in values]
    # The same bins for every wave: bars of one width, comparable heights.
    low, high = (min(every), max(every)) if every else (0.0, 1.0)
    step = (high - low) / _BINS or 1.0
    bins = [low + i * step for i in range(_BINS + 1)]
    for name, values in samples.items():
        if values:
            axes.hist(values, bins=bins, alpha=0.55, label=f"{name} ({len(values)} decisions)")
    axes.set_xlabel("gateway publish -> decision published (s)")
    axes.set_ylabel("decisions")
    axes.legend()
    return _png(figure)


def decisions_over_time(report: RunReport) -> str:
    figure, axes = plt.subplots(figsize=(8, 3.5))
    for wave in report.waves:
        times = sorted(wave.topics.decision_times_ms)
        first = wave.topics.first_webhook_ms
        if times and first is not None:
            axes.step([(t - first) / 1000 for t in times], range(1, len(times) + 1), where="post", label=wave.name)
    axes.set_xlabel("seconds since the wave's first accepted webhook")
    axes.set_ylabel("decisions (cumulative)")
    axes.legend()
    return _png(figure)


def _checks(checks: list[Check]) -> str:
    items = [
        f'<li class="{"ok" if c.ok else "fail"}">[{"ok" if c.ok else "FAIL"}] {html.escape(c.name)}: '
        f"{html.escape(c.detail)}</li>"
        for c in checks
    ]
    return "<ul>" + "".join(items) + "</ul>"


def render_html(report: RunReport) -> str:
    verdict = "every wave reconciled" if report.ok else "NOT RECONCILED"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Main job report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Main job report</h1>",
        f'<p class="{"ok" if report.ok else "fail"}">{verdict}; the run took {report.elapsed_s:.1f} s</p>',
    ]
    for wave in report.waves:
        parts.append(f"<h2>{html.escape(wave.name)}</h2>{_checks(wave.checks)}")
    if report.checks:
        parts.append(f"<h2>Model</h2>{_checks(report.checks)}")
    parts.append("<h2>Plots</h2>")
    parts.append(_image(latency_histogram(report), "End-to-end latency per wave"))
    parts.append(_image(decisions_over_time(report), "Decisions over time per wave"))
    curve = report.model.pr_curve_png if report.model else None
    if curve is not None and curve.exists():
        data = base64.b64encode(curve.read_bytes()).decode()
        parts.append(_image(data, f"PR curve on the holdout (the pipelines' evaluation, {curve.name})"))
    else:
        parts.append("<p>PR curve: not found (no evaluation ran)</p>")
    parts.append(f"<h2>Full report</h2><pre>{html.escape(report.render())}</pre></body></html>")
    return "".join(parts)


def write_html(report: RunReport, path: Path) -> Path:
    path.write_text(render_html(report))
    return path
