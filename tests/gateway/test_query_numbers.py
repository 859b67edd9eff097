"""The gateway's own pages refuse an out-of-range number in the query string with a 400 naming the
parameter (the audit log's `prima_di`), never a 500."""

from __future__ import annotations

import pytest

from services.platform import Platform
from tests.gateway.helpers import alert, client, make_gateway, make_person, make_tenant, sign_in


@pytest.mark.asyncio
@pytest.mark.parametrize("raw", ["99999999999999999999", "0", "²"])
async def test_the_audit_logs_prima_di_out_of_range_is_a_400(platform: Platform, raw: str) -> None:
    home = await make_tenant(platform)
    root = await make_person(platform, {home.id: "platform_admin"})
    gw = make_gateway(platform)
    async with client(gw) as c:
        await sign_in(gw, c, root)
        for path in ("/admin/registro", f"/admin/comuni/{home.slug}/registro"):
            answer = await c.get(path, params={"prima_di": raw})
            assert answer.status_code == 400, (path, answer.status_code)
            assert "«prima_di»" in alert(answer.text)
        assert (await c.get("/admin/registro", params={"prima_di": "5"})).status_code == 200
