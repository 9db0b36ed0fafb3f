"""What every public page must pass in Chromium, for the public-site tests: axe-core's
accessibility rules (its npm package, `make axe`, run inside the page), no sideways scroll
of the page on a phone, and no request to another host.

axe runs through Playwright's evaluate (the DevTools protocol), which the pages' CSP does
not apply to: nothing is added to the page's own scripts."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page

from tests.conftest import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SERIOUS = {"serious", "critical"}


def axe_violations(page: Page, impacts: set[str] = SERIOUS) -> list[str]:
    """axe-core's violations of the given impacts on the page as it is now, one line each
    (rule, impact, help and the first offending elements), empty when there are none."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `make axe` (npm ci) first")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at " + "; ".join(_target(node) for node in v["nodes"][:3])
        for v in result["violations"]
        if v.get("impact") in impacts
    ]


def _target(node: dict) -> str:
    target = node["target"]
    return " ".join(map(str, target)) if isinstance(target, list) else str(target)


def sideways_overflow(page: Page) -> int:
    """How many CSS pixels the page scrolls sideways (0 when it fits its viewport; a wide
    table scrolling inside its own box does not count)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


class Requests:
    """Every request a page makes, to tell those that leave the site's own hosts."""

    def __init__(self, page: Page, allowed_hosts: set[str]) -> None:
        self.allowed = allowed_hosts
        self.elsewhere: list[str] = []
        page.on("request", self._seen)

    def _seen(self, request) -> None:  # type: ignore[no-untyped-def]
        url = urlsplit(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc not in self.allowed:
            self.elsewhere.append(request.url)
