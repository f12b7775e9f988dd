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

  analytics.subscribe("all_standard_events", async (event) => {
    await ready;
    const checkout = event.data && event.data.checkout;
    const out = {
      id: event.id, name: event.name, timestamp: event.timestamp, client_id: event.clientId,
      url: event.context && event.context.document && event.context.document.location.href,
      data: dataFor(event),
    };
    const email = (checkout && checkout.email) || customer.email;
    if (email) out.email = email;
    if (customer.id) out.customer_id = String(customer.id);
    if (token) out.sc_id = token;
    queue.push(out);
    if (queue.length >= BATCH || event.name === "checkout_completed") flush();
    else if (!timer) timer = setTimeout(flush, DELAY_MS);
  });
});
