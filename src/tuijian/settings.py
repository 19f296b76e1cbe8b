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

#: the least length of the cookie secret and of the admin key in production
MIN_SECRET_CHARS = 32
#: values published in docs, examples and older versions: never a secret
KNOWN_DEFAULTS = frozenset(
    {
        "dev-insecure-secret",
        "changeme",
        "change-me",
        "secret",
        "password",
        "admin",
        "test",
        "test-admin-key",
        "test-admin-key-0123456789",
        "replace-me",
        "your-secret-key",
    }
)


def secret_weakness(value: str) -> str | None:
    """Why ``value`` is not a usable secret (a known default, too short, too repetitive), or None."""
    if value.strip().lower() in KNOWN_DEFAULTS or "insecure" in value.lower():
        return "is a published default value"
    if len(value) < MIN_SECRET_CHARS:
        return f"is {len(value)} characters long; use at least {MIN_SECRET_CHARS}"
    if len(set(value)) < 10:
        return f"uses only {len(set(value))} distinct characters; use a random value"
    return None


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
    admin_key: str | None = Field(
        default=None,
        description=f"accepted as an admin API key when set; in production at least {MIN_SECRET_CHARS} "
        "random characters",
    )
    secret_key: str | None = Field(
        default=None,
        description="signs the web pages' cookies (visitor, shopper, admin session). Required in production "
        f"(at least {MIN_SECRET_CHARS} random characters); in development and test a random one is generated "
        "and kept in <home>/run/secret_key",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=2, ge=1)
    log_level: str = "info"
    shopper_picker: bool | None = Field(
        default=None,
        description="let storefront visitors act as any stored shopper (a demo feature: they can then see, "
        "buy and review in that shopper's name). Default: on in development and test, off in production; "
        "when off a visitor is a guest bound to their own session cookie",
    )
    rate_limit_per_second: float = Field(
        default=10_000.0,
        ge=0,
        description="requests a second allowed per API key and worker process on average (0 = no limit); "
        "over it the answer is 429 with Retry-After. The default stops floods without slowing one busy "
        "storefront key (a worker serves up to ~8,000 requests a second); set what one client may use",
    )
    rate_limit_burst: int = Field(default=20_000, ge=1, description="requests a key may send at once")
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="largest request body, except the ingestion routes (413)"
    )
    max_ingest_body_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="largest body of POST /v1/events, /v1/items, /v1/users and /v1/feedback (413)",
    )

    # issue 13: the live strategy bandit (tuijian.service.bandit, docs/bandit.md)
    bandit: bool = Field(
        default=False, description="choose the strategy per request with a contextual bandit"
    )
    bandit_algorithm: Literal["thompson", "linucb", "uniform"] = "thompson"
    bandit_strategies: str = Field(
        default="model,sequential,content,trending,popular",
        description="the strategies the bandit chooses among, comma-separated",
    )
    bandit_alpha: float = Field(default=0.5, ge=0, description="confidence width (LinUCB) or posterior scale")
    bandit_max_exploration: float = Field(
        default=0.2, ge=0, le=1, description="most probability of a strategy other than the greedy one"
    )
    bandit_min_propensity: float = Field(
        default=0.01, ge=0, le=0.2, description="least probability per strategy"
    )
    bandit_rewards: dict[str, float] = Field(
        default={"click": 1.0, "add_to_cart": 0.5, "purchase": 1.0},
        description="reward per feedback event (JSON object in TUIJIAN_BANDIT_REWARDS)",
    )
    bandit_sync_seconds: float = Field(default=1.0, gt=0, le=60, description="how often workers learn")
    bandit_state: Path | None = Field(
        default=None, description="shared state file (default <home>/run/bandit.sqlite)"
    )

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

    @property
    def allows_shopper_picker(self) -> bool:
        return self.shopper_picker if self.shopper_picker is not None else self.env != "production"

    def check_secure(self) -> list[str]:
        """What is insecure about these settings; raises :class:`ConfigError` listing it in production.

        Production needs ``TUIJIAN_SECRET_KEY`` (cookie signing) of at least :data:`MIN_SECRET_CHARS` random
        characters, not a published default and not equal to the admin key, and ``TUIJIAN_ADMIN_KEY``, as
        strong. In development and test the problems are returned so the caller can warn.
        """
        problems: list[str] = []
        if not self.secret_key:
            problems.append("TUIJIAN_SECRET_KEY is not set")
        else:
            weak = secret_weakness(self.secret_key)
            if weak:
                problems.append(f"TUIJIAN_SECRET_KEY {weak}")
        if not self.admin_key:
            problems.append("TUIJIAN_ADMIN_KEY is not set (the dashboard and key management need it)")
        else:
            weak = secret_weakness(self.admin_key)
            if weak:
                problems.append(f"TUIJIAN_ADMIN_KEY {weak}")
            if self.secret_key and self.admin_key == self.secret_key:
                problems.append("TUIJIAN_SECRET_KEY and TUIJIAN_ADMIN_KEY are the same value")
        if problems and self.env == "production":
            raise ConfigError(
                "refusing to start with TUIJIAN_ENV=production: "
                + "; ".join(problems)
                + '. Generate each secret with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        return problems


def load_settings(**overrides: Any) -> Settings:
    """Settings from defaults < TOML file (``TUIJIAN_CONFIG``) < environment < ``overrides`` (CLI flags)."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)
