"""The gateway's audit details in words (`gateway.domain_audit.describe`)."""

from __future__ import annotations

import uuid

from gateway.domain_audit import describe


def test_each_detail_is_said_in_italian_without_raw_identifiers() -> None:
    roma = uuid.uuid4()
    names = {roma: "Comune di Roma"}
    assert describe({"from": str(roma)}, names) == "dal Comune: Comune di Roma"
    assert describe({"from": str(uuid.uuid4())}, names) == "dal Comune: un altro Comune"
    assert describe({"path": "/t/roma/contact/"}, names) == "pagina: /t/roma/contact/"
    added = {"user_id": str(uuid.uuid4()), "user": "Marco Ricci", "role": "operator"}
    assert describe(added, names) == "persona: Marco Ricci, ruolo: Operatore"
    joined = {"user_id": str(uuid.uuid4()), "role": "comune_admin", "via": "invitation"}
    assert describe(joined, names) == "ruolo: Ufficio tributi (amministratore), tramite invito"
    login = {"provider": "spid", "acr": "https://www.spid.gov.it/SpidL2"}
    assert describe(login, names) == "accesso con: spid, livello SPID 2"
    assert describe({"provider": "spid", "reason": "no_membership"}, names) == (
        "accesso con: spid, motivo: l'utente non è abilitato su alcun Comune"
    )
    assert describe({"reason": "userinfo_refused"}, names) == "motivo: userinfo refused"
    key = {"key_id": str(uuid.uuid4()), "label": "Gestionale", "prefix": "rk_ab12"}
    assert describe(key, names) == "etichetta: «Gestionale», chiave che inizia per rk_ab12"
    letters = {"consumer": "contact", "messages": ["m1", "m2"], "count": 2}
    assert describe(letters, names) == "coda: contact, messaggi: 2"
    assert describe({"email": None, "fiscal_number": "RSSMRA80A01H501U"}, names) == (
        "codice fiscale: RSSMRA80A01H501U"
    )
    assert describe({"nuovo": 1}, names) == "nuovo: 1"  # a key not yet worded keeps its name
