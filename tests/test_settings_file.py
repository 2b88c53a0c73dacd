"""Where the endpoint, key and limits come from: environment, then settings file, then flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_imagegen.definitions import build_provider
from catalog_imagegen.generation.providers.offline import OfflinePreviewProvider
from catalog_imagegen.generation.providers.openai_http import OpenAICompatibleProvider
from catalog_imagegen.request import RunRequest
from catalog_imagegen.settings_file import (
    SettingsFileError,
    load_settings,
    load_settings_with,
    with_endpoint,
)


def write(folder: Path, text: str) -> Path:
    path = folder / "catalog-imagegen.toml"
    path.write_text(text)
    return path


def test_without_a_file_the_openai_environment_names_are_used(tmp_path: Path) -> None:
    settings = load_settings(
        {"OPENAI_API_KEY": "sk-1", "OPENAI_BASE_URL": "http://gw/v1/"}, tmp_path
    )
    assert settings.base_url == "http://gw/v1"
    assert settings.api_key is not None
    assert settings.api_key.reveal() == "sk-1"
    assert settings.model == "gpt-image-2"


def test_the_file_overrides_the_environment_and_names_the_key_variable(tmp_path: Path) -> None:
    write(
        tmp_path,
        'provider = "wisgate"\napi_key_env = "WISGATE_API_KEY"\nrpm = 50\n'
        "concurrency = 4\nread_timeout = 600\n",
    )
    env = {"OPENAI_API_KEY": "sk-openai", "WISGATE_API_KEY": "wg-key", "CATALOG_IMAGEGEN_RPM": "9"}
    settings = load_settings(env, tmp_path)
    assert settings.base_url == "https://api.wisgate.ai/v1"
    assert settings.provider == "wisgate"
    assert settings.api_key is not None
    assert settings.api_key.reveal() == "wg-key"
    assert (settings.rpm, settings.concurrency, settings.read_timeout) == (50, 4, 600.0)
    assert "wg-key" not in repr(settings)


def test_the_settings_path_can_be_named(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text('base_url = "http://127.0.0.1:9/v1"\napi_key_env = "GATEWAY_KEY"\n')
    env = {"CATALOG_IMAGEGEN_SETTINGS": str(path), "GATEWAY_KEY": "gw-1"}
    settings = load_settings(env, tmp_path / "nowhere")
    assert settings.base_url == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('api_key = "sk-secret"\n', "API keys are not read from the settings file"),
        ('openai_api_key = "sk-secret"\n', "API keys are not read from the settings file"),
        ('api_key_env = "MISSING_KEY"\n', "'MISSING_KEY', but it is not set"),
        ('rpm = "fast"\n', "rpm must be a int"),
        ("colour = 1\n", "unknown settings colour"),
        ('provider = "acme"\n', "provider must be one of openai, wisgate"),
        ("rpm = [\n", "cannot be read"),
    ],
)
def test_a_bad_settings_file_is_refused_with_the_reason(
    tmp_path: Path, text: str, message: str
) -> None:
    write(tmp_path, text)
    with pytest.raises(SettingsFileError, match=message) as refused:
        load_settings({}, tmp_path)
    assert "sk-secret" not in str(refused.value)


def test_flags_win_and_an_explicit_base_url_wins_over_a_preset(tmp_path: Path) -> None:
    settings = load_settings({}, tmp_path)
    assert with_endpoint(settings, provider="wisgate").base_url == "https://api.wisgate.ai/v1"
    assert (
        with_endpoint(settings, provider="wisgate", base_url="http://x/v1").base_url
        == "http://x/v1"
    )


async def test_a_key_selects_the_http_provider_else_the_offline_preview(tmp_path: Path) -> None:
    assert isinstance(build_provider(load_settings({}, tmp_path), {}), OfflinePreviewProvider)
    env = {
        "OPENAI_API_KEY": "sk-live",
        "CATALOG_IMAGEGEN_CONCURRENCY": "5",
        "CATALOG_IMAGEGEN_RPM": "30",
    }
    provider = build_provider(load_settings(env, tmp_path), {})
    assert isinstance(provider, OpenAICompatibleProvider)
    assert (provider.limiter.concurrency, provider.limiter.rpm) == (5, 30)
    assert "sk-live" not in repr(provider)
    await provider.aclose()


@pytest.mark.parametrize(
    ("env", "file", "key"),
    [
        ({"OPENAI_API_KEY": "sk-o"}, "", "sk-o"),
        ({"OPENAI_API_KEY": "sk-o", "OPENAI_BASE_URL": "http://gw/v1"}, "", "sk-o"),
        ({"OPENAI_API_KEY": "sk-o", "WISGATE_API_KEY": "wg"}, 'provider = "wisgate"\n', "wg"),
        (
            {"OPENAI_API_KEY": "sk-o", "GW": "gw"},
            'base_url = "https://gw.example/v1"\napi_key_env = "GW"\n',
            "gw",
        ),
        ({"OPENAI_API_KEY": "sk-o", "GW": "gw", "CATALOG_IMAGEGEN_API_KEY_ENV": "GW"}, "", "gw"),
    ],
)
def test_each_endpoint_gets_the_key_of_its_own_provider(
    tmp_path: Path, env: dict[str, str], file: str, key: str
) -> None:
    write(tmp_path, file)
    settings = load_settings(env, tmp_path)
    assert settings.api_key is not None and settings.api_key.reveal() == key


@pytest.mark.parametrize(
    ("file", "flags", "message"),
    [
        ('provider = "wisgate"\n', {}, "WISGATE_API_KEY is not set"),
        ("", {"provider": "wisgate"}, "WISGATE_API_KEY is not set"),
        ('base_url = "https://gw.example/v1"\n', {}, "no API key variable for https://gw.example"),
        ("", {"base_url": "https://gw.example/v1"}, 'api_key_env = "VARIABLE"'),
    ],
)
def test_openai_key_never_goes_to_another_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: str, flags: dict[str, str], message: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-only")
    write(tmp_path, file)
    with pytest.raises(SettingsFileError, match=message) as raised:
        load_settings_with(**flags)
    assert "sk-openai-only" not in str(raised.value)


@pytest.mark.parametrize(
    ("request_fields", "env", "outcome"),
    [
        ({"provider": "wisgate"}, {"WISGATE_API_KEY": "wg"}, "wg"),
        ({"provider": "wisgate"}, {}, "WISGATE_API_KEY is not set"),
        ({"base_url": "https://gw.example/v1"}, {}, "no API key variable for https://gw.example"),
        (
            {"base_url": "https://gw.example/v1"},
            {"GW": "gw", "CATALOG_IMAGEGEN_API_KEY_ENV": "GW"},
            "gw",
        ),
    ],
)
def test_a_run_request_naming_another_endpoint_takes_that_endpoints_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request_fields: dict[str, str],
    env: dict[str, str],
    outcome: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-only")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    request = RunRequest(catalog="c.csv", **request_fields)  # type: ignore[arg-type]
    if outcome.islower() and " " not in outcome:
        settings = request.settings_for(load_settings())
        assert settings.api_key is not None and settings.api_key.reveal() == outcome
        return
    with pytest.raises(ValueError, match=outcome) as refused:
        request.settings_for(load_settings())
    assert "sk-openai-only" not in str(refused.value)
