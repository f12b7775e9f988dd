/* The flow canvas: the trigger panel on top, each step a card, "+" between cards, splits drawn with their
 * branches side by side. No dependencies, no build step.
 *
 * State is the tree of campaigns/flows/canvas.py ({steps: [node], detached: [[node]]}), read from and
 * written to the form's hidden "canvas" field on submit; the server turns it into steps, validates them
 * (campaigns.flows.editing) and answers errors by card key (options.errors), shown on the card.
 * Condition splits and the trigger's property filters use the segment builder (RuleBuilder, from
 * segments/rule-builder.js), so flows and segments share one rule language.
 */
(function () {
  "use strict";

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "text") node.textContent = v;
      else if (k === "value") node.value = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }
  function select(options, current, onchange, attrs) {
    const s = h("select", attrs || {});
    const groups = {};
    for (const o of options) {
      const opt = h("option", {value: String(o.value)}, o.label);
      if (String(o.value) === String(current)) opt.selected = true;
      if (o.group) {
        if (!groups[o.group]) { groups[o.group] = h("optgroup", {label: o.group}); s.append(groups[o.group]); }
        groups[o.group].append(opt);
      } else s.append(opt);
    }
    s.addEventListener("change", () => onchange(s.value));
    return s;
  }
  function number(value, oninput, attrs) {
    const i = h("input", Object.assign({type: "number", class: "fc-number", min: "0", step: "1",
                                        value: value === undefined || value === null ? "" : String(value)}, attrs || {}));
    i.addEventListener("input", () => oninput(i.value === "" ? null : Number(i.value)));
    return i;
  }
  function text(value, oninput, attrs) {
    const i = h("input", Object.assign({type: "text", class: "fc-text", value: value || ""}, attrs || {}));
    i.addEventListener("input", () => oninput(i.value));
    return i;
  }
  function clone(x) { return JSON.parse(JSON.stringify(x)); }
  function csrf() { const c = document.querySelector("[name=csrfmiddlewaretoken]"); return c ? c.value : ""; }

  const KINDS = [
    {kind: "delay", label: "Wait", icon: "◔"},
    {kind: "send_email", label: "Send email", icon: "✉"},
    {kind: "condition", label: "Condition split", icon: "◇", split: true},
    {kind: "ab_split", label: "A/B split", icon: "AB", split: true},
    {kind: "wait_for_event", label: "Wait for an event", icon: "⚑", split: true},
    {kind: "update_customer", label: "Update customer", icon: "✎"},
    {kind: "exit", label: "Exit", icon: "■", end: true},
  ];
  const KIND = Object.fromEntries(KINDS.map((k) => [k.kind, k]));
  function terminal(node) { return node.kind === "jump" || (KIND[node.kind] && (KIND[node.kind].split || KIND[node.kind].end)); }
  function fresh(kind) {
    const node = {key: "n" + Math.random().toString(36).slice(2, 10), id: null, kind, name: "", template: null,
                  message_class: "flow", config: {}, branches: []};
    if (kind === "delay") node.config = {hours: 1};
    if (kind === "condition") { node.config = {rule: {version: 1, type: "and", rules: []}}; node.branches = [[], []]; }
    if (kind === "ab_split") { node.config = {variants: [{label: "A", weight: 50}, {label: "B", weight: 50}]}; node.branches = [[], []]; }
    if (kind === "wait_for_event") { node.config = {event_types: ["order.placed"], timeout_hours: 72}; node.branches = [[], []]; }
    if (kind === "update_customer") node.config = {add_tags: []};
    if (kind === "exit") node.config = {reason: ""};
    return node;
  }
  const UNITS = [{value: "minutes", label: "minutes", m: 1}, {value: "hours", label: "hours", m: 60}, {value: "days", label: "days", m: 1440}];
  function minutesOf(config) { return (Number(config.days) || 0) * 1440 + (Number(config.hours) || 0) * 60 + (Number(config.minutes) || 0); }
  function splitMinutes(total) {
    for (const u of [UNITS[2], UNITS[1]]) if (total && total % u.m === 0) return [total / u.m, u.value];
    return [total, "minutes"];
  }
  function hourLabel(hour) { return String(hour).padStart(2, "0") + ":00"; }
  function words(n, one, many) { return n + " " + (n === 1 ? one : many); }

  class Canvas {
    constructor(root, input, options) {
      this.root = root;
      this.input = input;
      this.o = options;
      this.tree = JSON.parse(input.value || '{"steps": [], "detached": []}');
      if (!this.tree.detached) this.tree.detached = [];
      this.storeSelect = document.getElementById("id_store");
      if (this.storeSelect) this.storeSelect.addEventListener("change", () => this.render());
      input.form.addEventListener("submit", () => { clearTimeout(this.checkTimer); this.checkSeq++; this.input.value = JSON.stringify(this.tree); });
      this.status = h("p", {class: "fc-status", "aria-live": "polite"});
      root.before(this.status);
      this.checkSeq = 0;
      for (const type of ["input", "change", "rulechange"]) input.form.addEventListener(type, () => this.scheduleCheck());
      this.render();
      this.rendered = true;
      const firstError = this.root.querySelector(".fc-has-error");
      if (firstError) firstError.scrollIntoView({block: "center"});
    }
    store() { return this.storeSelect ? this.storeSelect.value : String(this.o.store || ""); }
    names() {
      const out = {};
      const walk = (seq) => { for (const n of seq) { if (n.kind === "jump") continue; out[n.key] = n; (n.branches || []).forEach(walk); } };
      walk(this.tree.steps); this.tree.detached.forEach(walk);
      return out;
    }
    title(node) {
      if (node.name) return node.name;
      if (node.kind === "send_email") { const t = this.o.templates.find((x) => x.id === node.template); return t ? "Email “" + t.name + "”" : "Send email"; }
      return KIND[node.kind] ? KIND[node.kind].label : node.kind;
    }
    render() {
      this.cards = this.names();
      const column = h("div", {class: "fc-steps"});
      this.sequence(this.tree.steps, column, "main");
      const parts = [column];
      if (this.tree.detached.length) {
        const box = h("div", {class: "fc-detached"}, h("h3", {}, "Steps no path reaches"),
          h("p", {class: "help"}, "No customer gets here. Delete them, or keep them for later."));
        this.tree.detached.forEach((seq) => this.sequence(seq, box, "detached"));
        parts.push(box);
      }
      this.root.replaceChildren(...parts);
      if (window.RuleBuilder) window.RuleBuilder.mountAll(this.root);
      if (this.rendered) this.scheduleCheck();
    }

    // -- checking as the marketer edits: the server's own validation (nothing saved); only the newest answer shows
    scheduleCheck() {
      if (this.o.readOnly || !this.o.checkUrl) return;
      clearTimeout(this.checkTimer);
      this.checkTimer = setTimeout(() => this.check(), 600);
    }
    check() {
      const seq = ++this.checkSeq;
      this.input.value = JSON.stringify(this.tree);
      this.status.textContent = "Checking…";
      this.status.className = "fc-status";
      fetch(this.o.checkUrl, {method: "POST", body: new FormData(this.input.form), credentials: "same-origin"})
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
        .then((j) => {
          if (seq !== this.checkSeq) return; // a newer edit is being checked
          this.o.errors = j.cards || {};
          this.markErrors();
          const cards = Object.keys(this.o.errors).length;
          const fields = Object.entries(j.fields || {}).filter(([name]) => name !== "The steps could not be read");
          if (j.valid) { this.status.textContent = "✓ Checked: this flow can be saved."; this.status.className = "fc-status fc-ok"; return; }
          const parts = fields.map(([name, whys]) => (name === "The flow" ? "" : name + ": ") + whys.join(" "));
          if (cards) parts.push(words(cards, "step needs", "steps need") + " attention (marked in red)");
          this.status.textContent = "Not ready to save: " + (parts.join("; ") || "see the messages on the page") + ".";
          this.status.className = "fc-status fc-bad";
        })
        .catch(() => { if (seq === this.checkSeq) this.status.textContent = ""; });
    }
    markErrors() {
      for (const card of this.root.querySelectorAll(".fc-card[data-key]")) {
        card.classList.remove("fc-has-error");
        for (const e of card.querySelectorAll(":scope > .fc-error-text")) e.remove();
        const errors = this.o.errors[card.dataset.key];
        if (!errors) continue;
        card.classList.add("fc-has-error");
        card.append(...errors.map((why) => h("p", {class: "fc-error-text", role: "alert"}, why)));
      }
    }

    sequence(seq, box, where) {
      seq.forEach((node, i) => {
        box.append(this.plus(seq, i));
        box.append(node.kind === "jump" ? this.jumpCard(seq, i) : this.card(seq, i));
      });
      const last = seq[seq.length - 1];
      if (!last || !terminal(last)) {
        box.append(this.plus(seq, seq.length));
        box.append(h("div", {class: "fc-end"}, seq.length || where !== "branch" ? "End of the flow" : "Ends here"));
      }
    }

    plus(seq, index) {
      if (this.o.readOnly) return h("div", {class: "fc-gap"});
      const atEnd = index === seq.length;
      const wrap = h("div", {class: "fc-gap"});
      const menu = h("div", {class: "fc-menu", hidden: true, role: "menu"});
      for (const k of KINDS) {
        if (k.end && !atEnd) continue;
        menu.append(h("button", {type: "button", class: "fc-menu-item", role: "menuitem", onclick: () => {
          const node = fresh(k.kind);
          if (k.split) node.branches[k.kind === "wait_for_event" ? 1 : 0] = seq.splice(index); // what followed goes on in a branch
          seq.splice(index, 0, node);
          this.render();
          const card = this.root.querySelector('[data-key="' + node.key + '"]');
          if (card) card.scrollIntoView({block: "nearest"});
        }}, k.icon + " " + k.label));
      }
      const button = h("button", {type: "button", class: "fc-plus", title: "Add a step here", "aria-label": "Add a step here",
                                  onclick: () => { menu.hidden = !menu.hidden; }}, "+");
      wrap.append(button, menu);
      return wrap;
    }

    controls(seq, i, node) {
      if (this.o.readOnly) return null;
      const up = h("button", {type: "button", class: "fc-ctl", title: "Move up", "aria-label": "Move up", onclick: () => {
        [seq[i - 1], seq[i]] = [seq[i], seq[i - 1]]; this.render(); }}, "↑");
      const down = h("button", {type: "button", class: "fc-ctl", title: "Move down", "aria-label": "Move down", onclick: () => {
        [seq[i + 1], seq[i]] = [seq[i], seq[i + 1]]; this.render(); }}, "↓");
      up.disabled = i === 0 || terminal(node);
      down.disabled = i === seq.length - 1 || terminal(seq[i + 1]) || terminal(node);
      const remove = h("button", {type: "button", class: "fc-ctl fc-delete", title: "Delete this step", "aria-label": "Delete this step", onclick: () => {
        const inside = (node.branches || []).reduce((n, b) => n + b.filter((x) => x.kind !== "jump").length, 0);
        if (inside && !window.confirm("Delete “" + this.title(node) + "” and the " + inside + " step(s) in its branches?")) return;
        seq.splice(i, 1); this.render(); }}, "✕");
      return h("span", {class: "fc-controls"}, up, down, remove);
    }

    card(seq, i) {
      const node = seq[i];
      const kind = KIND[node.kind] || {label: node.kind, icon: "?"};
      const card = h("div", {class: "fc-card fc-" + node.kind, "data-key": node.key, "data-kind": node.kind});
      const name = text(node.name, (v) => { node.name = v; }, {class: "fc-name", placeholder: "Name (optional)", "aria-label": "Step name", maxlength: "200"});
      card.append(h("div", {class: "fc-card-head"}, h("span", {class: "fc-icon", "aria-hidden": "true"}, kind.icon),
        h("strong", {class: "fc-kind"}, kind.label), name, this.controls(seq, i, node)));
      const body = h("div", {class: "fc-body"});
      const editor = this["edit_" + node.kind];
      if (editor) editor.call(this, node, body);
      card.append(body);
      const numbers = node.id && this.o.numbers[String(node.id)];
      if (numbers) {
        // customers wait at waits (and at any step while the flow is off); emails count what they sent
        const facts = [];
        if (numbers.waiting || node.kind === "delay" || node.kind === "wait_for_event") facts.push(words(numbers.waiting, "customer waiting here", "customers waiting here"));
        if (node.kind === "send_email") facts.push(words(numbers.sent, "email sent", "emails sent"));
        if (facts.length) card.append(h("p", {class: "fc-numbers"}, facts.join(" · ")));
      }
      const errors = this.o.errors[node.key];
      if (errors) {
        card.classList.add("fc-has-error");
        card.append(...errors.map((why) => h("p", {class: "fc-error-text", role: "alert"}, why)));
        const clear = () => {  // edited: the server's answer is about the old version of this card
          delete this.o.errors[node.key];
          card.classList.remove("fc-has-error");
          for (const e of card.querySelectorAll(":scope > .fc-error-text")) e.remove();
        };
        body.addEventListener("change", clear, {once: true});
        body.addEventListener("input", clear, {once: true});
      }
      if (!node.branches || !node.branches.length || !KIND[node.kind] || !KIND[node.kind].split) return card;
      const wrap = h("div", {class: "fc-split"}, card);
      const row = h("div", {class: "fc-branches"});
      node.branches.forEach((branch, b) => {
        const col = h("div", {class: "fc-branch"}, h("div", {class: "fc-branch-label"}, this.branchLabel(node, b)));
        this.sequence(branch, col, "branch");
        row.append(col);
      });
      wrap.append(row);
      return wrap;
    }

    branchLabel(node, b) {
      if (node.kind === "condition") return b === 0 ? "Yes" : "No";
      if (node.kind === "wait_for_event") {
        const hours = Number(node.config.timeout_hours) || 0;
        return b === 0 ? "If they do" : "If not within " + (hours % 24 === 0 ? words(hours / 24, "day", "days") : words(hours, "hour", "hours"));
      }
      const v = node.config.variants[b] || {};
      const total = node.config.variants.reduce((n, x) => n + (Number(x.weight) || 0), 0) || 1;
      return "Variant " + (v.label || "?") + " · " + Math.round((Number(v.weight) || 0) * 100 / total) + "%";
    }

    jumpCard(seq, i) {
      const node = seq[i];
      const target = this.cards[node.to];
      return h("div", {class: "fc-card fc-jump", "data-kind": "jump"},
        h("span", {}, "Then continue at “" + (target ? this.title(target) : "a removed step") + "”"),
        this.o.readOnly ? null : h("button", {type: "button", class: "fc-ctl fc-delete", title: "End here instead", "aria-label": "End here instead",
          onclick: () => { seq.splice(i, 1); this.render(); }}, "✕"));
    }

    // -- one editor per kind: typed fields that write the step's config ---------------------------------------
    edit_delay(node, body) {
      const c = node.config;
      let [n, unit] = splitMinutes(minutesOf(c));
      const write = () => {
        for (const k of ["days", "hours", "minutes"]) delete c[k];
        if (n) c[unit] = n;
        if (c.until_hour === null) delete c.until_hour;
      };
      const hours = [{value: "", label: "right away"}].concat(Array.from({length: 24}, (_, x) => ({value: x, label: "at " + hourLabel(x)})));
      const units = select(UNITS, unit, (u) => { unit = u; write(); }, {"aria-label": "unit"});
      const singular = () => { for (const o of units.options) o.textContent = n === 1 ? o.value.slice(0, -1) : o.value; };
      body.append(h("div", {class: "fc-line"}, "Wait ",
        number(n, (v) => { n = v || 0; write(); singular(); }, {"aria-label": "how long"}), units,
        "then go on", select(hours, c.until_hour === undefined || c.until_hour === null ? "" : c.until_hour,
          (v) => { c.until_hour = v === "" ? null : Number(v); write(); }, {"aria-label": "until the time of day"}),
        h("span", {class: "fc-hint"}, "(the customer's time zone)")));
      singular();
    }

    edit_send_email(node, body) {
      const store = this.store();
      const mine = this.o.templates.filter((t) => !store || String(t.store) === store);
      const chosen = () => this.o.templates.find((t) => t.id === node.template);
      const subject = h("p", {class: "fc-subject"});
      const edit = h("a", {target: "_blank", rel: "noopener", class: "fc-link"}, "Edit or preview this email ↗");
      const result = h("p", {class: "fc-test-result", "aria-live": "polite"});
      const show = () => {
        const t = chosen();
        subject.textContent = t ? "Subject: " + t.subject : "Choose the email this step sends.";
        edit.hidden = !t; if (t) edit.href = t.edit;
        test.disabled = !t;
        result.textContent = "";
      };
      const options = [{value: "", label: "— choose an email —"}].concat(mine.map((t) => ({value: t.id, label: t.name})));
      const picker = select(options, node.template || "", (v) => { node.template = v ? Number(v) : null; show(); }, {"aria-label": "email template", class: "fc-template"});
      const test = h("button", {type: "button", class: "button fc-test", onclick: () => {
        result.textContent = "Sending…";
        const data = new FormData(); data.append("template", node.template); data.append("csrfmiddlewaretoken", csrf());
        fetch(this.o.sendTestUrl, {method: "POST", body: data, credentials: "same-origin"})
          .then((r) => r.json()).then((j) => { result.textContent = j.sent || j.error; result.className = "fc-test-result " + (j.sent ? "fc-ok" : "fc-bad"); })
          .catch((e) => { result.textContent = "Not sent: " + e.message; });
      }}, "Send a test of this email to me");
      const skip = h("input", {type: "checkbox"});
      skip.checked = !!node.config.skip_smart_sending;
      skip.addEventListener("change", () => { if (skip.checked) node.config.skip_smart_sending = true; else delete node.config.skip_smart_sending; });
      body.append(h("div", {class: "fc-line"}, "Send ", picker, " ", edit, " · ",
                    h("a", {href: this.o.newTemplateUrl, target: "_blank", rel: "noopener", class: "fc-link"}, "new email ↗")),
                  subject,
                  h("div", {class: "fc-line"}, "Kind of email ", select(this.o.classes, node.message_class || "flow", (v) => { node.message_class = v; }, {"aria-label": "email class"})),
                  h("label", {class: "fc-line fc-check"}, skip, " Send even if the customer got an email in the last hours (skip smart sending)"),
                  h("div", {class: "fc-line"}, test), result);
      show();
    }

    edit_condition(node, body) {
      body.append(h("p", {class: "fc-line"}, "Do they match these conditions now?"));
      body.append(this.ruleBuilder(node.config.rule, (value) => { node.config.rule = value; this.scheduleCheck(); }));
    }

    ruleBuilder(value, onchange) {
      const area = h("textarea", {class: "rb-json", rows: "8", spellcheck: "false"});
      area.value = JSON.stringify(value || {version: 1, type: "and", rules: []}, null, 2);
      const el = h("div", {class: "rule-builder fc-rules"},
        h("div", {class: "rb-root"}, h("p", {class: "rb-loading"}, "Loading the rule builder…")),
        h("details", {class: "rb-advanced"}, h("summary", {}, "Advanced: edit as JSON"), area, h("p", {class: "rb-json-error", hidden: true})));
      el.dataset.options = JSON.stringify({mode: "rule", vocabularyUrl: this.o.vocabularyUrl, storeField: "id_store"});
      el.addEventListener("rulechange", (e) => { e.stopPropagation(); onchange(e.detail.value); });
      return el;
    }

    edit_ab_split(node, body) {
      const variants = node.config.variants;
      const list = h("div", {class: "fc-variants"});
      variants.forEach((v, i) => {
        list.append(h("div", {class: "fc-line"}, "Variant ",
          text(v.label, (x) => { v.label = x; }, {class: "fc-label", "aria-label": "variant label", maxlength: "32"}),
          " gets ", number(v.weight, (x) => { v.weight = x === null ? 0 : x; }, {"aria-label": "weight", max: "100"}),
          " parts", variants.length > 2 && !this.o.readOnly ? h("button", {type: "button", class: "fc-ctl fc-delete", title: "Remove this variant", "aria-label": "Remove this variant",
            onclick: () => { variants.splice(i, 1); node.branches.splice(i, 1); this.render(); }}, "✕") : null));
      });
      if (!this.o.readOnly) list.append(h("button", {type: "button", class: "fc-link", onclick: () => {
        variants.push({label: String.fromCharCode(65 + variants.length), weight: 50}); node.branches.push([]); this.render();
      }}, "+ Add a variant"));
      body.append(list, h("p", {class: "fc-hint"}, "Each customer always lands in the same variant; the branches below show what each variant does."));
    }

    edit_wait_for_event(node, body) {
      const types = node.config.event_types;
      const line = h("div", {class: "fc-line"}, "Wait for the customer's next ");
      types.forEach((t, i) => {
        if (i) line.append(" or ");
        line.append(select(this.o.events, t, (v) => { types[i] = v; }, {"aria-label": "event"}));
        if (types.length > 1 && !this.o.readOnly) line.append(h("button", {type: "button", class: "fc-ctl fc-delete", title: "Remove", "aria-label": "Remove this event",
          onclick: () => { types.splice(i, 1); this.render(); }}, "✕"));
      });
      if (!this.o.readOnly) line.append(" ", h("button", {type: "button", class: "fc-link", onclick: () => { types.push("order.placed"); this.render(); }}, "+ or another event"));
      let [n, unit] = (Number(node.config.timeout_hours) || 0) % 24 === 0 ? [(Number(node.config.timeout_hours) || 0) / 24, "days"] : [node.config.timeout_hours, "hours"];
      const write = () => { node.config.timeout_hours = (Number(n) || 0) * (unit === "days" ? 24 : 1); };
      body.append(line, h("div", {class: "fc-line"}, "but at most ",
        number(n, (v) => { n = v; write(); }, {"aria-label": "how long to wait"}),
        select([{value: "hours", label: "hours"}, {value: "days", label: "days"}], unit, (u) => { unit = u; write(); this.render(); }, {"aria-label": "unit"})));
    }

    edit_update_customer(node, body) {
      const c = node.config;
      const tags = (key) => text((c[key] || []).join(", "), (v) => {
        const list = v.split(",").map((x) => x.trim()).filter(Boolean);
        if (list.length) c[key] = list; else delete c[key];
      }, {placeholder: "vip, winback", "aria-label": key === "add_tags" ? "tags to add" : "tags to remove"});
      const suppress = h("input", {type: "checkbox"});
      suppress.checked = !!c.suppress;
      const reason = text(c.suppress || "", (v) => { if (suppress.checked) c.suppress = v || "flow"; }, {placeholder: "why (for the suppression list)", "aria-label": "why"});
      suppress.addEventListener("change", () => { if (suppress.checked) c.suppress = reason.value || "flow"; else delete c.suppress; });
      body.append(h("div", {class: "fc-line"}, "Add tags ", tags("add_tags")),
                  h("div", {class: "fc-line"}, "Remove tags ", tags("remove_tags")),
                  h("label", {class: "fc-line fc-check"}, suppress, " Stop all marketing email to them ", reason));
    }

    edit_exit(node, body) {
      body.append(h("div", {class: "fc-line"}, "The customer leaves the flow here. Why (for the log) ",
        text(node.config.reason, (v) => { node.config.reason = v; }, {placeholder: "for example: bought already", "aria-label": "reason"})));
    }
  }

  // -- the trigger panel: show the fields of the chosen trigger; the event drives the property filters --------
  function triggerPanel() {
    const trigger = document.getElementById("id_trigger");
    if (!trigger) return;
    const rows = (name) => document.querySelectorAll(".field-" + name);
    const show = (name, on) => rows(name).forEach((r) => { r.hidden = !on; });
    const event = document.getElementById("id_trigger_event_type");
    const reentry = document.getElementById("id_reentry");
    const update = () => {
      const kind = trigger.value;
      show("trigger_event_type", kind === "event"); show("trigger_filters", kind === "event");
      show("custom_event", kind === "event" && event && event.value === "custom");
      document.querySelectorAll(".field-exit_goal input[value=order_for_trigger]").forEach((r) => {
        (r.closest("li") || r.closest("label") || r).style.display = kind === "event" ? "" : "none"; // only an event carries a checkout or cart
      });
      show("trigger_segment_id", kind === "segment_entered" || kind === "segment_exited");
      show("date_property", kind === "date_property");
      const days = document.getElementById("id_reentry_days");
      if (days) days.closest(".fieldBox, div").style.display = reentry.value === "per_days" ? "" : "none";
    };
    trigger.addEventListener("change", update);
    if (reentry) reentry.addEventListener("change", update);
    const custom = document.getElementById("id_custom_event");
    const eventName = () => (event.value === "custom" ? (custom && custom.value ? "custom." + custom.value.trim() : "") : event.value);
    const filtersFor = () => {
      const el = document.querySelector(".field-trigger_filters .rule-builder");
      const builder = el && el.ruleBuilder;
      if (builder) builder.ready.then(() => { builder.setEvent(eventName()); builder.setValue([]); });
    };
    if (event) event.addEventListener("change", () => { update(); filtersFor(); });
    if (custom) custom.addEventListener("change", filtersFor);
    update();
  }

  function start() {
    const root = document.getElementById("flow-canvas");
    const input = document.querySelector("input[name=canvas]");
    const options = document.getElementById("flow-canvas-options");
    triggerPanel();
    if (root && input && options) window.flowCanvas = new Canvas(root, input, JSON.parse(options.textContent));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
