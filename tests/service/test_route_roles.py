"""Role × route matrix, generated from the app's own routes (issue 11).

Every ``(method, path)`` the app serves must be classified, or :func:`test_every_route_is_classified` fails:

* **API routes with a role**: the role comes from the route's ``requires(role)`` dependency
  (:func:`tuijian.service.auth.requires`), or, for the routes that check the key in the handler itself (shared
  with the hot path), from :data:`IN_HANDLER`. For each: no key → 401, an unknown key → 401, no key with a
  malformed body → 401 (the key is checked before the body is read), each weaker role → 403, the role and every
  stronger one → neither 401 nor 403 (nor a server error).
* **Dashboard pages** (``/dashboard…``): they need an admin session cookie, opened at ``/login`` with an admin key.
  Without one they redirect to ``/login`` (and do nothing); a weaker key cannot open a session (401).
* **Public routes**: :data:`PUBLIC`, each with its reason; they must answer without a key.

So a new route without a role fails here until it declares one (or is added, with a reason, to :data:`PUBLIC`).
"""

from __future__ import annotations

import inspect
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import make_options, make_settings
from tuijian.store.keys import ROLES

#: Routes that check the API key in the handler instead of declaring a ``requires(role)`` dependency.
IN_HANDLER: dict[tuple[str, str], str] = {
    # answered by the hot path (tuijian.service.hotpath) as well, which shares the handler's own auth call
    ("GET", "/v1/users/{user_id}/recommendations"): "read",
    ("GET", "/v1/items/{item_id}/similar"): "read",
    # checks the key in the handler (before parsing the query) like the two above
    ("GET", "/v1/trending"): "read",
}

#: Routes anyone may call without a key, and why that is safe.
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/health"): "liveness probe for load balancers: answers {'status': 'ok'} and nothing else",
    ("GET", "/ready"): "readiness probe: model version and max event id, no shopper data",
    ("GET", "/metrics"): "Prometheus scrape endpoint: aggregate counters and latencies, no shopper data",
    ("GET", "/openapi.json"): "the API description (no data)",
    ("HEAD", "/openapi.json"): "the API description (no data)",
    ("GET", "/docs"): "Swagger UI page for the API description (no data)",
    ("HEAD", "/docs"): "Swagger UI page for the API description (no data)",
    ("GET", "/docs/oauth2-redirect"): "Swagger UI helper page (no data)",
    ("HEAD", "/docs/oauth2-redirect"): "Swagger UI helper page (no data)",
    ("GET", "/redoc"): "ReDoc page for the API description (no data)",
    ("HEAD", "/redoc"): "ReDoc page for the API description (no data)",
    ("GET", "/static/web"): "CSS, JavaScript and the bundled Chart.js of the web pages",
    ("GET", "/"): "storefront home page for shoppers (a visitor sees only their own cookie-bound session)",
    ("GET", "/items/{item_id}"): "storefront item page (catalogue data, public by nature)",
    ("GET", "/search"): "storefront search over the public catalogue",
    ("GET", "/cart"): "storefront cart of the visitor's own cookie-bound session",
    ("GET", "/shop/copy"): "storefront product copy of a catalogue item (public by nature)",
    ("POST", "/shop/shopper"): "storefront form, CSRF-protected, acts on the visitor's own cookie session",
    ("POST", "/shop/cart"): "storefront form, CSRF-protected, acts on the visitor's own cookie session",
    ("POST", "/shop/buy"): "storefront form, CSRF-protected, acts on the visitor's own cookie session",
    ("POST", "/shop/checkout"): "storefront form, CSRF-protected, acts on the visitor's own cookie session",
    ("POST", "/shop/review"): "storefront form, CSRF-protected, acts on the visitor's own cookie session",
    ("GET", "/login"): "the dashboard login form: it is where an admin key is exchanged for a session",
    ("POST", "/login"): "the dashboard login: opens a session only for an admin key (checked below)",
    ("POST", "/logout"): "ends the visitor's own dashboard session (CSRF-protected)",
}

#: Routes under this prefix are the operator dashboard: they need an admin session (cookie) instead of a key.
DASHBOARD_PREFIX = "/dashboard"

HEADER = "X-API-Key"


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    role: str | None  # the declared role (a requires(role) dependency), or None
    kind: str  # "api", "dashboard", "public" or "unclassified"

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def _roles_of(dependant: Any) -> set[str]:
    """Roles declared by ``requires(role)`` dependencies anywhere in a route's dependency tree."""
    found: set[str] = set()
    for dep in getattr(dependant, "dependencies", None) or []:
        call = dep.call
        role = getattr(call, "role", None)
        if role is None and inspect.isfunction(call):
            role = inspect.getclosurevars(call).nonlocals.get("role")
        if role in ROLES:
            found.add(str(role))
        found |= _roles_of(dep)
    return found


def _route_contexts(app: Any) -> Iterator[Any]:
    """Every route of the app, included routers flattened (whatever FastAPI's router layout is)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers were kept lazily: app.routes is flat
        yield from app.routes
        return
    yield from iter_route_contexts(app.routes)


def collect_routes(app: Any) -> list[RouteInfo]:
    """One :class:`RouteInfo` per (method, path) the app serves; a mount counts as one GET route."""
    out: list[RouteInfo] = []
    for rc in _route_contexts(app):
        path = rc.path
        methods = sorted(rc.methods or []) or ["GET"]  # a Mount (static files) has no methods: GET
        roles = _roles_of(getattr(rc, "dependant", None))
        for method in methods:
            key = (method, path)
            declared = max(roles, key=ROLES.index) if roles else IN_HANDLER.get(key)
            if declared is not None:
                kind = "api"
            elif path == DASHBOARD_PREFIX or path.startswith(DASHBOARD_PREFIX + "/"):
                kind = "dashboard"
            elif key in PUBLIC:
                kind = "public"
            else:
                kind = "unclassified"
            out.append(RouteInfo(method, path, declared, kind))
    return out


def _app_routes() -> list[RouteInfo]:
    """The routes of an app built like the fixtures' (nothing is opened until its lifespan starts)."""
    from tuijian.service.app import create_app

    home = Path(tempfile.gettempdir()) / "tuijian-route-roles-collect"
    return collect_routes(create_app(make_settings(home), make_options()))


ROUTES = _app_routes()
API_ROUTES = [r for r in ROUTES if r.kind == "api"]
DASHBOARD_ROUTES = [r for r in ROUTES if r.kind == "dashboard"]
PUBLIC_ROUTES = [r for r in ROUTES if r.kind == "public"]


# ---------------------------------------------------------------------------- fixtures
@dataclass
class Matrix:
    client: Any
    keys: dict[str, str]  # role -> a stored key of that role
    user: str
    item: str

    def url(self, path: str) -> str:
        values = {"user_id": self.user, "item_id": self.item, "experiment_id": "exp-role-matrix"}

        def fill(match: re.Match[str]) -> str:
            name = match.group(1).split(":")[0]
            assert name in values, f"no demo value for path parameter {{{name}}}: add one to Matrix.url"
            return values[name]

        return re.sub(r"\{([^}]+)\}", fill, path)

    def body(self, method: str, path: str) -> dict[str, Any] | None:
        """A valid JSON body for the route (so that only the key decides), or None for routes without one."""
        if method != "POST":
            return None
        bodies: dict[str, dict[str, Any]] = {
            "/v1/events": {
                "events": [
                    {
                        "event_id": f"roles-{uuid.uuid4().hex}",
                        "user": self.user,
                        "item": self.item,
                        "kind": "view",
                    }
                ]
            },
            "/v1/items": {"items": [{"item_id": self.item, "title": "Role matrix item"}]},
            "/v1/users": {"users": [{"user_id": self.user}]},
            "/v1/feedback": {
                "feedback": [{"request_id": "role-matrix", "item": self.item, "event": "click"}]
            },
            "/v1/sessions/recommendations": {"items": [self.item], "k": 5},
            "/v1/admin/retrain": {"model": "popularity", "wait": True},
            "/v1/assistant/ask": {"question": "a gift for a friend"},
            "/v1/assistant/guide": {"request": "a gift for a friend", "k": 3},
        }
        return bodies.get(path, {})

    def call(self, route: RouteInfo, key: str | None, *, raw_body: bytes | None = None) -> Any:
        headers = {HEADER: key} if key is not None else {}
        body = self.body(route.method, route.path)
        if raw_body is not None:
            return self.client.request(
                route.method,
                self.url(route.path),
                headers={**headers, "content-type": "application/json"},
                content=raw_body,
            )
        return self.client.request(route.method, self.url(route.path), headers=headers, json=body)


@pytest.fixture(scope="module")
def matrix(prepared_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    from fastapi.testclient import TestClient

    from tuijian.service.app import create_app
    from tuijian.store import open_store

    home = tmp_path_factory.mktemp("roles") / "home"
    shutil.copytree(prepared_home, home, ignore=shutil.ignore_patterns("*.lock"))
    settings = make_settings(home)
    store = open_store(settings.resolved_database_url)
    keys = {role: store.create_api_key(role, f"role-matrix-{role}")[1] for role in ROLES}
    events = store.events_frame()
    store.close()
    user = str(events["user"].value_counts().index[0])
    item = str(events["item"].dropna().value_counts().index[0])
    with TestClient(create_app(settings, make_options()), follow_redirects=False) as client:
        yield Matrix(client, keys, user, item)
        _wait_for_background_jobs(client.app.state.tuijian)


def _wait_for_background_jobs(state: Any, timeout: float = 300.0) -> None:
    """Let the retrain and evaluation started by the dashboard forms finish before the store closes."""
    import time

    web = state.extras.get("web")
    jobs = [state.retrainer, *([web.extras["evaluation"]] if web and "evaluation" in web.extras else [])]
    deadline = time.monotonic() + timeout
    while any(job.running for job in jobs) and time.monotonic() < deadline:
        time.sleep(0.2)


# ---------------------------------------------------------------------------- the matrix
def test_every_route_is_classified() -> None:
    """A route nobody classified (no role declared, not a dashboard page, not in PUBLIC) fails here."""
    unclassified = [r.label for r in ROUTES if r.kind == "unclassified"]
    assert not unclassified, (
        f"routes without a role: {unclassified}. Declare one with Depends(requires(role)) "
        "(tuijian.service.auth), or add the route to PUBLIC in this test with the reason it is safe"
    )
    served = {(r.method, r.path) for r in ROUTES}
    stale = sorted(set(PUBLIC) - served) + sorted(set(IN_HANDLER) - served)
    assert not stale, f"entries in PUBLIC/IN_HANDLER for routes the app no longer serves: {stale}"
    both = sorted(f"{r.label} ({r.role})" for r in ROUTES if (r.method, r.path) in PUBLIC and r.role)
    assert not both, f"routes listed as PUBLIC that declare a role (remove them from PUBLIC): {both}"
    assert API_ROUTES and PUBLIC_ROUTES and DASHBOARD_ROUTES


def test_a_new_route_without_a_role_is_caught() -> None:
    """The guard above works: a route added without ``requires(role)`` comes out unclassified."""
    from fastapi import APIRouter, Depends

    from tuijian.service.app import create_app
    from tuijian.service.auth import requires

    app = create_app(make_settings(Path(tempfile.gettempdir()) / "tuijian-route-roles-new"), make_options())
    router = APIRouter()

    @router.delete("/v1/users/{user_id}")
    def forget(user_id: str) -> None: ...

    @router.get("/v1/audit")
    def audit(_role: str = Depends(requires("admin"))) -> None: ...

    app.include_router(router)
    kinds = {(r.method, r.path): (r.kind, r.role) for r in collect_routes(app)}
    assert kinds[("DELETE", "/v1/users/{user_id}")] == ("unclassified", None)
    assert kinds[("GET", "/v1/audit")] == ("api", "admin")


def test_the_matrix_covers_the_routes_that_matter() -> None:
    """The classification itself is sane: ingestion needs ingest, administration needs admin."""
    roles = {(r.method, r.path): r.role for r in API_ROUTES}
    assert roles[("POST", "/v1/events")] == "ingest"
    assert roles[("POST", "/v1/admin/retrain")] == "admin"
    assert roles[("GET", "/v1/users/{user_id}/recommendations")] == "read"
    assert all(r.path.startswith("/v1/") for r in API_ROUTES), [r.label for r in API_ROUTES]
    assert not [r.label for r in PUBLIC_ROUTES if r.path.startswith("/v1/")], "no /v1 route may be public"


@pytest.mark.parametrize("route", API_ROUTES, ids=[r.label for r in API_ROUTES])
def test_api_route_needs_its_role(matrix: Matrix, route: RouteInfo) -> None:
    assert route.role is not None
    got = matrix.call(route, None)
    assert got.status_code == 401, f"{route.label} without a key: {got.status_code} {got.text[:300]}"
    got = matrix.call(route, "tj_000000000000_not-a-real-key")
    assert got.status_code == 401, f"{route.label} with an unknown key: {got.status_code} {got.text[:300]}"
    if route.method in ("POST", "PUT", "PATCH"):
        got = matrix.call(route, None, raw_body=b'{"not json')
        assert got.status_code == 401, (
            f"{route.label} without a key and with a malformed body: {got.status_code} (the key must be "
            f"checked before the body is read) {got.text[:300]}"
        )
    need = ROLES.index(route.role)
    for role in ROLES[:need]:
        got = matrix.call(route, matrix.keys[role])
        assert got.status_code == 403, (
            f"{route.label} with a {role!r} key: {got.status_code} {got.text[:300]}"
        )
    for role in ROLES[need:]:
        got = matrix.call(route, matrix.keys[role])
        assert got.status_code not in (401, 403), (
            f"{route.label} with a {role!r} key: {got.status_code} {got.text}"
        )
        assert got.status_code < 500, f"{route.label} with a {role!r} key: {got.status_code} {got.text[:300]}"


def test_the_environment_admin_key_is_admin(matrix: Matrix) -> None:
    from tests.service.conftest import ADMIN

    route = next(r for r in API_ROUTES if (r.method, r.path) == ("GET", "/v1/admin/models"))
    assert matrix.call(route, ADMIN).status_code == 200


def _static_file() -> str:
    from tuijian.service.web import STATIC_DIR

    return next(p for p in sorted(STATIC_DIR.rglob("*")) if p.is_file()).relative_to(STATIC_DIR).as_posix()


def _visitor(matrix: Matrix) -> tuple[Any, str]:
    """A fresh visitor (its own cookies) and its CSRF token, read from the login form."""
    from fastapi.testclient import TestClient

    visitor = TestClient(matrix.client.app, follow_redirects=False)
    page = visitor.get("/login")
    assert page.status_code == 200, page.text[:300]
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, "the login form has no csrf field"
    return visitor, match.group(1)


@pytest.mark.parametrize("route", PUBLIC_ROUTES, ids=[r.label for r in PUBLIC_ROUTES])
def test_public_route_answers_without_a_key(matrix: Matrix, route: RouteInfo) -> None:
    visitor, csrf = _visitor(matrix)
    path = matrix.url(route.path)
    if route.path == "/static/web":
        path = f"/static/web/{_static_file()}"
    form = {
        "csrf": csrf,
        "item": matrix.item,
        "user": matrix.user,
        "text": "Lovely.",
        "rating": "5",
        "key": "",
    }
    if route.method == "POST":
        got = visitor.request("POST", path, data=form)
    else:
        got = visitor.request(route.method, path, params={"item": matrix.item} if "copy" in path else None)
    if (route.method, route.path) != ("POST", "/login"):  # a login with a wrong (here: empty) key is a 401
        assert got.status_code != 401, f"{route.label} (public: {PUBLIC[(route.method, route.path)]}): 401"
    assert got.status_code < 500, f"{route.label}: {got.status_code} {got.text[:300]}"
    if not route.path.startswith(("/shop/", "/login", "/logout")):
        assert got.status_code < 400, f"{route.label} without a key: {got.status_code} {got.text[:300]}"


@pytest.mark.parametrize("route", DASHBOARD_ROUTES, ids=[r.label for r in DASHBOARD_ROUTES])
def test_dashboard_route_needs_an_admin_session(matrix: Matrix, route: RouteInfo) -> None:
    form = {"csrf": "", "role": "read", "name": "role-matrix", "key_id": "000000000000"}
    # no session (and an admin API key in the header does not open one): back to /login, nothing done
    for headers in ({}, {HEADER: matrix.keys["admin"]}):
        visitor, csrf = _visitor(matrix)
        got = visitor.request(route.method, route.path, data={**form, "csrf": csrf}, headers=headers)
        assert got.status_code in (303, 401, 403), f"{route.label} without a session: {got.status_code}"
        if got.status_code == 303:
            assert got.headers["location"].startswith("/login"), got.headers["location"]
    # weaker keys cannot open a session
    for role in ("read", "ingest"):
        visitor, csrf = _visitor(matrix)
        login = visitor.post("/login", data={"key": matrix.keys[role], "csrf": csrf, "next": "/dashboard"})
        assert login.status_code == 401, f"/login with a {role!r} key: {login.status_code}"
        got = visitor.request(route.method, route.path, data={**form, "csrf": csrf})
        assert got.status_code in (303, 401, 403), f"{route.label} after a {role!r} login: {got.status_code}"
        if got.status_code == 303:
            assert got.headers["location"].startswith("/login"), got.headers["location"]
    # an admin session (with its CSRF token) gets through
    visitor, csrf = _visitor(matrix)
    login = visitor.post("/login", data={"key": matrix.keys["admin"], "csrf": csrf, "next": "/dashboard"})
    assert login.status_code == 303 and login.headers["location"] == "/dashboard", login.status_code
    got = visitor.request(route.method, route.path, data={**form, "csrf": csrf})
    assert got.status_code not in (401, 403), f"{route.label} with an admin session: {got.status_code}"
    assert got.status_code < 500, f"{route.label} with an admin session: {got.status_code} {got.text[:300]}"
    assert not got.headers.get("location", "").startswith("/login"), f"{route.label}: sent to /login"
