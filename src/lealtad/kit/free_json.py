"""Free-form JSON a client sends (an event's properties): bounded in nesting depth and size before
anything else reads it. Unbounded, a document nested a few hundred levels deep got past the parser
and then broke serialisation further in (a 500), and a large one is stored and re-read on every
replay of its request."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

MAX_DEPTH = 8
MAX_BYTES = 16_384
CODES = frozenset({"json_too_deep", "json_too_large"})


def depth_over(value: Any, limit: int) -> bool:
    """Whether `value` nests objects and arrays more than `limit` levels deep (an object of
    scalars is one level). Iterative, and stops at the first branch past the limit, so a hostile
    document costs no more than its size."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        node, level = pending.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if level + 1 > limit:
            return True
        pending.extend((child, level + 1) for child in children)
    return False


def json_size(value: Any) -> int:
    """Bytes of `value` as compact UTF-8 JSON: what the limit counts, the same on both databases."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return len(text.encode("utf-8"))


def bounded_json(*, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> BeforeValidator:
    """The check, run before pydantic looks inside the document."""

    def check(value: Any) -> Any:
        if depth_over(value, max_depth):
            raise PydanticCustomError(
                "json_too_deep",
                "is nested deeper than the limit of {max_depth} levels",
                {"max_depth": max_depth},
            )
        if json_size(value) > max_bytes:
            raise PydanticCustomError(
                "json_too_large",
                "is larger than the limit of {max_bytes} bytes of JSON",
                {"max_bytes": max_bytes},
            )
        return value

    return BeforeValidator(check)


def limits_text(*, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> str:
    """The limits as a field's OpenAPI description says them."""
    return (
        f"a JSON object of your own shape, nested at most {max_depth} levels deep and at most "
        f"{max_bytes:,} bytes as compact UTF-8 JSON (beyond: 422 json_too_deep or json_too_large)"
    )


# A JSON object of the client's own shape, with the default limits.
FreeJsonObject = Annotated[dict[str, Any], bounded_json(), Field(description=limits_text())]
