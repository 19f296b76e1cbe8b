"""Typed settings: defaults, then a TOML file, then ``TUIJIAN_*`` environment variables, then CLI flags.

Build them with :func:`load_settings`; nothing is read at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tuijian.exceptions import ConfigError


def _default_home() -> Path:
    return Path(os.environ.get("TUIJIAN_HOME", Path.cwd() / "var"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUIJIAN_", extra="ignore", toml_file=None)

    env: Literal["development", "production", "test"] = "development"
    home: Path = Field(
        default_factory=_default_home, description="where artifacts, the SQLite database and reports live"
    )
    data_dir: Path | None = Field(
        default=None, description="root of the real datasets (see resolve_data_dir)"
    )
    database_url: str | None = Field(
        default=None, description="sqlite:///… (default, in home) or postgresql://…"
    )
    dataset: str = Field(default="online-retail-demo", description="dataset served by default")
    admin_key: str | None = Field(default=None, description="accepted as an admin API key when set")
    secret_key: str = Field(default="dev-insecure-secret", description="signs session cookies")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=2, ge=1)
    log_level: str = "info"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = os.environ.get("TUIJIAN_CONFIG")
        if toml:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml)))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'tuijian.sqlite').resolve()}"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    def check_secure(self) -> None:
        """Refuse default secrets outside development."""
        if self.env == "production" and self.secret_key == "dev-insecure-secret":
            raise ConfigError("TUIJIAN_SECRET_KEY must be set to a random value when TUIJIAN_ENV=production")


def load_settings(**overrides: Any) -> Settings:
    """Settings from defaults < TOML file (``TUIJIAN_CONFIG``) < environment < ``overrides`` (CLI flags)."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)
