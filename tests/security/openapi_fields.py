"""Where an OpenAPI description takes dates and free-form JSON: every date or date-time query
parameter and every date, date-time or free-form object field of a JSON body, found by walking
the schema (so a new route is covered without naming it), and a way to put a value there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Path = tuple[str, ...]  # keys from the body's root; "[]" for every item of an array
ITEMS = "[]"


@dataclass
class Takes:
    """What one operation takes: query parameter names and body paths, by kind."""

    query: dict[str, str] = field(default_factory=dict)  # name -> "date" or "date-time"
    body: dict[Path, str] = field(default_factory=dict)  # path -> "date", "date-time" or "json"


def _walk(spec: dict[str, Any], schema: dict[str, Any], path: Path, found: dict[Path, str]) -> None:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if path.count(name) > 1:  # a recursive schema: once round is enough
            return
        schema = spec["components"]["schemas"][name]
    for key in ("anyOf", "oneOf", "allOf"):
        for choice in schema.get(key, []):
            _walk(spec, choice, path, found)
    if schema.get("format") in ("date", "date-time"):
        found[path] = schema["format"]
    properties = schema.get("properties", {})
    if schema.get("type") == "object" and not properties and schema.get("additionalProperties"):
        extra = schema["additionalProperties"]
        if extra is True or extra == {}:
            found[path] = "json"
    for name, child in properties.items():
        _walk(spec, child, (*path, name), found)
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        _walk(spec, schema["items"], (*path, ITEMS), found)


def operations_taking_dates_or_json(spec: dict[str, Any]) -> dict[tuple[str, str], Takes]:
    """(METHOD, path template) -> what it takes, for every operation taking something."""
    found: dict[tuple[str, str], Takes] = {}
    for route, item in spec["paths"].items():
        for method, operation in item.items():
            takes = Takes()
            for parameter in operation.get("parameters", []):
                kind: dict[Path, str] = {}
                _walk(spec, parameter.get("schema", {}), (), kind)
                if parameter["in"] == "query" and () in kind:
                    takes.query[parameter["name"]] = kind[()]
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                _walk(spec, content["application/json"]["schema"], (), takes.body)
            if takes.query or takes.body:
                found[(method.upper(), route)] = takes
    return found


def put_at(document: Any, path: Path, value: Any) -> bool:
    """Sets `value` at `path` in every place the document has room for it (each item of an
    array; an absent optional field is added where its parent object exists). False when the
    document has no such place."""
    if not path:
        return False
    head, rest = path[0], path[1:]
    if head == ITEMS:
        if not isinstance(document, list) or not document:
            return False
        if not rest:
            document[:] = [value for _ in document]
            return True
        return any([put_at(item, rest, value) for item in document])
    if not isinstance(document, dict):
        return False
    if not rest:
        document[head] = value
        return True
    if not isinstance(document.get(head), dict | list):
        if rest[0] == ITEMS:
            return False
        document[head] = {}
    return put_at(document[head], rest, value)
