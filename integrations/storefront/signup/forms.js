/* ShopConnect signup forms: popups, embedded forms, the WooCommerce checkout opt-in and the back-in-stock
   form of sold-out product pages (loaded by the
   storefront script when the store has any; the admin's designer uses preview()). Dependency-free.
   A closed or completed form is remembered in localStorage ("sc_form_<id>") so that it is not shown
   again; nothing else is stored. Every text is set with textContent, never as HTML. The visitor's
   tracking id (sc_cid) is sent only when the tracking script already has one, i.e. with consent. */
(function (w, d) {
  "use strict";
  var FORMS = "", shown = {};
  function get(k) { try { return w.localStorage.getItem(k); } catch (e) { return null; } }
  function set(k, v) { try { w.localStorage.setItem(k, v); } catch (e) {} }
  function el(tag, style, text) {
    var e = d.createElement(tag);
    if (style) e.setAttribute("style", style);
    if (text) e.textContent = text;
    return e;
  }
  function post(url, data, done) {
    try {
      w.fetch(url, { method: "POST", body: JSON.stringify(data || {}), credentials: "omit",
                     headers: { "Content-Type": "text/plain" } })
        .then(function (r) { return r.json().then(function (j) { done(r.status, j || {}); }); })
        ["catch"](function () { done(0, {}); });
    } catch (e) { done(0, {}); }
  }
  function renderForm(cfg, opts) {
    var c = cfg.colours || {}, inputs = {}, fields = cfg.fields || [], labels = cfg.labels || {};
    var box = el("div", "box-sizing:border-box;position:relative;max-width:420px;width:100%;padding:24px;" +
                 "border-radius:8px;text-align:left;font:16px/1.4 system-ui,sans-serif;box-shadow:0 8px 30px rgba(0,0,0,.2);" +
                 "background:" + c.background + ";color:" + c.text);
    box.className = "sc-form";
    box.appendChild(el("h2", "margin:0 0 8px;font-size:22px;color:inherit", cfg.headline));
    if (cfg.body) box.appendChild(el("p", "margin:0 0 12px", cfg.body));
    var form = el("form"), msg = el("p", "margin:8px 0 0;font-size:14px");
    form.setAttribute("novalidate", "");
    function input(name, type, placeholder) {
      var i = el("input", "display:block;width:100%;box-sizing:border-box;margin:0 0 8px;padding:10px;" +
                 "border:1px solid #bbb;border-radius:4px;font-size:16px;color:#222;background:#fff");
      i.type = type; i.name = name; i.placeholder = placeholder || ""; i.setAttribute("aria-label", placeholder || name);
      form.appendChild(i); inputs[name] = i;
    }
    for (var f = 0; f < fields.length; f++) input(fields[f], "text", labels[fields[f]]);
    input("email", "email", cfg.email_placeholder);
    var trap = el("input", "position:absolute;left:-9999px;width:1px;height:1px;opacity:0");  // the honeypot
    trap.name = "website"; trap.tabIndex = -1; trap.setAttribute("autocomplete", "off"); trap.setAttribute("aria-hidden", "true");
    form.appendChild(trap);
    var button = el("button", "width:100%;padding:10px;border:0;border-radius:4px;font-size:16px;cursor:pointer;" +
                    "background:" + c.button + ";color:" + c.button_text, cfg.button);
    button.type = "submit";
    form.appendChild(button);
    if (cfg.consent) form.appendChild(el("p", "margin:8px 0 0;font-size:12px;opacity:.8", cfg.consent));
    msg.setAttribute("role", "status");
    form.appendChild(msg);
    box.appendChild(form);
    if (opts.close) {
      var x = el("button", "position:absolute;top:6px;right:10px;border:0;background:none;font-size:24px;" +
                 "cursor:pointer;color:inherit", "\u00d7");
      x.type = "button"; x.className = "sc-close"; x.setAttribute("aria-label", "Close"); x.onclick = opts.close;
      box.appendChild(x);
    }
    function thanks() { form.parentNode.replaceChild(el("p", "margin:0;font-weight:600", cfg.success), form); }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (opts.preview) { thanks(); return; }
      var data = { email: inputs.email.value, fields: {}, token: box.token || "", page: w.location.href, website: trap.value };
      for (var k = 0; k < fields.length; k++) data.fields[fields[k]] = inputs[fields[k]].value;
      if (get("sc_cid")) data.client_id = get("sc_cid");
      button.disabled = true; msg.textContent = "";
      post(FORMS + cfg.id + "/submit", data, function (status, answer) {
        button.disabled = false;
        if (status === 202) { set("sc_form_" + cfg.id, "done"); thanks(); if (opts.done) opts.done(); return; }
        var errors = answer.errors || {}, first = null;
        for (var name in errors) { first = errors[name]; break; }
        msg.textContent = first || "Something went wrong. Please try again.";
      });
    });
    return box;
  }
  function viewed(cfg, box) {
    post(FORMS + cfg.id + "/view", {}, function (status, answer) { if (answer.token) box.token = answer.token; });
  }
  function overlay(fixed) {
    return el("div", (fixed ? "position:fixed;top:0;right:0;bottom:0;left:0;z-index:2147483646;" : "position:relative;min-height:420px;") +
              "display:flex;align-items:center;justify-content:center;padding:16px;background:rgba(0,0,0,.45)");
  }
  function showPopup(cfg) {
    if (shown[cfg.id] || get("sc_form_" + cfg.id)) return;
    shown[cfg.id] = true;
    var layer = overlay(true);
    layer.className = "sc-popup";
    function close() { if (get("sc_form_" + cfg.id) !== "done") set("sc_form_" + cfg.id, "closed");
                       if (layer.parentNode) layer.parentNode.removeChild(layer); }
    var box = renderForm(cfg, { close: close });
    layer.appendChild(box);
    layer.addEventListener("click", function (ev) { if (ev.target === layer) close(); });
    d.body.appendChild(layer);
    viewed(cfg, box);
  }
  function armPopup(cfg) {
    var t = cfg.trigger || {};
    if (get("sc_form_" + cfg.id)) return;
    if (typeof t.delay === "number") setTimeout(function () { showPopup(cfg); }, t.delay * 1000);
    if (t.scroll) w.addEventListener("scroll", function () {
      var h = d.documentElement, depth = (w.pageYOffset + w.innerHeight) / Math.max(h.scrollHeight, 1) * 100;
      if (depth >= t.scroll) showPopup(cfg);
    }, { passive: true });
    if (t.exit) d.addEventListener("mouseout", function (ev) {
      if (!ev.relatedTarget && ev.clientY <= 0) showPopup(cfg);
    });
  }
  function mountEmbedded(cfg) {
    var slots = d.querySelectorAll("[data-shopconnect-form='" + cfg.id + "']");
    for (var i = 0; i < slots.length; i++) {
      if (get("sc_form_" + cfg.id) === "done") { slots[i].appendChild(el("p", "", cfg.success)); continue; }
      var box = renderForm(cfg, {});
      slots[i].appendChild(box);
      viewed(cfg, box);
    }
  }
  function checkoutOptIn(options) {
    // WooCommerce's classic checkout: an unticked opt-in checkbox before "Place order"; a ticked one is sent
    // as a signup of the billing email when the order is placed (a beacon: the page is about to change).
    var form = d.querySelector("form.checkout, form.woocommerce-checkout");
    if (!form || d.getElementById("sc-optin")) return;
    var label = el("label", "display:block;margin:12px 0"), box = el("input"), token = "";
    box.type = "checkbox"; box.id = "sc-optin";
    label.appendChild(box); label.appendChild(d.createTextNode(" " + options.label));
    var place = form.querySelector("#place_order");
    (place ? place.parentNode : form).insertBefore(label, place);
    post(FORMS + "checkout/view", {}, function (status, answer) { token = answer.token || ""; });
    form.addEventListener("submit", function () {
      if (!box.checked) return;
      var email = form.querySelector("#billing_email, [name=billing_email]");
      var data = { email: email ? email.value : "", token: token, page: w.location.href };
      if (get("sc_cid")) data.client_id = get("sc_cid");
      if (w.navigator.sendBeacon) w.navigator.sendBeacon(FORMS + "checkout/submit", JSON.stringify(data));
      else post(FORMS + "checkout/submit", data, function () {});
    }, true);
  }
  function backInStock(product, texts, endpoint) {
    // A sold-out product page: "email me when it is back", with an unticked consent box the visitor must
    // tick. Mounted in [data-shopconnect-back-in-stock] when the theme has one, else after the cart form.
    var key = "sc_bis_" + product.product_id + "_" + (product.variant_id || "");
    var slot = d.querySelector("[data-shopconnect-back-in-stock]");
    var cart = d.querySelector("form[action*='/cart/add'], form.cart");
    if ((!slot && !cart) || d.getElementById("sc-back-in-stock")) return;
    var box = el("div", "margin:16px 0;padding:16px;border:1px solid #ddd;border-radius:8px;font:15px/1.4 system-ui,sans-serif");
    box.id = "sc-back-in-stock";
    if (get(key) === "done") { box.appendChild(el("p", "margin:0", texts.success)); }
    else {
      box.appendChild(el("p", "margin:0 0 8px;font-weight:600", texts.headline));
      var form = el("form"), email = el("input", "display:block;width:100%;box-sizing:border-box;margin:0 0 8px;" +
                 "padding:10px;border:1px solid #bbb;border-radius:4px;font-size:16px");
      form.setAttribute("novalidate", "");
      email.type = "email"; email.name = "email"; email.placeholder = texts.email_placeholder;
      email.setAttribute("aria-label", texts.email_placeholder);
      var label = el("label", "display:block;margin:0 0 8px;font-size:13px"), agree = el("input");
      agree.type = "checkbox"; agree.name = "consent";
      label.appendChild(agree); label.appendChild(d.createTextNode(" " + texts.consent));
      var trap = el("input", "position:absolute;left:-9999px;width:1px;height:1px;opacity:0");
      trap.name = "website"; trap.tabIndex = -1; trap.setAttribute("autocomplete", "off"); trap.setAttribute("aria-hidden", "true");
      var button = el("button", "padding:10px 16px;border:0;border-radius:4px;background:#1f2328;color:#fff;" +
                      "font-size:15px;cursor:pointer", texts.button);
      button.type = "submit";
      var msg = el("p", "margin:8px 0 0;font-size:14px"); msg.setAttribute("role", "status");
      form.appendChild(email); form.appendChild(label); form.appendChild(trap); form.appendChild(button); form.appendChild(msg);
      box.appendChild(form);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var data = { email: email.value, consent: agree.checked, product_id: String(product.product_id),
                     variant_id: String(product.variant_id || ""), page: w.location.href, website: trap.value };
        if (get("sc_cid")) data.client_id = get("sc_cid");
        button.disabled = true; msg.textContent = "";
        post(endpoint + "back-in-stock/", data, function (status, answer) {
          button.disabled = false;
          if (status === 202) { set(key, "done"); form.parentNode.replaceChild(el("p", "margin:0", texts.success), form); return; }
          var errors = answer.errors || {}, first = null;
          for (var name in errors) { first = errors[name]; break; }
          msg.textContent = first || "Something went wrong. Please try again.";
        });
      });
    }
    if (slot) slot.appendChild(box); else cart.parentNode.insertBefore(box, cart.nextSibling);
  }
  function preview(cfg, container) {
    // The admin's live preview: the same rendering, nothing sent, nothing stored.
    container.textContent = "";
    var box = renderForm(cfg, { preview: true, close: cfg.kind === "popup" ? function () {} : null });
    if (cfg.kind !== "popup") { container.appendChild(box); return; }
    var layer = overlay(false);
    layer.appendChild(box);
    container.appendChild(layer);
  }

  function start(all, endpoint) {
    FORMS = endpoint + "forms/";
    var forms = all.forms || [];
    for (var i = 0; i < forms.length; i++) (forms[i].kind === "popup" ? armPopup : mountEmbedded)(forms[i]);
    if (all.checkout) checkoutOptIn(all.checkout);
    if (all.sold_out && all.back_in_stock) backInStock(all.sold_out, all.back_in_stock, endpoint);
  }
  w.shopconnectForms = { start: start, preview: preview };
})(window, document);
