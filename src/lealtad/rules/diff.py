"""A readable diff between two program versions: what was added, removed or changed, by path,
with rules, stamp cards and tiers matched by their id rather than their position."""

from __future__ import annotations

from typing import Any


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    if items and all(isinstance(i, dict) and "id" in i for i in items):
        return {str(i["id"]): i for i in items}
    return None


def diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[dict[str, Any]] = []
        for key in list(before) + [k for k in after if k not in before]:
            where = f"{path}.{key}" if path else str(key)
            if key not in after:
                changes.append({"path": where, "change": "removed", "before": before[key]})
            elif key not in before:
                changes.append({"path": where, "change": "added", "after": after[key]})
            else:
                changes += diff(before[key], after[key], where)
        return changes
    if isinstance(before, list) and isinstance(after, list):
        old, new = _keyed(before), _keyed(after)
        if old is not None and new is not None:
            return diff(old, new, path)
    return [{"path": path, "change": "changed", "before": before, "after": after}]


def describe(changes: list[dict[str, Any]]) -> list[str]:
    """One line per change, for the change log and the members' notice."""
    lines = []
    for c in changes:
        if c["change"] == "added":
            lines.append(f"+ {c['path']}: {c['after']}")
        elif c["change"] == "removed":
            lines.append(f"- {c['path']}: {c['before']}")
        else:
            lines.append(f"~ {c['path']}: {c['before']} -> {c['after']}")
    return lines
