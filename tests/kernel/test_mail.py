"""The platform's mailer delivers to a real SMTP server; the development mailer keeps a file."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from services.kernel.mail import Attachment, FolderMailer, Mail, SmtpMailer, make_mailer, smtp_mailer
from services.kernel.settings import Settings
from tests.smtp_server import Inbox


@pytest.mark.asyncio
async def test_smtp_mailer_delivers_text_and_attachment(settings: Settings, smtp: Inbox) -> None:
    to = f"{uuid.uuid4().hex[:8]}@example.it"
    mailer = make_mailer(settings)
    assert isinstance(mailer, SmtpMailer) and mailer.delivers
    pdf = b"%PDF-1.4 test"
    await mailer.send(
        Mail(
            to,
            "Avviso di pagamento",
            "Gentile contribuente,",
            attachments=(Attachment("avviso.pdf", "application/pdf", pdf),),
        )
    )
    [received] = await smtp.wait_for(to)
    assert received["Subject"] == "Avviso di pagamento"
    assert "noreply@riscossa.test" in str(received["From"])
    body = received.get_body(("plain",))
    assert body is not None and "Gentile contribuente" in body.get_content()
    [attached] = list(received.iter_attachments())
    assert attached.get_filename() == "avviso.pdf" and attached.get_content() == pdf


@pytest.mark.asyncio
async def test_development_mailer_keeps_the_message_and_does_not_claim_delivery(
    settings: Settings, tmp_path: Path
) -> None:
    mailer = make_mailer(replace(settings, smtp_url="", data_dir=tmp_path))
    assert isinstance(mailer, FolderMailer) and not mailer.delivers
    await mailer.send(Mail("a@example.it", "Prova", "Testo"))
    [saved] = list((tmp_path / "mail").glob("*.eml"))
    assert b"Subject: Prova" in saved.read_bytes()


def test_smtp_url_is_read_whole() -> None:
    mailer = smtp_mailer("smtp://user%40x:p%3Ass@mail.example.it:587?starttls=1", "a@b.it")
    assert (mailer.host, mailer.port, mailer.username, mailer.password, mailer.starttls) == (
        "mail.example.it",
        587,
        "user@x",
        "p:ss",
        True,
    )
    assert smtp_mailer("smtps://mail.example.it", "a@b.it").port == 465
    with pytest.raises(RuntimeError):
        smtp_mailer("http://mail.example.it", "a@b.it")
