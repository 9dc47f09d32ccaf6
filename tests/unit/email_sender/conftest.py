"""Each test compiles its templates itself: the compile cache lasts the process, and a template text that an
earlier test (or an earlier pytest session in the same process) compiled would come from the cache, so the
parser, the whitespace pass and the compiler would never run for it."""

from __future__ import annotations

import pytest

from email_sender.handlebars import template


@pytest.fixture(autouse=True)
def _fresh_compile_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(template, "_CACHE", template._Cache(template.CACHE_TEMPLATES, template.CACHE_CHARS))
