/* ShopConnect storefront tracking. Nothing is stored or sent until the page says the visitor consented:
   shopconnect("consent", true), or data-consent="granted" on this script's tag. The store's signup forms
   (forms.js) are loaded whatever the tracking consent: signing up is the visitor's own act; so is the
   back-in-stock form on a sold-out product page. */
(function (w, d) {
  "use strict";
  var ENDPOINT = "__SC_ENDPOINT__", BATCH = 20, DELAY = 1000;
  var stub = w.shopconnect, pending = (stub && stub.q) || [], me = d.currentScript;
  var consent = false, started = false, queue = [], timer = null, ident = {}, left = false;
  var visibleMs = 0, visibleSince = d.visibilityState === "visible" ? Date.now() : null;
  var landing = null;
  try { landing = new URLSearchParams(w.location.search).get("sc_id"); } catch (e) {}

  function get(k) { try { return w.localStorage.getItem(k); } catch (e) { return null; } }
  function set(k, v) { try { w.localStorage.setItem(k, v); } catch (e) {} }
  function del(k) { try { w.localStorage.removeItem(k); } catch (e) {} }
  function uuid() {
    if (w.crypto && w.crypto.randomUUID) return w.crypto.randomUUID();
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = Math.random() * 16 | 0; return (c === "x" ? r : (r & 3 | 8)).toString(16);
    });
  }
  function clientId() { var c = get("sc_cid"); if (!c) { c = uuid(); set("sc_cid", c); } return c; }
  function json(text) { try { return JSON.parse(text); } catch (e) { return null; } }

  function track(name, data) {
    if (!consent) return;
    var e = { id: uuid(), name: name, timestamp: new Date().toISOString(), client_id: clientId(),
              url: w.location.href, data: data || {} };
    if (ident.email) e.email = ident.email;
    if (ident.customer_id) e.customer_id = String(ident.customer_id);
    var token = get("sc_id"); if (token) e.sc_id = token;
    if (name === "page_viewed") { e.title = d.title.slice(0, 300); if (d.referrer) e.referrer = d.referrer.slice(0, 2048); }
    queue.push(e);
    if (queue.length >= BATCH) flush(); else if (!timer) timer = setTimeout(flush, DELAY);
  }
  function flush() {
    clearTimeout(timer); timer = null;
    while (queue.length) {
      var body = JSON.stringify({ events: queue.splice(0, BATCH) });
      try {
        // text/plain: a "simple" request, no CORS preflight; keepalive: survives the page unloading
        w.fetch(ENDPOINT, { method: "POST", body: body, keepalive: true, credentials: "omit",
                            headers: { "Content-Type": "text/plain" } })["catch"](function () {});
      } catch (err) { if (w.navigator.sendBeacon) w.navigator.sendBeacon(ENDPOINT, body); }
    }
  }
  function identify(who) {
    if (!who) return;
    var email = who.email && String(who.email).trim();
    if (email && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) ident.email = email.toLowerCase();
    if (who.customer_id) ident.customer_id = String(who.customer_id);
    if (consent) set("sc_ident", JSON.stringify(ident));
  }
  function page() {
    var el = d.getElementById("shopconnect-page");
    return (el && json(el.textContent)) || w.shopconnectPage || {};
  }
  function itemFrom(el, ctx) {
    var data = json(el.getAttribute("data-sc-product") || "") || {};
    if (!data.product_id && ctx.product) for (var k in ctx.product) data[k] = ctx.product[k];
    if (!data.product_id && el.getAttribute("data-product_id")) data.product_id = el.getAttribute("data-product_id");
    var form = el.closest && el.closest("form"), qty = form && form.querySelector("[name=quantity]");
    data.quantity = parseInt(data.quantity || el.getAttribute("data-quantity") || (qty && qty.value) || 1, 10) || 1;
    return data;
  }
  function start() {
    if (started) return;
    started = true;
    var ctx = page();
    if (ctx.customer) identify(ctx.customer);
    track("page_viewed", {});
    if (ctx.type === "product" && ctx.product) track("product_viewed", ctx.product);
    if (ctx.type === "collection" && ctx.collection) track("collection_viewed", ctx.collection);
    if (ctx.type === "search") track("search_submitted", { query: ctx.query || "" });
    if (ctx.type === "cart") track("cart_viewed", ctx.cart || {});
    if (ctx.type === "checkout") track("checkout_started", ctx.checkout || {});
    d.addEventListener("click", function (ev) {
      var t = ev.target && ev.target.closest && ev.target.closest(
        "[data-sc-add-to-cart],.add_to_cart_button,[data-sc-remove-from-cart],.woocommerce-cart-form .remove");
      if (!t) return;
      var removing = t.hasAttribute("data-sc-remove-from-cart") || t.classList.contains("remove");
      track(removing ? "product_removed_from_cart" : "product_added_to_cart", itemFrom(t, removing ? {} : ctx));
    }, true);
    d.addEventListener("submit", function (ev) {
      var f = ev.target, q = f && f.querySelector && f.querySelector("[name=s],[name=q]");
      if (q) track("search_submitted", { query: q.value });
      else if (f && f.classList && f.classList.contains("cart") && !f.querySelector("[data-sc-add-to-cart]"))
        track("product_added_to_cart", itemFrom(f, ctx));
    }, true);
    d.addEventListener("change", function (ev) {
      var t = ev.target;
      if (t && (t.type === "email" || t.id === "billing_email")) { identify({ email: t.value }); }
    }, true);
  }
  // The visible time on this page, tied to the product when the page shows one (rules add these up).
  function timeOnPage() {
    var ctx = page(), out = { duration_seconds: Math.round(visibleMs / 1000), page_type: ctx.type || "page" };
    if (ctx.type === "product" && ctx.product) { out.product_id = ctx.product.product_id; out.title = ctx.product.title; }
    return out;
  }
  function onHidden() {
    if (visibleSince !== null) { visibleMs += Date.now() - visibleSince; visibleSince = null; }
    flush();
  }
  d.addEventListener("visibilitychange", function () {
    if (d.visibilityState === "hidden") onHidden(); else visibleSince = Date.now();
  });
  w.addEventListener("pagehide", function () {
    if (visibleSince !== null) { visibleMs += Date.now() - visibleSince; visibleSince = null; }
    if (!left && started) { left = true; track("page_left", timeOnPage()); }
    flush();
  });

  function setConsent(granted) {
    consent = !!granted;
    if (!consent) { queue = []; del("sc_cid"); del("sc_id"); del("sc_ident"); return; }
    if (landing) set("sc_id", landing);
    var saved = json(get("sc_ident") || ""); if (saved) identify(saved);
    if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", start); else start();
  }
  // Signup forms live in a script of their own (forms.js), loaded only when the store has some to show.
  function loadForms() {
    try {
      w.fetch(ENDPOINT + "forms/", { credentials: "omit" }).then(function (r) { return r.json(); }).then(function (all) {
        // A sold-out product page ({"product": {..., "available": false}}) gets the back-in-stock form.
        var product = page().product;
        all.sold_out = product && product.available === false && product.product_id ? product : null;
        if (!(all.forms && all.forms.length) && !all.checkout && !(all.sold_out && all.back_in_stock)) return;
        var tag = d.createElement("script");
        tag.src = ENDPOINT + "forms.js"; tag.async = true;
        tag.onload = function () { if (w.shopconnectForms) w.shopconnectForms.start(all, ENDPOINT); };
        d.head.appendChild(tag);
      })["catch"](function () {});
    } catch (e) {}
  }

  function command(name, a) {
    if (name === "consent") setConsent(a);
    else if (name === "identify") identify(a);
    else if (name === "track") track(arguments[1], arguments[2]);
    else if (name === "flush") flush();
  }
  w.shopconnect = command;
  if (me && me.getAttribute("data-consent") === "granted") setConsent(true);
  for (var i = 0; i < pending.length; i++) command.apply(null, pending[i]);
  if (ENDPOINT.indexOf("http") === 0) {
    if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", loadForms); else loadForms();
  }
})(window, document);
