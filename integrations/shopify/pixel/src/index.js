// ShopConnect web pixel: subscribes to Shopify's standard customer events and posts them, batched, to
// ShopConnect's collect endpoint in the batch format of docs/CONTRACT.md ("Storefront collect batch").
import { register } from "@shopify/web-pixels-extension";

const BATCH = 20;
const DELAY_MS = 1000;

function money(value) {
  return value && value.amount !== undefined ? String(value.amount) : undefined;
}

function variantData(variant) {
  if (!variant) return {};
  const product = variant.product || {};
  return {
    product_id: product.id, variant_id: variant.id, title: product.title || variant.title,
    price: money(variant.price), currency: variant.price && variant.price.currencyCode,
    category: product.type, url: product.url, image_url: variant.image && variant.image.src,
  };
}

function checkoutData(checkout) {
  if (!checkout) return {};
  return {
    checkout_id: checkout.token, total: money(checkout.totalPrice),
    currency: checkout.currencyCode || (checkout.totalPrice && checkout.totalPrice.currencyCode),
    line_items: (checkout.lineItems || []).map((line) => ({
      quantity: line.quantity, title: line.title,
      product_id: line.variant && line.variant.product && line.variant.product.id,
      variant_id: line.variant && line.variant.id, price: line.variant && money(line.variant.price),
    })),
  };
}

// Shopify event -> the data ShopConnect records (see integrations/storefront/mapping.py).
function dataFor(event) {
  const d = event.data || {};
  switch (event.name) {
    case "product_viewed": return variantData(d.productVariant);
    case "collection_viewed": return { collection_id: d.collection && d.collection.id, title: d.collection && d.collection.title };
    case "search_submitted": return { query: d.searchResult && d.searchResult.query };
    case "product_added_to_cart":
    case "product_removed_from_cart":
      return { ...variantData(d.cartLine && d.cartLine.merchandise), quantity: d.cartLine && d.cartLine.quantity };
    case "cart_viewed": return { cart_token: d.cart && d.cart.id };
    default: return checkoutData(d.checkout);
  }
}

register(({ analytics, browser, settings, init }) => {
  const endpoint = settings.collectUrl;
  const customer = (init.data && init.data.customer) || {};
  let queue = [];
  let timer = null;
  let token = null;

  // The signed identity parameter from our email links: keep it for the visitor's later pages.
  const search = (init.context && init.context.document && init.context.document.location.search) || "";
  const landing = new URLSearchParams(search).get("sc_id");
  const ready = (landing ? browser.localStorage.setItem("sc_id", landing).then(() => landing)
    : browser.localStorage.getItem("sc_id")).then((value) => { token = value; }, () => {});

  function flush() {
    clearTimeout(timer);
    timer = null;
    while (queue.length) {
      const body = JSON.stringify({ events: queue.splice(0, BATCH) });
      fetch(endpoint, { method: "POST", body, keepalive: true, headers: { "Content-Type": "text/plain" } })
        .catch(() => browser.sendBeacon(endpoint, body));
    }
  }

  // Time on page: a pixel cannot see the page being left, so each page's start (and its product, once
  // product_viewed names it) is kept in sessionStorage; the next page_viewed sends "page_left" for it with
  // the time between the two (at most 30 minutes: a tab left open is not reading). The last page of a
  // visit is not counted.
  const MAX_PAGE_SECONDS = 30 * 60;
  async function pageChanged(event) {
    const started = Date.parse(event.timestamp);
    let previous = null;
    try { previous = JSON.parse((await browser.sessionStorage.getItem("sc_page")) || "null"); } catch (e) {}
    if (previous && previous.started && started > previous.started) {
      const data = { duration_seconds: Math.min(Math.round((started - previous.started) / 1000), MAX_PAGE_SECONDS),
                     page_type: previous.product_id ? "product" : "page" };
      if (previous.product_id) { data.product_id = previous.product_id; data.title = previous.title; }
      enqueue({ id: `${event.id}-left`, name: "page_left", timestamp: event.timestamp, client_id: event.clientId,
                url: previous.url, data });
    }
    const url = event.context && event.context.document && event.context.document.location.href;
    await browser.sessionStorage.setItem("sc_page", JSON.stringify({ started, url })).catch(() => {});
  }
  async function productShown(event) {
    const variant = (event.data && event.data.productVariant) || {};
    const product = variant.product || {};
    try {
      const current = JSON.parse((await browser.sessionStorage.getItem("sc_page")) || "null");
      if (current) {
        await browser.sessionStorage.setItem("sc_page", JSON.stringify(
          { ...current, product_id: product.id, title: product.title || variant.title }));
      }
    } catch (e) {}
  }

  function enqueue(out) {
    const email = customer.email;
    if (email && !out.email) out.email = email;
    if (customer.id) out.customer_id = String(customer.id);
    if (token) out.sc_id = token;
    queue.push(out);
  }

  analytics.subscribe("all_standard_events", async (event) => {
    await ready;
    if (event.name === "page_viewed") await pageChanged(event);
    if (event.name === "product_viewed") await productShown(event);
    const checkout = event.data && event.data.checkout;
    const out = {
      id: event.id, name: event.name, timestamp: event.timestamp, client_id: event.clientId,
      url: event.context && event.context.document && event.context.document.location.href,
      data: dataFor(event),
    };
    if (checkout && checkout.email) out.email = checkout.email;
    enqueue(out);
    if (queue.length >= BATCH || event.name === "checkout_completed") flush();
    else if (!timer) timer = setTimeout(flush, DELAY_MS);
  });
});
