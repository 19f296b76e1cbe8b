"""The audit log: who did what, when. One call, :func:`audit`, for every admin action and data export.

Recorded by the store itself (same transaction as the change): ``api_key_create``, ``api_key_revoke``,
``model_activate`` (a retrain or hot swap of the served version), ``user_delete``, ``expire``,
``pii_key_rotate``, ``pseudonymize``, ``model_purge``. Recorded by the privacy routes and commands:
``user_export``, ``refit``, ``backup``, ``restore``. Other admin actions call :func:`audit` themselves,
e.g. ``audit(store, actor_from_request(request), "retrain", {"model": name})``.

Actors are ``key:<key_id>`` (an API key; never the secret), ``admin-key`` (``TUIJIAN_ADMIN_KEY``),
``cli:<os user>`` or ``system``.
"""

from __future__ import annotations

import getpass
import hmac
from typing import Any

from tuijian.store.keys import split_key


def audit(
    store: Any, actor: str, action: str, detail: dict[str, Any] | None = None, *, target: str | None = None
) -> None:
    """Append one entry to ``store``'s audit log (``detail``: any JSON-able facts, never secrets)."""
    store.audit(actor, action, target, detail)


def actor_from_key(key: str | None, admin_key: str | None = None) -> str:
    """The audit name of whoever sent API key ``key``."""
    if not key:
        return "anonymous"
    if admin_key and hmac.compare_digest(key.encode(), admin_key.encode()):
        return "admin-key"
    parts = split_key(key)
    return f"key:{parts[0]}" if parts else "unknown-key"


def actor_from_request(request: Any) -> str:
    """The audit name of the caller of a service request (from its ``X-API-Key`` header)."""
    auth = getattr(request.app.state.tuijian, "auth", None)
    return actor_from_key(request.headers.get("X-API-Key"), getattr(auth, "admin_key", None))


def cli_actor() -> str:
    """``cli:<os user>`` for commands run from a shell."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli:unknown"
