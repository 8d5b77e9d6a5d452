"""The calibration again, from `wrk` (a C load generator), when it is installed.

Our load generator is Python: at saturation it needs about a core of its own on a 2-vCPU host.
`wrk` needs a fraction of that, so if the host looked slow only because the client competed with
the server, `wrk` would show it. (`apt-get install wrk`; the bench says so when it is missing.)
"""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from inference_bench.host import HostSample
from testing.processes import ServerProcess

_REQUESTS_PER_SECOND = re.compile(r"^Requests/sec:\s+([0-9.]+)", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def wrk_saturate(
    server: ServerProcess, path: str, body: dict[str, Any], duration: float, connections: int, work: Path
) -> dict[str, Any] | None:
    """Throughput of `path` with `connections` keep-alive connections back to back, from one wrk
    thread; None when wrk is not on PATH."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    script = work / "post.lua"
    # A Lua long string holds the JSON as is; the level is one its text cannot close.
    payload = json.dumps(body)
    level = "=" * (max((len(run) for run in re.findall(r"=+", payload)), default=0) + 1)
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = [{level}[{payload}]{level}]\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
    )

    def run(seconds: float) -> str:
        argv = [wrk, "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "-s", str(script), server.base_url + path]
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout  # noqa: S603 (fixed argv)

    run(1.0)  # warm-up
    before = HostSample.take(server.process.pid)
    output = run(duration)
    match = _REQUESTS_PER_SECOND.search(output)
    if match is None:
        raise RuntimeError(f"wrk printed no Requests/sec:\n{output}")
    rps = float(match.group(1))
    non_2xx = _NON_2XX.search(output)
    result: dict[str, Any] = {
        "achieved_rps": rps,
        "connections": connections,
        "errors": {"non_2xx": int(non_2xx.group(1))} if non_2xx else {},
    }
    return result | HostSample.take(server.process.pid).since(before, round(rps * duration))
