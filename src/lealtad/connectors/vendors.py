"""The vendors a business can connect, each a module of one shape: `NAME`, `verify(delivery,
secret)` that raises on an unsigned, forged or stale request, and `read(delivery)` that maps the
payload to a Sale, a Refund or an Ignored delivery."""

from __future__ import annotations

from typing import Protocol

from lealtad.connectors import loyverse, shopify, square, standard, woocommerce
from lealtad.connectors.model import Delivery, Event
from lealtad.errors import NotFound


class Vendor(Protocol):
    NAME: str

    def verify(self, delivery: Delivery, secret: str) -> None: ...

    def read(self, delivery: Delivery) -> Event: ...


VENDORS: dict[str, Vendor] = {
    module.NAME: module for module in (standard, square, shopify, woocommerce, loyverse)
}


def vendor(name: str) -> Vendor:
    found = VENDORS.get(name)
    if found is None:
        raise NotFound(f"no connector for {name[:40]!r}", code="connector_not_found")
    return found
