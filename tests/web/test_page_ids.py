"""No page crashes on an id out of range: every HTML route with an id in its path, taken from the
route table (so new pages are swept too), answers a huge or zero id with a 4xx."""

from __future__ import annotations

import re

from tests.api.test_tenant_isolation import api_operations
from tests.support import admin_login


def test_every_page_with_an_id_answers_an_out_of_range_id_with_a_4xx(client, shop) -> None:
    admin_login(client, shop, role="owner")
    paths = sorted(
        {
            op.path
            for op in api_operations(client.app)
            if not op.path.startswith("/api/")
            and op.method == "GET"
            and re.search(r"\{\w+_id\}", op.path)
        }
    )
    assert paths, "no page with an id in its path was found"
    crashed = []
    for path in paths:
        for value in ("99999999999999999999", "0"):
            url = re.sub(r"\{\w+_id\}", value, path).replace("{slug}", shop.slug)
            status = client.get(url, follow_redirects=False).status_code
            if status >= 500:
                crashed.append(f"{url}: {status}")
    assert crashed == []
