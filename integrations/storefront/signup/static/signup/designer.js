/* The signup form designer: redraws the live preview (with the storefront's own forms.js) as the
   marketer edits, and says in words when the popup appears. No JSON is typed or shown. */
(function () {
  "use strict";
  var LABELS = { first_name: "First name", last_name: "Last name" };
  function ready(fn) { if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn); else fn(); }
  ready(function () {
    var form = document.getElementById("signupform_form"), target = document.getElementById("sc-preview");
    var when = document.getElementById("sc-when");
    if (!form || !target || !window.shopconnectForms) return;
    function value(name) { var e = form.elements[name]; return e ? (e.value || "") : ""; }
    function kind() { var e = form.querySelector("input[name=kind]:checked"); return e ? e.value : "popup"; }
    function number(name) { var v = value(name); return v === "" ? null : Number(v); }
    function config() {
      var fields = [], boxes = form.querySelectorAll("input[name=fields]:checked");
      for (var i = 0; i < boxes.length; i++) fields.push(boxes[i].value);
      return {
        id: 0, kind: kind(), headline: value("headline"), body: value("body"), fields: fields, labels: LABELS,
        email_placeholder: value("email_placeholder"), button: value("button_label"),
        consent: value("consent_text"), success: value("success_text"),
        colours: { background: value("background_colour"), text: value("text_colour"),
                   button: value("button_colour"), button_text: value("button_text_colour") },
        trigger: { delay: number("delay_seconds"), scroll: number("scroll_percent"),
                   exit: !!(form.elements.exit_intent && form.elements.exit_intent.checked) }
      };
    }
    function sentence(cfg) {
      if (cfg.kind !== "popup") return "Embedded: shown where the page has its element (below, after saving).";
      var parts = [], t = cfg.trigger;
      if (t.delay !== null) parts.push("after " + t.delay + " s on a page");
      if (t.scroll) parts.push("once the visitor scrolled " + t.scroll + "% down");
      if (t.exit) parts.push("when the visitor is about to leave");
      if (!parts.length) return "Choose when the popup appears: a delay, a scroll depth or exit intent.";
      return "Appears " + parts.join(", or ") + ". Never again for a visitor who closed it or signed up.";
    }
    function draw() {
      var cfg = config();
      window.shopconnectForms.preview(cfg, target);
      when.textContent = sentence(cfg);
      var popupOnly = document.querySelectorAll("fieldset.sc-popup-only");
      for (var i = 0; i < popupOnly.length; i++) popupOnly[i].style.display = cfg.kind === "popup" ? "" : "none";
    }
    form.addEventListener("input", draw);
    form.addEventListener("change", draw);
    draw();
  });
})();
