"""Settings that are derived from other settings."""

from __future__ import annotations

import pytest

from workers.settings import Settings


@pytest.fixture(autouse=True)
def no_ifss_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IFSS_PUBLIC_URL", "IFSS_API_HOST", "IFSS_API_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_alert_links_follow_the_api_port_when_no_public_url_is_set() -> None:
    settings = Settings(_env_file=None, api_port=8123)  # type: ignore[call-arg]
    assert settings.link_base == "http://127.0.0.1:8123"


def test_a_public_url_wins_over_the_api_address() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, api_port=8123, public_url="https://ifss.example"
    )
    assert settings.link_base == "https://ifss.example"


def test_public_url_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IFSS_PUBLIC_URL", "https://cases.example.org")
    assert Settings(_env_file=None).link_base == "https://cases.example.org"  # type: ignore[call-arg]
