"""Fixtures for reporter and pipeline tests: the fake ghost and a probe context."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ghost_exporter.probes import ProbeContext
from tests.conftest import ServeFn
from tests.integration.sync.fakeghost import FakeGhost


@pytest.fixture
async def ghost(serve: ServeFn) -> tuple[FakeGhost, str]:
    fake = FakeGhost()
    url = await serve(fake.app())
    return fake, url


@pytest.fixture
async def ctx() -> AsyncIterator[ProbeContext]:
    context = ProbeContext()
    yield context
    await context.close()
