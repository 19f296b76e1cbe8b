"""Per-request page state (language, visitor id, shopper, CSRF) and HTML rendering with cookies."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tuijian.exceptions import PermissionDeniedError
from tuijian.service.web.context import WebContext, web_context
from tuijian.service.web.i18n import LANG_COOKIE, LANGUAGES, pick_language, translator
from tuijian.service.web.security import SHOPPER_COOKIE, SID_COOKIE, new_sid

YEAR = 365 * 24 * 3600


@dataclass
class Page:
    """What every page knows about the current visitor."""

    request: Request
    ctx: WebContext
    lang: str
    sid: str
    shopper: str
    is_guest: bool
    started: float = field(default_factory=time.perf_counter)
    new_cookies: dict[str, str] = field(default_factory=dict)

    @property
    def t(self) -> Any:
        return translator(self.lang)

    @property
    def csrf(self) -> str:
        return self.ctx.signer.csrf_token(self.sid)

    @property
    def request_id(self) -> str:
        return str(self.request.scope.get("state", {}).get("request_id", "web"))

    def check_csrf(self, token: str | None) -> None:
        if not self.ctx.signer.check_csrf(self.sid, token):
            raise PermissionDeniedError(self.t("csrf_failed") + " (csrf token missing or invalid)")

    def render(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        other = "en" if self.lang == "zh" else "zh"
        html = self.ctx.env.get_template(template).render(
            t=self.t,
            lang=self.lang,
            other_lang=other,
            languages=LANGUAGES,
            csrf=self.csrf,
            shopper=self.shopper,
            is_guest=self.is_guest,
            path=self.request.url.path,
            query=str(self.request.url.query),
            **values,
        )
        response = HTMLResponse(html, status_code=status_code)
        response.headers["Server-Timing"] = f"render;dur={(time.perf_counter() - self.started) * 1000:.1f}"
        return self.finish(response)

    def redirect(self, url: str) -> RedirectResponse:
        return self.finish(RedirectResponse(url, status_code=303))

    def finish(self, response: Any) -> Any:
        secure = self.request.url.scheme == "https"
        for name, value in self.new_cookies.items():
            response.set_cookie(name, value, max_age=YEAR, httponly=True, samesite="lax", secure=secure)
        if self.request.query_params.get("lang") and self.request.cookies.get(LANG_COOKIE) != self.lang:
            response.set_cookie(LANG_COOKIE, self.lang, max_age=YEAR, samesite="lax", secure=secure)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def set_shopper(self, user: str, guest: bool) -> None:
        self.shopper, self.is_guest = user, guest
        self.new_cookies[SHOPPER_COOKIE] = self.ctx.signer.sign({"user": user, "guest": guest})


def page(request: Request) -> Page:
    """The :class:`Page` of a request (a FastAPI dependency)."""
    ctx = web_context(request)
    signer = ctx.signer
    new: dict[str, str] = {}
    sid = signer.unsign(request.cookies.get(SID_COOKIE))
    if not isinstance(sid, str):
        sid = new_sid()
        new[SID_COOKIE] = signer.sign(sid)
    shopper = signer.unsign(request.cookies.get(SHOPPER_COOKIE))
    if isinstance(shopper, dict) and isinstance(shopper.get("user"), str):
        user, guest = shopper["user"], bool(shopper.get("guest"))
    else:
        user, guest = f"guest-{sid[:12]}", True
        new[SHOPPER_COOKIE] = signer.sign({"user": user, "guest": True})
    lang = pick_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )
    return Page(request, ctx, lang, sid, user, guest, new_cookies=new)
