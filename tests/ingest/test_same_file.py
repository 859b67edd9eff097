"""A file loaded again: the batch page says when the same bytes came before, and the list of
uploads says how many positions each one registered (the second: none)."""

from __future__ import annotations

import pytest

from services.contracts import BatchReceived
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.ingest.helpers import process, published
from tests.ingest.test_web_reports import upload

DATA = (
    b"codice_fiscale;nominativo;tributo;anno;numero_atto;importo\n"
    b"RSSMRA80A01H501U;ROSSI;IMU;2024;1;10,00\n"
    b"VRDNNA70A41H501F;VERDI;IMU;2024;2;20,00\n"
)


@pytest.mark.asyncio
async def test_the_same_file_again_is_told_and_registers_nothing_new(
    platform: Platform, tenant: Identity
) -> None:
    first = await upload(platform, tenant, "elenco.csv", DATA)
    second = await upload(platform, tenant, "elenco di nuovo.csv", DATA)
    other = await upload(platform, tenant, "altro.csv", DATA.replace(b";2;20,00", b";3;30,00"))
    for envelope in await published(platform, tenant.tenant_id, BatchReceived.routing_key()):
        await process(platform, envelope)
    base = f"/t/{tenant.tenant_slug}/ingest"
    async with service_client(platform, "ingest", tenant) as client:
        first_page = (await client.get(f"{base}/batches/{first}")).text
        second_page = (await client.get(f"{base}/batches/{second}")).text
        other_page = (await client.get(f"{base}/batches/{other}")).text
        listed = (await client.get(f"{base}/")).text
    assert 'data-testid="same-file"' not in first_page and 'data-testid="same-file"' not in other_page
    assert 'data-testid="same-file"' in second_page
    assert f'<a href="{base}/batches/{first}">caricamento «elenco.csv»</a>' in second_page
    # Its accepted credits are said to be known already, not added to the load again.
    assert 'data-testid="known-before">2 crediti accettati erano già registrati' in second_page
    assert 'data-testid="known-before">1 credito accettato era già registrato' in other_page
    assert 'data-testid="known-before"' not in first_page
    new = {
        batch: listed.split(f'data-batch-id="{batch}"', 1)[1].split('data-testid="new-positions">', 1)[1][:2]
        for batch in (first, second, other)
    }
    assert new == {first: "2<", second: "0<", other: "1<"}


@pytest.mark.asyncio
async def test_a_file_that_failed_before_is_not_said_to_be_loaded_already(
    platform: Platform, tenant: Identity
) -> None:
    """Read first as Windows-1252 (refused: it is UTF-8), then as it is: nothing had been
    registered, so the page does not say «Si registrano solo i crediti non ancora presenti»."""
    data = DATA.replace(b"ROSSI", "ROSSÌ".encode())
    failed = await upload(platform, tenant, "accenti.csv", data, encoding="windows-1252")
    for envelope in await published(platform, tenant.tenant_id, BatchReceived.routing_key()):
        await process(platform, envelope)
    loaded = await upload(platform, tenant, "accenti.csv", data)
    for envelope in await published(platform, tenant.tenant_id, BatchReceived.routing_key()):
        await process(platform, envelope)  # the first again: the inbox knows it
    base = f"/t/{tenant.tenant_slug}/ingest"
    async with service_client(platform, "ingest", tenant) as client:
        failed_page = (await client.get(f"{base}/batches/{failed}")).text
        loaded_page = (await client.get(f"{base}/batches/{loaded}")).text
    assert "Il file è in UTF-8, non in Windows-1252" in failed_page
    assert 'data-testid="same-file"' not in loaded_page
