"""Runs inside a service's own pex (`PEX_INTERPRETER=1 <service>.pex probe.py`): the settings class
and the routes of the very artifact the image ships, not a copy of them.

Reads one JSON request on stdin, writes one JSON answer to the file the request names. Standard library only, plus
what the service's pex holds (imported by name: this file is not a dependency of any service).

request:  {"settings": "pkg.settings:Class", "service": "gateway", "routes": "<kind>",
           "envs": {"<label>": {"VAR": "value", ...}, ...}, "output": "<answer file>"}
answer:   {"prefix": "GATEWAY_", "fields": {"GATEWAY_PORT": {"required": false, "path": false}},
           "results": {"<label>": {"errors": [...], "values": {...}}}, "routes": ["/healthz", ...]}
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pathlib
import socket
import sys
import tempfile
import typing
from typing import Any


def _is_path(annotation: Any) -> bool:
    if annotation is pathlib.Path:
        return True
    return any(_is_path(arg) for arg in typing.get_args(annotation))


def _settings_class(spec: str) -> Any:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def _fields(cls: Any, prefix: str) -> dict[str, dict[str, bool]]:
    return {
        f"{prefix}{name.upper()}": {"required": field.is_required(), "path": _is_path(field.annotation)}
        for name, field in cls.model_fields.items()
    }


def _validate(cls: Any, service: str, prefix: str, env: dict[str, str], scratch: pathlib.Path) -> dict[str, Any]:
    """Validate `env` as the process environment. A path is a mount point inside the container,
    absent here: it is moved under `scratch` (a `*_ROOT`/`*_DIR` as a folder, any other as a file's
    parent), so every other check of the class still runs on the deployment's value."""
    fields = _fields(cls, prefix)
    environ = {key: value for key, value in os.environ.items() if not key.upper().startswith(prefix)}
    for key, value in env.items():
        info = fields.get(key.upper())
        if info and info["path"] and value:
            moved = scratch / value.lstrip("/")
            folder = moved if key.upper().endswith(("_ROOT", "_DIR")) else moved.parent
            folder.mkdir(parents=True, exist_ok=True)
            value = str(moved)
        environ[key] = value
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        service_config = importlib.import_module("service_config")
        try:
            settings = service_config.load_settings(cls, service)
        except service_config.ConfigurationError as error:
            return {"errors": [str(error)], "values": {}, "settings": None}
        return {"errors": [], "values": json.loads(settings.model_dump_json()), "settings": settings}
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _litestar_routes(factory: str, settings: Any) -> list[str]:
    module, _, name = factory.partition(":")
    app = getattr(importlib.import_module(module), name)(settings)
    return sorted({route.path for route in app.routes if "GET" in getattr(route, "methods", {"GET"})})


def _faust_routes(settings: Any) -> list[str]:
    normalizer = importlib.import_module("normalizer.app").create_app(settings)
    return sorted(normalizer.app.web.views)


def _feast_routes(settings: Any, scratch: pathlib.Path) -> list[str]:
    # The app is built around a real FeatureStore; a local SQLite one under scratch, since the
    # deployment's online store (Redis) is not here. The routes do not depend on the store.
    local = type(settings)(root=scratch / "feature-repo", online_store="sqlite", registry_type="file")
    store = importlib.import_module("feature_repo.store").open_store(local)
    app = importlib.import_module("feast.feature_server").get_app(store)
    paths = sorted({route.path for route in app.routes if "GET" in getattr(route, "methods", set())})
    return paths + _feature_repo_commands()


def _feature_repo_commands() -> list[str]:
    """The CLI commands the image's entrypoint passes to `python -m feature_repo` (`apply`, ...):
    listed only when the pex carries `feature_repo.__main__`, as `cli:feature-repo <command>`."""
    import importlib.util
    import re

    if importlib.util.find_spec("feature_repo.__main__") is None:
        return []
    source = inspect.getsource(importlib.import_module("feature_repo.cli"))
    return [f"cli:feature-repo {name}" for name in re.findall(r'add_parser\(\s*"([a-z-]+)"', source)]


_CANDIDATES = ("/healthz", "/readyz", "/metrics", "/not-a-route")


def _free_port() -> int:
    with socket.socket() as probe_socket:  # a free port (the servers report the port they were given)
        probe_socket.bind(("127.0.0.1", 0))
        return int(probe_socket.getsockname()[1])


async def _ask_paths(port: int) -> list[str]:
    """The candidate paths a server on `port` serves: a route is a path that is not 404."""
    import asyncio
    import urllib.error
    import urllib.request

    def status(url: str) -> int:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http://127.0.0.1 only)
            return int(response.status)

    found = []
    for path in _CANDIDATES:
        try:
            code = await asyncio.to_thread(status, f"http://127.0.0.1:{port}{path}")
        except urllib.error.HTTPError as error:
            code = error.code
        if code != 404:
            found.append(path)
    if "/not-a-route" in found:
        raise RuntimeError("the health server answers any path: its routes cannot be told apart")
    return found


def _orchestrator_routes() -> list[str]:
    """Starts the real health server on a free port and asks it."""
    import asyncio

    health = importlib.import_module("orchestrator.health")
    port = _free_port()

    async def ask() -> list[str]:
        async with health.HealthServer("127.0.0.1", port, health.Metrics()):
            return await _ask_paths(port)

    return asyncio.run(ask())


def _feast_push_routes(settings: Any) -> list[str]:
    """Starts the push consumer's own health server (the one `run` starts) on a free port, around a
    consumer that has not started (so not ready), and asks it."""
    import asyncio

    push = importlib.import_module("feature_repo.push_consumer")
    port = _free_port()

    async def ask() -> list[str]:
        consumer = push.PushConsumer(settings, store=None, bootstrap_servers="")
        server = await push._serve_health(consumer, "127.0.0.1", port)  # the route table is there
        try:
            return await _ask_paths(port)
        finally:
            server.close()
            await server.wait_closed()

    return asyncio.run(ask())


def _dagster_routes() -> list[str]:
    """The code server's gRPC health service and the commands and paths compose's checks use."""
    found = []
    if "add_HealthServicer_to_server" in inspect.getsource(importlib.import_module("dagster._grpc.server")):
        found.append("grpc:health")
    if "grpc-health-check" in importlib.import_module("dagster._cli.api").api_cli.commands:
        found.append("cli:dagster api grpc-health-check")
    if "liveness-check" in importlib.import_module("dagster._daemon.cli").cli.commands:
        found.append("cli:dagster-daemon liveness-check")
    webserver = inspect.getsource(importlib.import_module("dagster_webserver.webserver"))
    found.extend(path for path in ("/server_info",) if f'Route("{path}"' in webserver)
    return found


def routes(kind: str, settings: Any, scratch: pathlib.Path) -> list[str]:
    if kind.startswith("litestar="):
        return _litestar_routes(kind.removeprefix("litestar="), settings)
    if kind == "faust":
        return _faust_routes(settings)
    if kind == "feast":
        return _feast_routes(settings, scratch)
    if kind == "orchestrator":
        return _orchestrator_routes()
    if kind == "feast-push":
        return _feast_push_routes(settings)
    if kind == "dagster":
        return _dagster_routes()
    raise ValueError(f"unknown route kind {kind!r}")


def main() -> int:
    request = json.load(sys.stdin)
    cls = _settings_class(request["settings"])
    prefix = str(cls.model_config.get("env_prefix") or "")
    answer: dict[str, Any] = {"prefix": prefix, "fields": _fields(cls, prefix), "results": {}, "routes": []}
    valid = None
    with tempfile.TemporaryDirectory() as scratch:
        for label, env in request["envs"].items():
            result = _validate(cls, request["service"], prefix, env, pathlib.Path(scratch) / "env" / label)
            settings = result.pop("settings")
            valid = settings if valid is None else valid
            answer["results"][label] = result
        if valid is not None:
            answer["routes"] = routes(request["routes"], valid, pathlib.Path(scratch))
    # A file, not stdout: a service may log to stdout while its app is built.
    pathlib.Path(request["output"]).write_text(json.dumps(answer))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
