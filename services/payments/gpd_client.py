"""A client of pagoPA's GPD REST API (external v1, `pagopa/pagopa-debt-position`): create and publish
a debt position, publish, invalidate and read it. Every error answer becomes a `DomainError` with an
Italian message; nothing from pagoPA becomes a 500 of ours.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from services.kernel.errors import Conflict, DomainError, NotFound

KEY_HEADER = "Ocp-Apim-Subscription-Key"
TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class GpdUnavailable(DomainError):
    """pagoPA did not answer, or answered with a server error: worth retrying later."""

    status = 502


class GpdRefused(DomainError):
    """pagoPA refused the intermediary's key."""

    status = 403


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        found = body.get("detail") or body.get("title") or body.get("message") or ""
        return str(found)[:300]
    return ""


def _error(response: httpx.Response, iupd: str, action: str) -> DomainError:
    """The Italian error for an answer of pagoPA other than 2xx."""
    status = response.status_code
    detail = _detail(response)
    said = f" (pagoPA: {detail})" if detail else ""
    if status == 400:
        return DomainError(f"pagoPA ha rifiutato i dati della posizione debitoria {iupd}{said}.")
    if status in (401, 403):
        return GpdRefused(
            "pagoPA ha rifiutato la chiave dell'intermediario: controlla endpoint e chiave GPD del Comune."
        )
    if status == 404:
        return NotFound(f"La posizione debitoria {iupd} non esiste su pagoPA.")
    if status == 409:
        if action == "create":
            return Conflict(f"La posizione debitoria {iupd} è già presente su pagoPA{said}.")
        return Conflict(
            f"Lo stato della posizione debitoria {iupd} su pagoPA non consente di {action}{said}."
        )
    if status == 422:
        return DomainError(f"pagoPA non può elaborare la richiesta per la posizione {iupd}{said}.")
    if status == 429:
        return GpdUnavailable("pagoPA ha ricevuto troppe richieste: riprova tra qualche minuto.")
    if status >= 500:
        return GpdUnavailable(f"pagoPA non è disponibile al momento (errore {status}): riprova più tardi.")
    return DomainError(f"Risposta inattesa di pagoPA (stato {status}) per la posizione {iupd}.")


class GpdClient:
    """One organization's calls to GPD through its intermediary's endpoint and subscription key.

    Use as `async with GpdClient(endpoint, key) as gpd: ...`; `transport` is for tests only."""

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        *,
        timeout: httpx.Timeout = TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=endpoint.rstrip("/"),
            headers={KEY_HEADER: api_key, "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    async def __aenter__(self) -> GpdClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, iupd: str, action: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise GpdUnavailable("pagoPA non ha risposto in tempo: riprova più tardi.") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            raise Conflict(
                "L'endpoint GPD configurato dal Comune non è un indirizzo http(s) valido."
            ) from None
        except httpx.HTTPError:
            raise GpdUnavailable(
                "Impossibile raggiungere pagoPA all'endpoint configurato dal Comune."
            ) from None
        if not response.is_success:
            raise _error(response, iupd, action)
        try:
            body = response.json()
        except ValueError:
            raise GpdUnavailable("pagoPA ha risposto con dati non leggibili.") from None
        if not isinstance(body, dict):
            raise GpdUnavailable("pagoPA ha risposto con dati non leggibili.")
        return body

    @staticmethod
    def _path(organization: str, iupd: str = "", action: str = "") -> str:
        path = f"/organizations/{quote(organization, safe='')}/debtpositions"
        if iupd:
            path += f"/{quote(iupd, safe='')}"
        return f"{path}/{action}" if action else path

    async def create(
        self, organization: str, position: dict[str, Any], publish: bool = True
    ) -> dict[str, Any]:
        """`POST /debtpositions?toPublish=`: creates the position, published at once when `publish`."""
        params = {"toPublish": "true" if publish else "false"}
        path = self._path(organization)
        return await self._call("POST", path, position["iupd"], "create", json=position, params=params)

    async def publish(self, organization: str, iupd: str) -> dict[str, Any]:
        """`POST /debtpositions/{iupd}/publish`: a DRAFT position becomes payable."""
        return await self._call("POST", self._path(organization, iupd, "publish"), iupd, "pubblicarla")

    async def invalidate(self, organization: str, iupd: str) -> dict[str, Any]:
        """`POST /debtpositions/{iupd}/invalidate`: the position is no longer payable."""
        return await self._call("POST", self._path(organization, iupd, "invalidate"), iupd, "annullarla")

    async def get(self, organization: str, iupd: str) -> dict[str, Any]:
        """`GET /debtpositions/{iupd}`: the position as pagoPA holds it, with its status."""
        return await self._call("GET", self._path(organization, iupd), iupd, "leggerla")
