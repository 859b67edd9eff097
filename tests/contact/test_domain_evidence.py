"""Pure rules of the evidence of a claimed payment: which outcome takes files, how many."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from services.contact.domain import Outcome
from services.contact.domain_evidence import by_call, check_count, check_files_with_outcome, named
from services.kernel.errors import DomainError


def test_files_come_only_with_the_claim() -> None:
    check_files_with_outcome(Outcome.GIA_PAGATO, 2, names_only=False)
    check_files_with_outcome(Outcome.CONTATTATO, 0, names_only=False)
    with pytest.raises(DomainError, match="solo con l'esito «Dice di aver già pagato»") as refused:
        check_files_with_outcome(Outcome.CONTESTAZIONE, 1, names_only=False)
    assert refused.value.field == "evidence"
    with pytest.raises(DomainError, match="non è stata trasmessa"):
        check_files_with_outcome(Outcome.GIA_PAGATO, 0, names_only=True)


@pytest.mark.parametrize(
    ("new", "already", "message"),
    [
        (0, 0, "Scegli il file"),
        (6, 0, "al massimo 5 file alla volta"),
        (3, 8, r"al massimo 10 ricevute a una dichiarazione \(ne restano 2\)"),
        (1, 10, r"ne restano 0"),
    ],
)
def test_how_many_files(new: int, already: int, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        check_count(new, already)


def test_up_to_the_limits_is_fine() -> None:
    check_count(5, 0)
    check_count(2, 8)


def test_a_refusal_among_several_files_names_the_file() -> None:
    error = DomainError("La ricevuta deve essere un PDF, un JPEG o un PNG.", field="evidence")
    assert named("a.txt", error, several=False) is error
    renamed = named("a.txt", error, several=True)
    assert (renamed.message, renamed.field) == (
        "a.txt: La ricevuta deve essere un PDF, un JPEG o un PNG.",
        "evidence",
    )


def test_attachments_grouped_by_their_call_in_order() -> None:
    one, two = uuid.uuid4(), uuid.uuid4()
    rows = [SimpleNamespace(contact_id=c, name=n) for c, n in ((one, "a"), (two, "b"), (one, "c"))]
    assert {k: [r.name for r in v] for k, v in by_call(rows).items()} == {one: ["a", "c"], two: ["b"]}
