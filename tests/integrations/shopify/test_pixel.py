"""The web pixel's time on page, run in Node with Shopify's ``register`` and browser APIs stubbed: each
page_viewed sends ``page_left`` for the page before it, tied to the product that page showed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

PIXEL = Path(__file__).parents[3] / "integrations" / "shopify" / "pixel" / "src" / "index.js"

HARNESS = r"""
const store = {}; const sent = []; let handler = null;
const register = (fn) => fn({
  analytics: { subscribe: (name, h) => { handler = h; } },
  browser: {
    localStorage: { getItem: async () => null, setItem: async () => {} },
    sessionStorage: { getItem: async (k) => store[k] ?? null, setItem: async (k, v) => { store[k] = v; } },
    sendBeacon: () => {},
  },
  settings: { collectUrl: "https://sc.example/collect/KEY/" },
  init: { data: { customer: null }, context: { document: { location: { search: "" } } } },
});
globalThis.fetch = async (url, options) => { sent.push(...JSON.parse(options.body).events); return {}; };
globalThis.setTimeout = (fn) => 0; globalThis.clearTimeout = () => {};
__PIXEL__
const at = (s) => new Date(Date.UTC(2026, 2, 1, 10, 0, s)).toISOString();
const doc = (href) => ({ document: { location: { href } } });
const view = (id, name, s, href, data) => handler({ id, name, timestamp: at(s), clientId: "c",
                                                    context: doc(href), data: data || {} });
(async () => {
  await view("1", "page_viewed", 0, "https://s/products/shirt");
  await view("2", "product_viewed", 1, "https://s/products/shirt",
             { productVariant: { id: "v1", title: "M", product: { id: "93", title: "Linen Shirt" } } });
  await view("3", "page_viewed", 200, "https://s/pages/faq");
  await view("4", "page_viewed", 5000, "https://s/");
  await view("5", "checkout_completed", 5001, "https://s/");
  console.log(JSON.stringify(sent.filter((e) => e.name === "page_left")));
})();
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_each_page_view_sends_the_time_spent_on_the_page_before_with_its_product():
    source = PIXEL.read_text().replace('import { register } from "@shopify/web-pixels-extension";', "")
    result = subprocess.run(["node", "-e", HARNESS.replace("__PIXEL__", source)], capture_output=True, text=True,
                            timeout=30, check=True)
    product_page, faq = json.loads(result.stdout)
    assert product_page["url"] == "https://s/products/shirt" and product_page["id"] == "3-left"
    assert product_page["data"] == {"duration_seconds": 200, "page_type": "product", "product_id": "93",
                                    "title": "Linen Shirt"}
    assert faq["data"] == {"duration_seconds": 1800, "page_type": "page"}  # capped at 30 minutes
