"""What the deployment checks share: paths, the CLI's acceptance of a command, the settings the code
reads, label selectors, compose's variable interpolation."""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from services.cli import main
from services.kernel.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
# Where a process in a container listens (the image's RISCOSSA_HOST).
ANY_INTERFACE = "0.0.0.0"  # noqa: S104
INFRA = ROOT / "infra"
# Settings whose values are credentials (or may carry them): never written in a manifest or a
# ConfigMap, always taken from a secret.
SECRET_SETTINGS = frozenset(
    {
        "RISCOSSA_SECRET_KEY",
        "RISCOSSA_APP_DB_PASSWORD",
        "RISCOSSA_AMQP_URL",
        "RISCOSSA_S3_ACCESS_KEY",
        "RISCOSSA_S3_SECRET_KEY",
        "RISCOSSA_SMTP_URL",
        "RISCOSSA_OIDC_PROVIDERS",
        *(
            f"RISCOSSA_DB_PASSWORD_{service.upper()}{relay}"
            for service in ("gateway", "ingest", "contact", "payments", "reporting")
            for relay in ("", "_RELAY")
        ),
    }
)


def cli_accepts(args: list[str]) -> bool:
    """Whether `riscossa <args>` is a command the CLI knows (its parser, without running it)."""
    quiet = contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO())
    with quiet[0], quiet[1], pytest.raises(SystemExit) as exit_info:
        main([*args, "--help"])
    return exit_info.value.code == 0


class _Recording(dict[str, str]):
    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[_Recording]:
    """`os.environ` replaced by exactly `values`, recording the names read through `get`."""
    recording = _Recording(values)
    with mock.patch.object(os, "environ", recording):
        yield recording


def settings_from(values: Mapping[str, str]) -> Settings:
    with environment(values):
        return Settings.from_env()


def known_settings() -> frozenset[str]:
    """Every RISCOSSA_* variable the code reads: those Settings asks for, and those named in the
    source of services/ and gateway/ (read directly, e.g. RISCOSSA_TRUSTED_PROXIES)."""
    with environment({}) as recording:
        Settings.from_env()
    named = {
        match
        for top in ("services", "gateway")
        for path in (ROOT / top).rglob("*.py")
        for match in re.findall(r"RISCOSSA_[A-Z0-9_]*[A-Z0-9]", path.read_text())
    }
    return frozenset({k for k in recording.asked if k.startswith("RISCOSSA_")} | named)


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions)."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}` and `$$`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        value = environ.get(name)
        if (op in (":-", ":?") and not value) or (op in ("-", "?") and value is None):
            if op.endswith("?"):
                raise KeyError(f"{name} is required: {arg}")
            return arg
        return value or ""

    return _VARIABLE.sub(replace, text)
