"""Outgoing e-mail: SMTP in every real setting, a folder of .eml files on the embedded defaults.

`RISCOSSA_SMTP_URL` is `smtp://[user:password@]host[:port][?starttls=1]` (or `smtps://` for implicit
TLS). Without it (dev), each message is written to `<data_dir>/mail/` and the log says where, so the
development platform never pretends it delivered anything.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from services.kernel.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str = ""
    attachments: tuple[Attachment, ...] = field(default=())


class Mailer(Protocol):
    @property
    def delivers(self) -> bool:
        """True when the message really leaves the platform (what a page may tell its user)."""
        ...

    async def send(self, mail: Mail) -> str:
        """Sends the message; returns its Message-ID."""
        ...


def build_message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip(">") or None)
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    for item in mail.attachments:
        main, _, sub = item.content_type.partition("/")
        message.add_attachment(item.data, maintype=main, subtype=sub, filename=item.filename)
    return message


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = False
    implicit_tls: bool = False
    timeout: float = 20.0
    delivers: bool = True

    async def send(self, mail: Mail) -> str:
        message = build_message(mail, self.sender)
        await asyncio.to_thread(self._send, message)
        return str(message["Message-ID"])

    def _send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp = (
            smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            if self.implicit_tls
            else smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        )
        with smtp:
            if self.starttls:
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)


@dataclass(frozen=True)
class FolderMailer:
    """Development only: keeps each message as an .eml file instead of sending it."""

    folder: Path
    sender: str
    delivers: bool = False

    async def send(self, mail: Mail) -> str:
        message = build_message(mail, self.sender)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{uuid.uuid4()}.eml"
        await asyncio.to_thread(path.write_bytes, message.as_bytes())
        log.warning("development mailer: e-mail to %s NOT sent, saved in %s", mail.to, path)
        return str(message["Message-ID"])


def smtp_mailer(url: str, sender: str) -> SmtpMailer:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise RuntimeError("RISCOSSA_SMTP_URL must look like smtp://user:password@host:port")
    query = parse_qs(parts.query)
    implicit = parts.scheme == "smtps"
    return SmtpMailer(
        host=parts.hostname,
        port=parts.port or (465 if implicit else 25),
        sender=sender,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        starttls=query.get("starttls", ["0"])[0] == "1",
        implicit_tls=implicit,
    )


def make_mailer(settings: Settings) -> Mailer:
    if settings.smtp_url:
        return smtp_mailer(settings.smtp_url, settings.mail_from)
    return FolderMailer(settings.data_dir / "mail", settings.mail_from)
