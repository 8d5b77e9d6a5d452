"""A service whose configuration is bad exits 2 before binding, naming the variable."""

from __future__ import annotations

import pytest
from service_kit import settings_or_exit

from service_config import ConfigurationError


def test_bad_configuration_exits_2_with_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    def get_settings() -> object:
        raise ConfigurationError("invalid shop configuration: SHOP_PORT: too large")

    with pytest.raises(SystemExit) as exited:
        settings_or_exit("shop", get_settings)
    assert exited.value.code == 2
    assert capsys.readouterr().err == "shop: invalid shop configuration: SHOP_PORT: too large\n"


def test_good_configuration_is_returned() -> None:
    assert settings_or_exit("shop", lambda: {"port": 8000}) == {"port": 8000}
