"""The route model and `backendlint routes`: every route of each framework's fixture app
with its full path and methods; JSON output; the web framework knowledge examples."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from backendlint.cli import main
from backendlint.config import load
from backendlint.commands.routes import route_model
from backendlint.python import routes_model as rm
from helpers import write

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

FLASK = {
    ("GET",): ["/", "/api/v1/posts", "/auth/reset-password", "/health"],
    ("POST",): ["/api/v1/posts", "/api/v1/webhooks/payments", "/auth/logout", "/auth/reset-password",
                "/posts/<int:id>/delete", "/posts/<int:id>/like"],
    ("DELETE",): ["/api/v1/posts/<int:post_id>"],
    ("PUT", "PATCH"): ["/api/v1/posts/<int:post_id>"],
    ("GET", "POST"): ["/auth/login", "/auth/register", "/posts/<int:id>/update", "/posts/new"],
}
FASTAPI = {
    ("GET",): ["/healthz", "/api/v1/items/", "/api/v1/login/providers", "/api/v1/users/"],
    ("POST",): ["/api/v1/admin/reindex", "/api/v1/items/", "/api/v1/items/{id}/archive",
                "/api/v1/login/access-token", "/api/v1/login/refresh-token", "/api/v1/login/test-token",
                "/api/v1/password-recovery/{email}", "/api/v1/reset-password/", "/api/v1/users/signup"],
    ("PUT",): ["/api/v1/items/{id}"],
    ("PATCH",): ["/api/v1/users/me"],
    ("DELETE",): ["/api/v1/admin/cache", "/api/v1/users/{user_id}"],
}
DJANGO = {
    ("GET",): ["/", "/posts/<int:pk>/", "/api/posts/", "/accounts/password_change/done/",
               "/accounts/password_reset/done/", "/accounts/reset/done/",
               "/api/v1/orders/", "/api/v1/orders/<pk>/", "/api/v1/products/", "/api/v1/products/<pk>/",
               "/api/v1/reviews/", "/api/v1/reviews/<pk>/", "/api/v1/stats/", "/api/v1/users/me/",
               "/api/v1/wishlist/"],
    ("POST",): ["/posts/<int:pk>/delete/", "/accounts/logout/", "/api/v1/auth/jwt/",
                "/api/v1/auth/jwt/refresh/", "/api/v1/auth/signup/", "/api/v1/auth/token/",
                "/api/v1/carts/addItem/", "/api/v1/coupons/<code>/redeem/", "/api/v1/orders/",
                "/api/v1/orders/<pk>/cancel/", "/api/v1/products/", "/api/v1/wishlist/"],
    ("GET", "POST"): ["/posts/new/", "/contact/", "/accounts/login/", "/accounts/password_change/",
                      "/accounts/password_reset/", "/accounts/reset/<uidb64>/<token>/"],
    ("PUT",): ["/api/v1/orders/<pk>/", "/api/v1/products/<pk>/", "/api/v1/users/me/"],
    ("PATCH",): ["/api/v1/orders/<pk>/", "/api/v1/products/<pk>/", "/api/v1/users/me/"],
    ("DELETE",): ["/api/v1/orders/<pk>/", "/api/v1/products/<pk>/"],
}


def _expected(table):
    return sorted((methods, path) for methods, paths in table.items() for path in paths)


def _routes(project: Path):
    model, _ = route_model([project], load([project]))
    return model


@pytest.mark.parametrize("project, table", [
    (FIXTURES / "BL211" / "flask_blog", FLASK),
    (FIXTURES / "BL209" / "fastapi_shop", FASTAPI),
    (FIXTURES / "BL404" / "django_shop", DJANGO),
], ids=["flask", "fastapi", "django-drf"])
def test_every_route_with_full_path_and_methods(project, table):
    model = _routes(project)
    assert sorted((r.methods, r.path) for r in model.routes) == _expected(table)


def test_routes_command_json(capsys):
    project = FIXTURES / "BL211" / "flask_blog"
    code = main(["routes", str(project), "--output-format", "json"])
    out, _ = capsys.readouterr()
    assert code == 0
    routes = json.loads(out)["routes"]
    assert len(routes) == sum(len(v) for v in FLASK.values())
    login = next(r for r in routes if r["path"] == "/auth/login")
    assert login["methods"] == ["GET", "POST"]
    assert login["file"] == "blog/auth.py" and login["handler"] == "blog.auth.login"
    assert "blog.extensions.limiter.limit" in login["decorators"]


def test_routes_command_console(capsys):
    code = main(["routes", str(FIXTURES / "BL209" / "fastapi_shop"), "--color", "never"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "/api/v1/users/signup" in out and "register_user" in out
    assert f"{sum(len(v) for v in FASTAPI.values())} routes" in out


def test_handler_and_declaration_locations():
    model = _routes(FIXTURES / "BL404" / "django_shop")
    cancel = next(r for r in model.routes if r.path == "/api/v1/orders/<pk>/cancel/")
    assert cancel.handler == "shop.api.views.OrderViewSet.cancel"
    assert (cancel.location.path, cancel.declared_at.path) == ("shop/api/views.py", "shop/api/urls.py")
    redeem = next(r for r in model.routes if r.path.startswith("/api/v1/coupons/"))
    assert redeem.methods == ("POST",) and redeem.framework == "drf"


def test_project_root_above_import_root_and_nested_routers(tmp_path):
    write(tmp_path, {
        "backend/app/main.py": "from fastapi import FastAPI\nfrom app.api import api\n"
                               "app = FastAPI()\napp.include_router(api.router, prefix='/v2')\n",
        "backend/app/api/api.py": "from fastapi import APIRouter, Depends\nfrom app.api.endpoints import items\n"
                                  "router = APIRouter(prefix='/api')\n"
                                  "router.include_router(items.router, prefix='/items')\n",
        "backend/app/api/endpoints/items.py": "from fastapi import APIRouter\nrouter = APIRouter()\n"
                                              "@router.get('')\ndef items():\n    return []\n"
                                              "@router.api_route('/{id}', methods=['PUT', 'PATCH'])\n"
                                              "def edit(id: int):\n    return {}\n",
    })
    model = _routes(tmp_path)
    assert sorted((r.methods, r.path) for r in model.routes) == [
        (("GET",), "/v2/api/items"), (("PUT", "PATCH"), "/v2/api/items/{id}")]


def test_flask_method_views_add_url_rule_and_nested_blueprints(tmp_path):
    write(tmp_path, {
        "app.py": "from flask import Flask, Blueprint\nfrom flask.views import MethodView\n"
                  "app = Flask(__name__)\nparent = Blueprint('p', __name__, url_prefix='/parent')\n"
                  "child = Blueprint('c', __name__, url_prefix='/child')\n"
                  "class UserAPI(MethodView):\n    def get(self, id):\n        pass\n"
                  "    def delete(self, id):\n        pass\n"
                  "child.add_url_rule('/users/<int:id>', view_func=UserAPI.as_view('user'))\n"
                  "def ping():\n    return 'pong'\n"
                  "app.add_url_rule('/ping', 'ping', ping)\n"
                  "parent.register_blueprint(child)\napp.register_blueprint(parent, url_prefix='/p2')\n",
    })
    model = _routes(tmp_path)
    assert sorted((r.methods, r.path) for r in model.routes) == [
        (("DELETE",), "/p2/child/users/<int:id>"), (("GET",), "/p2/child/users/<int:id>"),
        (("GET",), "/ping")]


def test_starlette_route_lists_and_mounts(tmp_path):
    write(tmp_path, {
        "app.py": "from starlette.applications import Starlette\n"
                  "from starlette.routing import Mount, Route\n"
                  "async def home(request):\n    pass\n"
                  "async def create(request):\n    pass\n"
                  "routes = [Route('/', home), Mount('/api', routes=[Route('/users', create, methods=['POST'])])]\n"
                  "app = Starlette(routes=routes)\n",
    })
    model = _routes(tmp_path)
    assert sorted((r.methods, r.path) for r in model.routes) == [
        (("GET",), "/"), (("POST",), "/api/users")]


def test_django_re_path_inline_include_and_as_view_mapping(tmp_path):
    write(tmp_path, {
        "site/urls.py": "from django.urls import include, path, re_path\nfrom shop import views\n"
                        "extra = [path('a/', views.a)]\n"
                        "urlpatterns = [re_path(r'^v1/(?P<slug>[-\\w]+)/$', views.detail),\n"
                        "    path('x/', include([path('y/', views.ViewSet.as_view({'get': 'list', 'post': 'create'}))])),\n"
                        "]\n",
        "shop/views.py": "from django.views.decorators.http import require_POST\n"
                         "from rest_framework import viewsets\n"
                         "@require_POST\ndef detail(request, slug):\n    pass\n"
                         "class ViewSet(viewsets.ViewSet):\n    def list(self, request):\n        pass\n"
                         "    def create(self, request):\n        pass\n",
    })
    model = _routes(tmp_path)
    assert sorted((r.methods, r.path) for r in model.routes) == [
        (("GET",), "/x/y/"), (("POST",), "/v1/<slug>/"), (("POST",), "/x/y/")]


@pytest.mark.parametrize("path, words", [
    ("/auth/resetPassword/<token>", "auth/reset_password"),
    ("/api/v1/users/{user_id}/sign-in", "api/v1/users/sign_in"),
])
def test_path_words(path, words):
    assert "/".join(rm.segments(path)) == words


# -- knowledge: every example of rules/web_frameworks.toml --------------------------------

def _knowledge_cases():
    from backendlint import knowledge

    kb = knowledge.load("web_frameworks")
    for table, entries in kb.items():
        for index, entry in enumerate(entries):
            for example in entry.get("match", []):
                yield pytest.param(table, entry, example, True, id=f"{table}{index}-match-{example}")
            for example in entry.get("no_match", []):
                yield pytest.param(table, entry, example, False, id=f"{table}{index}-no-{example}")


class _Model:
    settings = []
    django_settings = []

    def alias(self, ref):
        return ()


@pytest.mark.parametrize("table, entry, example, expected", list(_knowledge_cases()))
def test_knowledge_examples(table, entry, example, expected):
    if table == "route_decorator":
        from backendlint.python.web_ast import route_decorator

        node = ast.parse(example.lstrip("@")).body[0].value
        assert (route_decorator(node) is not None) is expected, example
        return
    protection = rm.Protection.__new__(rm.Protection)
    protection.kb = {table: [entry]}
    assert protection.matches(table, entry["kind"], example) is expected, example


def test_view_keyword_as_view_alias_and_conditional_router(tmp_path):
    write(tmp_path, {
        "config/settings.py": "ROOT_URLCONF = 'config.urls'\n",
        "config/urls.py": "from django.urls import include, path\n"
                          "urlpatterns = [path('users/', include('proj.users.urls', namespace='users'))]\n"
                          "urlpatterns += [path('api/', include('config.api_router'))]\n",
        "config/api_router.py": "from django.conf import settings\n"
                                "from rest_framework.routers import DefaultRouter, SimpleRouter\n"
                                "from proj.users.api import UserViewSet\n"
                                "router = DefaultRouter() if settings.DEBUG else SimpleRouter()\n"
                                "router.register('users', UserViewSet)\nurlpatterns = router.urls\n",
        "proj/users/api.py": "from rest_framework import mixins, viewsets\nfrom rest_framework.decorators import action\n"
                             "class UserViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):\n"
                             "    lookup_field = 'username'\n"
                             "    @action(detail=False)\n    def me(self, request):\n        pass\n",
        "proj/users/urls.py": "from django.urls import path\nfrom .views import user_update_view\n"
                              "urlpatterns = [path('~update/', view=user_update_view, name='update')]\n",
        "proj/users/views.py": "from django.contrib.auth.mixins import LoginRequiredMixin\n"
                               "from django.views.generic import UpdateView\n"
                               "class UserUpdateView(LoginRequiredMixin, UpdateView):\n    pass\n"
                               "user_update_view = UserUpdateView.as_view()\n",
    })
    model = _routes(tmp_path)
    assert sorted((r.methods, r.path) for r in model.routes) == [
        (("GET",), "/api/users/"), (("GET",), "/api/users/<username>/"), (("GET",), "/api/users/me/"),
        (("GET",), "/users/~update/"), (("POST",), "/users/~update/")]
    assert all(r.confirmed for r in model.routes)


def test_class_decorators_count_as_protection(tmp_path):
    write(tmp_path, {
        "api.py": "from flask import Flask\nfrom flask_restful import Api, Resource\n"
                  "from flask_jwt_extended import jwt_required\n"
                  "app = Flask(__name__)\napi = Api(app, prefix='/api')\n"
                  "class Todo(Resource):\n    method_decorators = [jwt_required()]\n"
                  "    def get(self, id):\n        pass\n    def delete(self, id):\n        pass\n"
                  "api.add_resource(Todo, '/todos/<int:id>')\n",
    })
    model = _routes(tmp_path)
    assert sorted((r.methods, r.path) for r in model.routes) == [
        (("DELETE",), "/api/todos/<int:id>"), (("GET",), "/api/todos/<int:id>")]
    protection = rm.Protection(model)
    assert all(protection.auth(r) == "jwt_required" for r in model.routes)


def test_routes_in_tests_are_skipped_and_examples_get_medium_confidence(tmp_path):
    from backendlint.engine import check

    app = "from fastapi import FastAPI\napp = FastAPI()\n@app.post('/login')\ndef login():\n    return {}\n"
    write(tmp_path, {"pyproject.toml": "[tool.backendlint]\n", "tests/test_login.py": app,
                     "docs_src/tutorial.py": app, "main.py": app})
    config = load([tmp_path])
    config.select = ["BL209"]
    found = {(f.location.path, f.confidence.value) for f in check([tmp_path], config).findings}
    assert found == {("docs_src/tutorial.py", "medium"), ("main.py", "high")}


def test_django_include_of_a_pattern_list(tmp_path):
    write(tmp_path, {
        "site/urls.py": "from django.urls import include, path\nfrom credit import views as credit_views\n"
                        "extra_patterns = [path('reports/', credit_views.report),\n"
                        "                  path('charge/', credit_views.charge)]\n"
                        "urlpatterns = [path('credit/', include(extra_patterns))]\n",
        "credit/views.py": "from django.views.decorators.http import require_POST\n"
                           "def report(request):\n    pass\n@require_POST\ndef charge(request):\n    pass\n",
    })
    model = _routes(tmp_path)
    assert sorted((r.methods, r.path) for r in model.routes) == [
        (("GET",), "/credit/reports/"), (("POST",), "/credit/charge/")]
