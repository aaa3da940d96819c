"""The driver app's settings: flags > LOBBYKEY_* environment > config file > defaults.

Secrets never live here (STYLE habit 10): tokens and keys go to the credential store.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from driver_app.paths import CONFIG_ENV, config_file, default_data_dir

DEFAULT_ACCESS_URL = "http://127.0.0.1:8750"
DEFAULT_RADIO = "127.0.0.1:8751"


class ConfigError(Exception):
    """A setting is wrong; `str()` is one line naming where it came from (file:line, env var or flag)."""


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


def load_settings(**flags: Any) -> Settings:
    """`Settings(**flags)`, but every problem is a `ConfigError` that says where the bad value lives.

    An explicit `$LOBBYKEY_CONFIG` must exist (a typo there would silently drop every setting).
    """
    path = config_file()
    if os.environ.get(CONFIG_ENV) and not path.is_file():
        raise ConfigError(f"{path}: config file not found (named by ${CONFIG_ENV})")
    text = _read_config(path)
    try:
        settings = Settings(**flags)
    except ValidationError as err:
        raise ConfigError(_describe(err, flags, path, text)) from err
    _check_data_dir(settings.data_dir, _origin("data_dir", flags, path, text))
    return settings


def _read_config(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the config file: {err}") from err
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        where = re.search(r"\(at line (\d+), column \d+\)", str(err))
        what = re.sub(r"\s*\(at line.*\)$", "", str(err))
        line = f":{where.group(1)}" if where else ""
        raise ConfigError(f"{path}{line}: not valid TOML: {what}") from err
    return text


def _describe(err: ValidationError, flags: dict[str, Any], path: Path, text: str) -> str:
    """The first problem, as `where: what` (pydantic's own wording for values, ours for unknown keys)."""
    problem = err.errors()[0]
    loc = [str(part) for part in problem["loc"]]
    key = ".".join(loc) or "?"
    where = _origin(loc[-1] if loc else "", flags, path, text, top=loc[0] if loc else "")
    if problem["type"] == "extra_forbidden":
        close = difflib.get_close_matches(key, list(Settings.model_fields), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(Settings.model_fields)})"
        return f"{where}: unknown setting {key!r}{hint}"
    return f"{where}: {key}: {problem['msg'].removeprefix('Value error, ')}"


def _origin(key: str, flags: dict[str, Any], path: Path, text: str, *, top: str | None = None) -> str:
    """Which source set `key`: a flag, the LOBBYKEY_ variable, or a line of the config file."""
    top = top or key
    if top in flags:
        return f"--{top.replace('_', '-')}"
    env = f"LOBBYKEY_{top.upper()}"
    if env in os.environ:
        return f"${env}"
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return f"{path}:{number}"
    return str(path) if text else "settings"


def _check_data_dir(data_dir: Path, origin: str) -> None:
    """The outbox is made lazily, deep in a worker: say now, in one line, if it never can be."""
    for ancestor in (data_dir, *data_dir.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ConfigError(f"{origin}: data_dir {data_dir} cannot be created: {ancestor} is a file")
            return
