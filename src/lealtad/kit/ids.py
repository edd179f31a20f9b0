"""Ids and paging shared by every router."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

# Both databases store ids as signed 64-bit integers; a larger number is not an id of ours.
MAX_ID = 2**63 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="the last id of the previous page")
]
