"""Web pages served by the Tuijian app: the storefront (``/``, ``/items/{id}``, ``/search``, ``/cart``) and the
operator dashboard (``/login``, ``/dashboard``…). Server-rendered Jinja2 with a little plain JavaScript and a
locally bundled Chart.js (no CDN, no build step). ``register(app)`` is called by
:func:`tuijian.service.app.create_app`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).parent / "static"


def register(app: Any) -> None:
    """Mount ``/static/web`` and include the storefront and dashboard routes."""
    from starlette.staticfiles import StaticFiles

    from tuijian.service.web import dashboard, experiments_page, explain_page, storefront

    app.mount("/static/web", StaticFiles(directory=STATIC_DIR), name="web-static")
    app.include_router(storefront.router)
    app.include_router(dashboard.router)
    app.include_router(experiments_page.router)
    app.include_router(explain_page.router)
