"""Checks run inside the browser: accessible names from Chromium's own accessibility tree, and
WCAG AA text contrast computed from the rendered colours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
                 "--disable-sync"]
INTERACTIVE_ROLES = {"button", "link", "textbox", "searchbox", "combobox", "checkbox", "radio", "listbox",
                     "menuitem", "tab", "switch", "slider", "spinbutton", "DisclosureTriangle"}


def unnamed_controls(page: Page) -> list[dict[str, Any]]:
    """Every interactive node of the page's accessibility tree (as Chromium computes it for screen
    readers) whose accessible name is empty."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("Accessibility.enable")
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    missing = []
    for node in nodes:
        role = (node.get("role") or {}).get("value")
        if node.get("ignored") or role not in INTERACTIVE_ROLES:
            continue
        name = str((node.get("name") or {}).get("value") or "").strip()
        if not name:
            missing.append({"role": role, "node": node.get("backendDOMNodeId")})
    return missing


CONTRAST_JS = """
() => {
  function parse(c) {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  }
  function blend(top, bottom) {
    const a = top.a;
    const mix = k => top[k] * a + bottom[k] * (1 - a);
    return {r: mix('r'), g: mix('g'), b: mix('b'), a: 1};
  }
  function lum(c) {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  }
  function background(el) {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let result = {r: 255, g: 255, b: 255, a: 1};
    for (let i = layers.length - 1; i >= 0; i--) result = blend(layers[i], result);
    return result;
  }
  document.getAnimations().forEach(a => a.finish());
  const failures = [];
  let checked = 0;
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || seen.has(el)) continue;
    seen.add(el);
    if (el.closest("[hidden], .sr-only, dialog:not([open]), option, script, style, .skip")) continue;
    const st = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    if (st.visibility === "hidden" || st.display === "none" || rect.width === 0 || rect.height === 0) continue;
    const bg = background(el);
    const fg = blend(parse(st.color), bg);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(st.fontSize);
    const large = size >= 24 || (parseInt(st.fontWeight, 10) >= 700 && size >= 18.66);
    checked++;
    if (ratio < (large ? 3 : 4.5)) {
      failures.push({text: node.textContent.trim().slice(0, 40), ratio: Math.round(ratio * 100) / 100,
                     color: st.color, background: `rgb(${bg.r}, ${bg.g}, ${bg.b})`});
    }
  }
  return {checked, failures};
}
"""


def contrast_failures(page: Page) -> list[dict[str, Any]]:
    """Text whose contrast with its rendered background is below WCAG AA (4.5:1, 3:1 for large text)."""
    result = page.evaluate(CONTRAST_JS)
    assert result["checked"] > 10, "the contrast check found no text to check"
    return list(result["failures"])


AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_RUN = """
async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
}
"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.0/2.1 A and AA rules run inside the page (injected from the vendored copy
    when the page does not have it yet): every violation with up to five of its elements."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the page's CSP (script-src 'self') does
        # not govern; a <script> tag would be refused, as it should be.
        page.evaluate(AXE.read_text() + "\n;undefined")
    return list(page.evaluate(AXE_RUN, AXE_TAGS))


def assert_accessible(page: Page) -> None:
    assert unnamed_controls(page) == [], page.url
    assert contrast_failures(page) == [], page.url
    violations = axe_violations(page)
    assert violations == [], f"{page.url}: {violations}"


def assert_fits_width(page: Page, width: int) -> None:
    """Nothing makes the page scroll sideways (wide tables scroll inside their own box)."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide at {width}px"
