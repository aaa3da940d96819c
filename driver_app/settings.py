"""The driver app's settings: flags > LOBBYKEY_* environment > config file > defaults.

Secrets never live here (STYLE habit 10): tokens and keys go to the credential store.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from driver_app.paths import config_file, default_data_dir

DEFAULT_ACCESS_URL = "http://127.0.0.1:8750"
DEFAULT_RADIO = "127.0.0.1:8751"


class BleMode(StrEnum):
    SYSTEM = "system"  # bleak's OS backend: real doors
    SIM = "sim"  # the bumble backend attached to a `mock-building` radio


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOBBYKEY_", extra="forbid", frozen=True)

    access_url: str = Field(
        DEFAULT_ACCESS_URL, description="Base URL of the access service (the /v1 API lives under it)."
    )
    ble_mode: BleMode = Field(
        BleMode.SYSTEM, description="`system` talks to real doors; `sim` to a mock building's radio."
    )
    radio_address: str = Field(
        DEFAULT_RADIO, description="HOST:PORT of the mock building's radio, used in `sim` mode."
    )
    camera_source: str | None = Field(
        None, description="Camera: a device index, a video file or a folder of images; none to disable."
    )
    data_dir: Path = Field(
        default_factory=default_data_dir, description="Where the outbox and other state are kept."
    )
    allow_insecure_keyring: bool = Field(
        False, description="Accept a missing or plain-text keyring: secrets then last one session only."
    )
    request_timeout: float = Field(
        5.0, gt=0, description="Seconds before an access-service call counts as unreachable."
    )
    find_timeout: float = Field(
        3.0, gt=0, description="Seconds to listen for door advertisements before giving up."
    )
    keymap: dict[str, str] = Field(
        default_factory=dict, description="Key binding overrides: binding id → keys (e.g. stop.unlock = 'u')."
    )

    @field_validator("access_url")
    @classmethod
    def _secure_access_url(cls, url: str) -> str:
        """`https://` anywhere; `http://` only to this machine, where nothing crosses a network."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("the access URL must be https://HOST[:PORT]")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError(
                f"http:// is allowed only to this machine (localhost, 127.0.0.1, ::1), not {parts.hostname}: "
                "use https://"
            )
        return url

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_file()))

    def radio_host_port(self) -> tuple[str, int]:
        host, _, port = self.radio_address.rpartition(":")
        return host, int(port)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def settings_problem(err: ValidationError) -> str:
    """One line per refused setting, "field: why", for a command line to print."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg'].removeprefix('Value error, ')}"
        for error in err.errors()
    )
