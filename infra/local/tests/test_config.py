from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.config import SETTINGS, Ports, StackConfig, default_state_dir
from local_stack.errors import ConfigError


def test_defaults_use_the_usual_ports_and_the_repo_state_dir(tmp_path: Path) -> None:
    (tmp_path / "pants.toml").write_text("")
    nested = tmp_path / "infra" / "local"
    nested.mkdir(parents=True)

    config = StackConfig.from_env({"HOME": str(tmp_path)}, cwd=nested)

    assert config.ports == Ports()
    assert config.ports.kafka == 9092 and config.ports.temporal == 7233
    assert config.state_dir == tmp_path / ".state"


def test_every_setting_is_read_from_the_environment(tmp_path: Path) -> None:
    env = {
        "LOCAL_STACK_STATE_DIR": str(tmp_path / "state"),
        "LOCAL_STACK_CACHE_DIR": str(tmp_path / "cache"),
        "LOCAL_STACK_KAFKA_PORT": "19092",
        "LOCAL_STACK_KAFKA_CONTROLLER_PORT": "19093",
        "LOCAL_STACK_TEMPORAL_PORT": "17233",
        "LOCAL_STACK_TEMPORAL_HTTP_PORT": "17243",
        "LOCAL_STACK_TEMPORAL_UI_PORT": "18233",
        "LOCAL_STACK_TEMPORAL_METRICS_PORT": "17235",
        "LOCAL_STACK_POSTGRES_PORT": "15432",
        "LOCAL_STACK_KAFKA_HEAP": "256m",
        "LOCAL_STACK_START_TIMEOUT": "30",
    }

    config = StackConfig.from_env(env)

    assert config.state_dir == tmp_path / "state"
    assert config.cache_dir == tmp_path / "cache"
    assert config.ports == Ports(19092, 19093, 17233, 17243, 18233, 17235, 15432)
    assert config.kafka_heap == "256m"
    assert config.start_timeout == 30.0


def test_cache_defaults_to_xdg_cache_home(tmp_path: Path) -> None:
    config = StackConfig.from_env({"XDG_CACHE_HOME": str(tmp_path)}, cwd=tmp_path)

    assert config.cache_dir == tmp_path / "payments-mlops"


@pytest.mark.parametrize("value", ["http", "0", "70000"])
def test_a_bad_port_names_its_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="LOCAL_STACK_POSTGRES_PORT"):
        StackConfig.from_env({"LOCAL_STACK_POSTGRES_PORT": value})


def test_state_dir_falls_back_to_the_working_directory(tmp_path: Path) -> None:
    assert default_state_dir(tmp_path) in (tmp_path / ".state", *[p / ".state" for p in tmp_path.parents])


def test_every_documented_setting_is_in_the_readme() -> None:
    readme = Path(__file__).parents[1] / "README.md"
    text = readme.read_text()
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in text]
    assert missing == []
