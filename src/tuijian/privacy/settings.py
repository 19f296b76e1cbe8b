"""Privacy settings, from ``TUIJIAN_*`` environment variables (built by :func:`load_privacy_settings`).

=========================  ==========================================================================
variable                   meaning
=========================  ==========================================================================
TUIJIAN_PSEUDONYM_KEY      secret (>= 32 characters): user ids are stored as keyed HMAC-SHA256 pseudonyms
TUIJIAN_PII_KEYS           ``kid:base64key[,kid:base64key...]``: AES-256-GCM keys, the first encrypts
TUIJIAN_RETENTION_DAYS     events, feedback and impressions older than this are expired by
                           ``tuijian privacy expire`` (unset: kept forever)
=========================  ==========================================================================

Nothing is read at import time.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tuijian.exceptions import ConfigError

#: the shortest accepted pseudonym key (characters)
MIN_PSEUDONYM_KEY = 32


class PrivacySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUIJIAN_", extra="ignore")

    pseudonym_key: SecretStr | None = Field(
        default=None, description="HMAC key for user-id pseudonyms (unset: ids are stored as sent)"
    )
    pii_keys: SecretStr | None = Field(
        default=None, description="AES-GCM keyring 'kid:base64,...' for email/name/address; first encrypts"
    )
    retention_days: float | None = Field(
        default=None, gt=0, description="expire behaviour records older than this many days"
    )

    @field_validator("pseudonym_key", "pii_keys", mode="before")
    @classmethod
    def _blank_is_unset(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("pseudonym_key")
    @classmethod
    def _long_enough(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < MIN_PSEUDONYM_KEY:
            raise ValueError(
                f"must be at least {MIN_PSEUDONYM_KEY} characters, got {len(v.get_secret_value())}; "
                "generate one with `tuijian privacy new-key --pseudonym`"
            )
        return v


def load_privacy_settings(**overrides: Any) -> PrivacySettings:
    """Privacy settings from the environment, with ``overrides`` (``None`` values ignored) on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return PrivacySettings(**clean)
    except ValidationError as exc:
        problems = "; ".join(
            f"TUIJIAN_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid privacy settings: {problems}") from None
