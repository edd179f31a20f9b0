"""A real uvicorn serving the app on a free port, a shop with a connector configured through
the JSON API, and helpers to post what a vendor posts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.conftest import SECRET
from tests.security import live
from tests.support import Shop

# The address the business registers with the vendor; Square signs it with every notification.
PUBLIC = "https://fidelidad.example"


@dataclass
class Till:
    """A running server and one shop: `http` talks to it, `owner` is the shop's owner key."""

    http: httpx.Client
    shop: Shop
    clock: FixedClock

    @property
    def owner(self) -> dict[str, str]:
        return {"X-API-Key": self.shop.keys["owner"]}

    def connect(self, vendor: str, **config: Any) -> dict[str, Any]:
        answer = self.http.put(f"/api/v1/connectors/{vendor}", json=config, headers=self.owner)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def deliveries(self, vendor: str) -> list[dict[str, Any]]:
        answer = self.http.get(f"/api/v1/connectors/{vendor}/deliveries", headers=self.owner)
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    def points(self, member_id: int) -> int:
        answer = self.http.get(f"/api/v1/members/{member_id}", headers=self.owner)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["balances"].get("points", 0))

    def enrol(self, email: str) -> int:
        answer = self.http.post("/api/v1/members", json={"email": email}, headers=self.owner)
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    def member_by_email(self, email: str) -> dict[str, Any] | None:
        answer = self.http.get(
            "/api/v1/members/lookup", params={"email": email}, headers=self.owner
        )
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@pytest.fixture
def till(db: Database, clock: FixedClock, shop: Shop, tmp_path: Path) -> Iterator[Till]:
    settings = Settings(
        env="test",
        secret_key=SECRET,
        data_dir=tmp_path / "data",
        log_level="warning",
        base_url=PUBLIC,
    )
    with live.serving(create_app(settings, db=db, clock=clock)) as url, live.client(url) as http:
        yield Till(http, shop, clock)


def envelope(answer: httpx.Response) -> str:
    """The error code of an answer in the project's error envelope."""
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return str(body["error"]["code"])
