"""Checks an API answer against the project's own OpenAPI schema, as a client generated from it would.

Small on purpose: resolves `$ref`s, turns OpenAPI 3.0 `nullable` into JSON Schema, validates with
jsonschema (a dependency of drf-spectacular; annotations such as readOnly and format are ignored).
The status code must be documented too.
"""

import copy

import jsonschema
from django.test import Client

_SCHEMA = {}


def api_schema(user):
    """The schema as served to `user` (cached per test run: it depends on code, not data)."""
    if "schema" not in _SCHEMA:
        client = Client()
        client.force_login(user)
        response = client.get("/api/schema/", {"format": "json"})
        assert response.status_code == 200, response.content[:200]
        _SCHEMA["schema"] = response.json()
    return _SCHEMA["schema"]


def _to_json_schema(node, components):
    if isinstance(node, list):
        return [_to_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = components[node["$ref"].rsplit("/", 1)[-1]]
        resolved = _to_json_schema(copy.deepcopy(target), components)
        extra = {k: v for k, v in node.items() if k != "$ref"}
        return {**resolved, **_to_json_schema(extra, components)} if extra else resolved
    converted = {key: _to_json_schema(value, components) for key, value in node.items()}
    if converted.pop("nullable", False):
        converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def assert_documented(schema, *, path, method, response):
    """The answer's status is documented for the operation, and its JSON body matches that schema."""
    operation = schema["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path} answered {status}, which the schema does not list"
    documented = operation["responses"][status]
    content = documented.get("content", {}).get("application/json")
    if content is None:
        return
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body_schema = _to_json_schema(content["schema"], schema["components"]["schemas"])
    jsonschema.validate(response.json(), body_schema)
