"""Signed links to the public page: what they carry comes back whole; anything altered, signed with
another key or malformed is refused; a genuine link past its expiry is told apart."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.payments.domain_links import (
    MAX_POSITIONS,
    LinkExpired,
    LinkGrant,
    LinkRefused,
    expiry,
    sign,
    verify,
)

KEY = "a-secret-of-the-platform"
NOW = datetime(2026, 11, 29, 21, 0, tzinfo=UTC)


def grant(**changes: object) -> LinkGrant:
    values: dict[str, object] = {
        "tenant_id": uuid.uuid4(),
        "debtor_id": uuid.uuid4(),
        "position_ids": (uuid.uuid4(), uuid.uuid4()),
        "plan_id": None,
        "expires_at": expiry(NOW, 30),
    }
    return LinkGrant(**{**values, **changes})  # type: ignore[arg-type]


def test_a_link_carries_its_grant_back() -> None:
    positions = grant()
    assert verify(sign(positions, KEY), KEY, NOW) == positions
    plan = grant(position_ids=(), plan_id=uuid.uuid4())
    assert verify(sign(plan, KEY), KEY, NOW) == plan
    token = sign(positions, KEY)
    assert len(token) < 400 and all(c.isalnum() or c in "-_." for c in token)


def test_the_expiry_is_thirty_days_by_default_and_one_at_least() -> None:
    assert expiry(NOW, 30) - NOW == timedelta(days=30)
    assert expiry(NOW, 0) - NOW == timedelta(days=1)


def test_a_plans_link_lasts_until_its_last_installment_is_due_within_a_year() -> None:
    rome = ZoneInfo("Europe/Rome")
    # Six installments to 30 June 2027: the link works all of that day, and the next.
    assert expiry(NOW, 30, date(2027, 6, 30)) == datetime(2027, 7, 2, 0, 0, tzinfo=rome)
    assert expiry(NOW, 30, date(2026, 12, 1)) - NOW == timedelta(days=30)  # never shorter
    assert expiry(NOW, 30, date(2033, 6, 30)) - NOW == timedelta(days=366)  # 72 installments: a year


def test_an_expired_link_is_told_apart() -> None:
    token = sign(grant(), KEY)
    assert verify(token, KEY, NOW + timedelta(days=30) - timedelta(seconds=1))
    with pytest.raises(LinkExpired):
        verify(token, KEY, NOW + timedelta(days=30))


def _reencoded(token: str, change: dict[str, object]) -> str:
    payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw = json.dumps({**body, **change}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + signature


def test_every_alteration_is_refused() -> None:
    original = grant()
    token = sign(original, KEY)
    later = int((NOW + timedelta(days=3650)).timestamp())
    altered = [
        _reencoded(token, {"x": later}),  # a longer life
        _reencoded(token, {"d": uuid.uuid4().hex}),  # another debtor
        _reencoded(token, {"t": uuid.uuid4().hex}),  # another Comune
        _reencoded(token, {"p": [uuid.uuid4().hex]}),  # other positions
        token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),  # the signature
        sign(original, "another-key"),
        token.replace(".", ""),
        token + ".x",
        "",
        "nonvalido",
        "%%%.%%%",
        "a" * 5000 + "." + "b",
    ]
    for bad in altered:
        with pytest.raises(LinkRefused):
            verify(bad, KEY, NOW)


def test_a_signed_but_malformed_payload_is_refused() -> None:
    import hashlib
    import hmac

    from services.payments import domain_links

    key = hmac.new(KEY.encode(), domain_links._PURPOSE, hashlib.sha256).digest()
    for body in (b"[]", b'{"t":"zz","d":"00","x":1}', b'{"t":"00","d":"00","x":"soon"}', b"not json"):
        signature = hmac.new(key, body, hashlib.sha256).digest()
        token = f"{domain_links._b64(body)}.{domain_links._b64(signature)}"
        with pytest.raises(LinkRefused):
            verify(token, KEY, NOW)


def test_a_grant_shows_positions_or_a_plan() -> None:
    with pytest.raises(ValueError):
        grant(position_ids=())
    with pytest.raises(ValueError):
        grant(plan_id=uuid.uuid4())
    with pytest.raises(ValueError):
        grant(position_ids=tuple(uuid.uuid4() for _ in range(MAX_POSITIONS + 1)))
    with pytest.raises(ValueError):
        grant(expires_at=datetime(2026, 12, 1))
