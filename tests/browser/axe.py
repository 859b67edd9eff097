"""axe-core in Playwright: audit a page as it stands, and walk a role's pages one route at a time.

axe-core comes from node_modules (the root package.json's devDependencies, installed by `make vendor`)
and is loaded with `add_init_script`, which DevTools evaluates in every document outside the page's
Content-Security-Policy: the pages keep their strict CSP, no bypass is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from playwright.async_api import Browser, BrowserContext, Page, ViewportSize

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
# Not pages: files, the machinery, and the links that end the session.
NOT_PAGES = re.compile(
    r"\.(pdf|csv|xlsx|zip|json)$|/pdf(/|$)|/evidence(/|$)|/ricevute/|/consegna/|/healthz$"
    r"|^/(static|files|api|login/oidc|logout|healthz|readyz)\b"
)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_PAGES = 80  # a walk that keeps finding new routes fails instead of running on
RUN = (
    "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
    " resultTypes: ['violations', 'incomplete']})"
)
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=720)  # Playwright's default


def route_of(url: str) -> str:
    """The route a URL belongs to: ids, slugs and signed tokens replaced by placeholders."""
    path = re.sub(r"^/t/[^/]+/", "/t/{tenant}/", urlsplit(url).path)
    path = re.sub(r"^/admin/comuni/[^/]+/", "/admin/comuni/{slug}/", path)
    path = re.sub(r"^/avvisi/[^/]+$", "/avvisi/{token}", path)
    return UUID.sub("{id}", path)


def page_key(url: str) -> str:
    """One audit per route and set of query parameters (a filter shows other parts of a page)."""
    keys = sorted({k for k, _ in parse_qsl(urlsplit(url).query)})
    return route_of(url) + ("?" + "&".join(keys) if keys else "")


async def axe_context(browser: Browser) -> BrowserContext:
    context = await browser.new_context()
    await context.add_init_script(path=str(AXE))
    return context


@dataclass
class Walk:
    """One role's walk: where it goes, the routes it audited and what axe found there."""

    who: str
    base: str
    page: Page
    routes: set[str] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    todo: list[str] = field(default_factory=list)
    fragments: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        # What HTMX loads into a page is audited with it: its route counts as audited.
        self.page.on("request", lambda r: self._fragment(r.url, r.headers))

    def _fragment(self, url: str, headers: dict[str, str]) -> None:
        if headers.get("hx-request") and url.startswith(self.base + "/"):
            self.fragments.add(route_of(url))

    async def audit(self, state: str = "") -> None:
        """axe-core on the page as it stands, once HTMX has loaded what it loads; the links it
        offers join the walk."""
        await self.page.wait_for_load_state("networkidle")
        result = await self.page.evaluate(RUN, WCAG)
        where = f"{self.who} {self.page.url}" + (f" ({state})" if state else "")
        for v in result["violations"]:
            if v["impact"] in BLOCKING:
                self._note(where, v, v["nodes"])
        for v in result["incomplete"]:
            unreadable = [n for n in v["nodes"] if v["id"] == "color-contrast" and _measured_too_low(n)]
            if unreadable:
                self._note(where, v, unreadable)
        self.routes |= {route_of(self.page.url), *self.fragments}
        self.fragments.clear()
        self.seen.add(page_key(self.page.url))
        links = await self.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        self.todo += [link.split("#")[0] for link in links]

    def _note(self, where: str, rule: dict[str, Any], nodes: list[dict[str, Any]]) -> None:
        targets = "; ".join(" ".join(n["target"]) for n in nodes[:5])
        self.violations.append(f"{where}: {rule['id']} [{rule['impact']}] {rule['help']} -> {targets}")

    async def visit(self, path_or_url: str, state: str = "") -> None:
        url = path_or_url if path_or_url.startswith("http") else self.base + path_or_url
        response = await self.page.goto(url)
        if response is None or response.status >= 500:
            self.server_errors.append(f"{self.who} {url}: {response.status if response else 'no answer'}")
        await self.audit(state)

    async def on_a_phone(self, paths: list[str]) -> None:
        """The same pages on a phone's width, where Bootstrap Italia lays the header out anew; none
        may be wider than the screen (WCAG 1.4.10 reflow: a wide table scrolls in its own region)."""
        await self.page.set_viewport_size(PHONE)
        for path in paths:
            await self.visit(path, "telefono")
            wider = await self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if wider > 0:
                self.violations.append(
                    f"{self.who} {self.page.url} (telefono): reflow: {wider} px wider than the screen"
                )
        await self.page.set_viewport_size(DESKTOP)

    async def crawl(self) -> None:
        """Every same-site page linked from what was audited, one page per route."""
        while self.todo:
            url = self.todo.pop(0)
            if not url.startswith(self.base + "/") or NOT_PAGES.search(urlsplit(url).path):
                continue
            if page_key(url) in self.seen:
                continue
            assert len(self.seen) < MAX_PAGES, f"{self.who}: more than {MAX_PAGES} pages, at {url}"
            self.seen.add(page_key(url))  # a link that redirects is followed once too
            await self.visit(url)


def _measured_too_low(node: dict[str, Any]) -> bool:
    """axe leaves undecided the text whose colours are equal (it might be hidden on purpose) or that
    stands on an image; where it did measure a ratio below the threshold, visible text is unreadable
    (white menu links on a white bar are reported this way)."""
    for check in node["any"]:
        data = check.get("data") or {}
        ratio, expected = data.get("contrastRatio"), data.get("expectedContrastRatio")
        if ratio and expected and float(ratio) < float(str(expected).split(":")[0]):
            return True
    return False


async def axe_catches_an_unlabelled_field(page: Page) -> bool:
    """The harness itself: a field without a label added to the page must be reported."""
    await page.evaluate(
        "() => { const i = document.createElement('input'); i.id = 'axe-canary'; document.body.append(i); }"
    )
    result = await page.evaluate(RUN, WCAG)
    await page.evaluate("() => document.getElementById('axe-canary').remove()")
    return any(
        v["id"] == "label"
        and v["impact"] in BLOCKING
        and any("#axe-canary" in n["target"] for n in v["nodes"])
        for v in result["violations"]
    )
