"""The test OpenID provider, started once per test session for the gateway tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import RUN_ID
from tests.oidc_provider import OpenIdProvider, free_port, start_provider, stop_provider


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIdProvider]:
    provider = start_provider(tmp_path_factory.mktemp("oidc"), free_port(), RUN_ID)
    yield provider
    stop_provider(provider)
