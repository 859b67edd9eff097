"""Settings read from RISCOSSA_* environment variables, with embedded defaults when unset."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SERVICES = ("ingest", "contact", "payments", "reporting", "gateway")
DEV_MODES = frozenset({"dev", "embedded"})
# The development secret the source once shipped: public, so refused in every mode.
PUBLIC_DEV_SECRET = "dev-insecure-secret-change-me"  # noqa: S105
DEFAULT_APP_DB_PASSWORD = "riscossa-app"  # noqa: S105 (embedded default, documented)
# Role names are `<prefix>_<service>_relay` at most: PostgreSQL's 63 bytes leave the prefix 40.
ROLE_PREFIX_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"RISCOSSA_{name}", default)


def _int(name: str, default: int) -> int:
    raw = _env(name)
    return int(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    mode: str = "dev"
    data_dir: Path = Path(".riscossa")
    database_url: str = ""
    app_db_password: str = DEFAULT_APP_DB_PASSWORD
    # RISCOSSA_ROLE_PREFIX: the PostgreSQL roles are `<prefix>_owner`, `<prefix>_<service>` and
    # `<prefix>_<service>_relay`; roles are global to a server, so two deployments sharing one
    # server need two prefixes.
    role_prefix: str = "riscossa"
    # One password per role (RISCOSSA_DB_PASSWORD_<SERVICE>, RISCOSSA_DB_PASSWORD_<SERVICE>_RELAY),
    # keyed `<service>` and `<service>_relay`; a role without one uses `app_db_password`.
    db_passwords: dict[str, str] = field(default_factory=dict)
    amqp_url: str = ""
    exchange: str = "riscossa"
    queue_prefix: str = "riscossa"
    max_retries: int = 3
    retry_delay_ms: int = 2000
    s3_endpoint: str = ""
    s3_bucket: str = "riscossa"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    storage_dir: Path = Path(".riscossa/storage")
    # RISCOSSA_SECRET_KEY; unset in dev/embedded mode, the data folder's own (`with_generated_secret`).
    secret_key: str = ""
    identity_ttl_seconds: int = 60
    public_base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    dev_login: bool = True
    service_urls: dict[str, str] = field(default_factory=dict)
    log_level: str = "INFO"
    max_upload_bytes: int = 200 * 1024 * 1024
    smtp_url: str = ""
    mail_from: str = "Riscossa <noreply@riscossa.localhost>"
    # How long a link to the taxpayer's public notice page works (RISCOSSA_PUBLIC_LINK_DAYS).
    public_link_days: int = 30
    # Connections each service's pool keeps open (RISCOSSA_DB_POOL_SIZE), and as many more when
    # busy: fewer than the requests in flight makes PostgreSQL fork a backend per request.
    db_pool_size: int = 10
    # Each process serves its Prometheus metrics on this port (RISCOSSA_METRICS_PORT; 0: none).
    metrics_port: int = 0
    # An OTLP/HTTP collector's traces URL (RISCOSSA_TRACES_ENDPOINT): traces are off without it.
    traces_endpoint: str = ""
    # `worker` and `relay` answer /healthz and /readyz on this port (RISCOSSA_HEALTH_PORT; 0: none).
    health_port: int = 0
    # How long a process waits for the broker when it starts (RISCOSSA_BROKER_WAIT_SECONDS), trying
    # again with backoff, before it gives up with status 1.
    broker_wait_seconds: int = 300
    # How long a `worker` or `relay` may stay stuck (broker connection not restored, every publish
    # failing, a batch never finishing) before it exits to be started again (RISCOSSA_STUCK_SECONDS).
    stuck_seconds: int = 120
    # Reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For gives the client address
    # (RISCOSSA_TRUSTED_PROXIES): none by default, so no client can pick its own address.
    trusted_proxies: str = ""

    @property
    def is_dev(self) -> bool:
        return self.mode in DEV_MODES

    @property
    def uses_embedded_database(self) -> bool:
        return not self.database_url

    @property
    def uses_rabbitmq(self) -> bool:
        return bool(self.amqp_url)

    @property
    def uses_s3(self) -> bool:
        return bool(self.s3_endpoint)

    def db_password(self, service: str, relay: bool = False) -> str:
        """The password of a service's role (or its relay's): its own if set, else the shared one."""
        return self.db_passwords.get(f"{service}_relay" if relay else service) or self.app_db_password

    def default_db_passwords(self, services: tuple[str, ...] = SERVICES) -> list[str]:
        """The roles (`<service>`, `<service>_relay`) that would get the built-in password."""
        keys = [key for service in services for key in (service, f"{service}_relay")]
        return [
            key
            for key in keys
            if (self.db_passwords.get(key) or self.app_db_password) == DEFAULT_APP_DB_PASSWORD
        ]

    @classmethod
    def from_env(cls) -> Settings:
        mode = _env("MODE", "dev")
        # Absolute, so that a service's `serve` and `worker` started from different working
        # directories still share the local object storage (and the secret) below it.
        data_dir = Path(_env("DATA_DIR", ".riscossa")).absolute()
        passwords = {
            key: _env(f"DB_PASSWORD_{key.upper()}")
            for service in SERVICES
            for key in (service, f"{service}_relay")
            if _env(f"DB_PASSWORD_{key.upper()}")
        }
        urls = {s: _env(f"{s.upper()}_URL") for s in SERVICES if _env(f"{s.upper()}_URL")}
        return cls(
            mode=mode,
            data_dir=data_dir,
            database_url=normalise_database_url(_env("DATABASE_URL")),
            app_db_password=_env("APP_DB_PASSWORD", DEFAULT_APP_DB_PASSWORD),
            role_prefix=_env("ROLE_PREFIX", "riscossa"),
            db_passwords=passwords,
            amqp_url=_env("AMQP_URL"),
            exchange=_env("EXCHANGE", "riscossa"),
            queue_prefix=_env("QUEUE_PREFIX", "riscossa"),
            max_retries=_int("MAX_RETRIES", 3),
            retry_delay_ms=_int("RETRY_DELAY_MS", 2000),
            s3_endpoint=_env("S3_ENDPOINT"),
            s3_bucket=_env("S3_BUCKET", "riscossa"),
            s3_access_key=_env("S3_ACCESS_KEY"),
            s3_secret_key=_env("S3_SECRET_KEY"),
            s3_region=_env("S3_REGION", "us-east-1"),
            storage_dir=Path(_env("STORAGE_DIR", str(data_dir / "storage"))).absolute(),
            secret_key=_env("SECRET_KEY"),
            identity_ttl_seconds=_int("IDENTITY_TTL_SECONDS", 60),
            public_base_url=_env(
                "PUBLIC_BASE_URL", f"http://{_env('HOST', '127.0.0.1')}:{_int('PORT', 8000)}"
            ),
            host=_env("HOST", "127.0.0.1"),
            port=_int("PORT", 8000),
            dev_login=_env("DEV_LOGIN", "1" if mode in DEV_MODES else "0") == "1",
            service_urls=urls,
            log_level=_env("LOG_LEVEL", "INFO"),
            max_upload_bytes=_int("MAX_UPLOAD_BYTES", 200 * 1024 * 1024),
            smtp_url=_env("SMTP_URL"),
            mail_from=_env("MAIL_FROM", "Riscossa <noreply@riscossa.localhost>"),
            public_link_days=_int("PUBLIC_LINK_DAYS", 30),
            db_pool_size=_int("DB_POOL_SIZE", 10),
            metrics_port=_int("METRICS_PORT", 0),
            traces_endpoint=_env("TRACES_ENDPOINT"),
            health_port=_int("HEALTH_PORT", 0),
            broker_wait_seconds=_int("BROKER_WAIT_SECONDS", 300),
            stuck_seconds=_int("STUCK_SECONDS", 120),
            trusted_proxies=_env("TRUSTED_PROXIES").strip(),
        )

    def check(self) -> None:
        """Refuse unsafe combinations before anything starts."""
        if self.dev_login and not self.is_dev:
            raise RuntimeError("The development login is allowed only in RISCOSSA_MODE=dev or embedded.")
        if not self.secret_key or self.secret_key == PUBLIC_DEV_SECRET:
            raise RuntimeError(
                "RISCOSSA_SECRET_KEY must be set to a private value (dev and embedded mode generate one"
                " in the data folder); the old built-in development secret is public and refused."
            )
        if not ROLE_PREFIX_RE.match(self.role_prefix):
            raise RuntimeError(
                "RISCOSSA_ROLE_PREFIX must be lowercase letters, digits and underscores, starting"
                f" with a letter, at most 40 characters: {self.role_prefix!r}"
            )
        if (
            self.mode == "production"
            and self.app_db_password == DEFAULT_APP_DB_PASSWORD
            and not self.db_passwords
        ):
            raise RuntimeError(
                "RISCOSSA_APP_DB_PASSWORD (or one RISCOSSA_DB_PASSWORD_<SERVICE> per role) must be set in production."
            )


def normalise_database_url(url: str) -> str:
    """A `postgresql://` or `postgres://` URL (what most providers hand out) as SQLAlchemy's asyncpg
    URL, the only driver the processes speak; libpq's `sslmode` becomes asyncpg's `ssl`."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgres", "postgresql"):
        return url
    parts = urlsplit(f"postgresql+asyncpg://{rest}")
    query = [("ssl" if k == "sslmode" else k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def with_generated_secret(settings: Settings) -> Settings:
    """Dev and embedded mode without RISCOSSA_SECRET_KEY: the data folder's own random secret."""
    if settings.secret_key or not settings.is_dev:
        return settings
    return replace(settings, secret_key=data_dir_secret(settings.data_dir))


def data_dir_secret(data_dir: Path) -> str:
    """`<data_dir>/secret` (mode 0600), generated on first start and read on later ones."""
    path = data_dir / "secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".secret-{secrets.token_hex(8)}"
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(draft, path)  # atomic: of two processes starting at once, the first one's stays
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    value = path.read_text().strip()
    if len(value) < 32:
        raise RuntimeError(f"{path} holds no usable secret: remove it and a new one is generated.")
    return value
