/* The segment rule builder: rows of dropdowns that read as sentences, writing the rule's JSON (the stored
 * format) into the field's textarea. No dependencies, no build step.
 *
 *   const builder = RuleBuilder.mount(element, options);   // element: a .rule-builder (see widgets.py)
 *   builder.getValue(); builder.setValue(json); builder.showError(path, why); builder.clearErrors();
 *   builder.setStore(id); builder.setEvent(name);
 *   element.addEventListener("rulechange", (e) => e.detail.value);
 *
 * Options (segments.widgets.RuleBuilderWidget renders them): mode ("rule" | "where"), event (for
 * "where"), kinds (condition kinds offered), events (event types offered), vocabularyUrl, previewUrl
 * (count, sample and the rule in words as it changes), storeField (id of the store <select>), segment
 * (the id of the segment being edited).
 *
 * The builder never validates: the server parses every change (the preview) and on save; an error's path
 * ("$.rules[1].where[0].property") is shown on the row it points at.
 */
(function () {
  "use strict";

  const cache = {};
  function loadVocabulary(url, store) {
    const key = url + "|" + (store || "");
    if (!cache[key]) {
      cache[key] = fetch(url + (store ? "?store=" + encodeURIComponent(store) : ""), {credentials: "same-origin"})
        .then((r) => { if (!r.ok) throw new Error("vocabulary: HTTP " + r.status); return r.json(); });
    }
    return cache[key];
  }

  // -- small DOM helpers ----------------------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }
  function word(text) { return h("span", {class: "rb-word"}, text); }
  function select(options, current, onchange, attrs) {
    const s = h("select", Object.assign({class: "rb-select"}, attrs || {}));
    const groups = {};
    for (const o of options) {
      const opt = h("option", {value: String(o.value)}, o.label);
      if (String(o.value) === String(current)) opt.selected = true;
      if (o.group) {
        if (!groups[o.group]) { groups[o.group] = h("optgroup", {label: o.group}); s.append(groups[o.group]); }
        groups[o.group].append(opt);
      } else {
        s.append(opt);
      }
    }
    s.addEventListener("change", () => onchange(s.value));
    return s;
  }
  function numberInput(value, oninput, attrs) {
    const i = h("input", Object.assign({type: "number", step: "any", class: "rb-number",
                                        value: value === undefined || value === null ? "" : String(value)}, attrs || {}));
    i.addEventListener("input", () => oninput(i.value === "" ? null : Number(i.value)));
    return i;
  }
  function textInput(value, oninput, attrs) {
    const i = h("input", Object.assign({type: "text", class: "rb-text", value: value || ""}, attrs || {}));
    i.addEventListener("input", () => oninput(i.value));
    return i;
  }
  function removeButton(label, onclick) {
    return h("button", {type: "button", class: "rb-remove", title: label, "aria-label": label, onclick}, "×");
  }
  function clone(x) { return x === undefined ? undefined : JSON.parse(JSON.stringify(x)); }
  const UNITS = [{value: "minutes", label: "minutes"}, {value: "hours", label: "hours"}, {value: "days", label: "days"}];
  function durationInput(value, onchange) {
    const unit = value && Object.keys(value)[0] || "days";
    const n = value ? value[unit] : 30;
    const wrap = h("span", {class: "rb-duration"});
    const num = numberInput(n, (v) => { onchange({[unitSel.value]: v === null ? v : Math.round(v)}); }, {min: 1, step: 1});
    const unitSel = select(UNITS, unit, (u) => onchange({[u]: num.value === "" ? null : Math.round(Number(num.value))}));
    wrap.append(num, unitSel);
    return wrap;
  }
  function dateInput(value, onchange) {
    const i = h("input", {type: "date", class: "rb-date", value: (value || "").slice(0, 10)});
    i.addEventListener("change", () => onchange(i.value || null));
    return i;
  }
  function today() { return new Date().toISOString().slice(0, 10); }

  // -- the stored JSON <-> the builder's tree -------------------------------------------------------------
  // Internal: groups are {group: "all"|"any"|"none"|"notall", rules: [...]}; leaves are the stored nodes,
  // "performed"/"not_performed" with "event" always a list, "in_segment" with "negate".
  const MODE_OF = {and: "all", or: "any"};
  function toTree(node) {
    if (!node || typeof node !== "object" || Array.isArray(node)) return {group: "all", rules: []};
    const n = clone(node);
    delete n.version;
    if (n.type === "and" || n.type === "or") return {group: MODE_OF[n.type], rules: (n.rules || []).map(toTree)};
    if (n.type === "not") {
      const inner = n.rule || {};
      if (inner.type === "performed") return toTree(Object.assign({}, inner, {type: "not_performed"}));
      if (inner.type === "not_performed") return toTree(Object.assign({}, inner, {type: "performed"}));
      if (inner.type === "in_segment") return Object.assign(toTree(inner), {negate: true});
      if (inner.type === "or") return {group: "none", rules: (inner.rules || []).map(toTree)};
      if (inner.type === "and") return {group: "notall", rules: (inner.rules || []).map(toTree)};
      return {group: "none", rules: [toTree(inner)]};
    }
    if (n.type === "performed" || n.type === "not_performed") {
      n.event = Array.isArray(n.event) ? n.event : (n.event ? [n.event] : []);
      for (const f of n.not_followed_by || []) f.event = Array.isArray(f.event) ? f.event : (f.event ? [f.event] : []);
    }
    return n;
  }
  function events(list) { return list.length === 1 ? list[0] : list; }
  function fromTree(t) {
    if (t.group) {
      const rules = t.rules.map(fromTree);
      if (t.group === "all") return {type: "and", rules};
      if (t.group === "any") return {type: "or", rules};
      return {type: "not", rule: {type: t.group === "none" ? "or" : "and", rules}};
    }
    const n = clone(t);
    if (n.type === "in_segment") {
      const negate = n.negate; delete n.negate;
      return negate ? {type: "not", rule: n} : n;
    }
    if (n.type === "performed" || n.type === "not_performed") {
      n.event = events(n.event);
      if (n.where && !n.where.length) delete n.where;
      if (n.not_followed_by) {
        if (!n.not_followed_by.length) delete n.not_followed_by;
        else n.not_followed_by = n.not_followed_by.map((f) => {
          const g = Object.assign({}, f, {event: events(f.event)});
          if (g.where && !g.where.length) delete g.where;
          return g;
        });
      }
    }
    return n;
  }
  // Where each tree node sits in the stored JSON (error paths from the server use these).
  function childPath(t, path, i) { return path + (t.group === "none" || t.group === "notall" ? ".rule" : "") + ".rules[" + i + "]"; }

  // -- the builder ----------------------------------------------------------------------------------------
  class Builder {
    constructor(element, options) {
      this.element = element;
      this.options = Object.assign({mode: "rule"}, options || {});
      this.textarea = element.querySelector("textarea");
      this.rootBox = element.querySelector(".rb-root");
      this.previewBox = element.querySelector(".rb-preview");
      this.jsonError = element.querySelector(".rb-json-error");
      this.vocab = null;
      this.seq = 0;
      this.timer = null;
      this.store = null;
      const storeSelect = this.options.storeField && document.getElementById(this.options.storeField);
      if (storeSelect) {
        this.store = storeSelect.value || null;
        storeSelect.addEventListener("change", () => this.setStore(storeSelect.value || null));
      }
      this.readTextarea(true);
      if (this.textarea) {
        this.textarea.addEventListener("input", () => {
          clearTimeout(this.jsonTimer);
          this.jsonTimer = setTimeout(() => { if (this.readTextarea(false)) { this.render(); this.changed(false); } }, 400);
        });
      }
      this.ready = this.load();
    }

    readTextarea(initial) {
      const text = this.textarea ? this.textarea.value.trim() : "";
      let parsed = null;
      if (text) {
        try { parsed = JSON.parse(text); } catch (e) {
          if (this.jsonError) { this.jsonError.hidden = false; this.jsonError.textContent = "Not valid JSON: " + e.message; }
          if (initial) { this.tree = this.empty(); this.element.querySelector(".rb-advanced").open = true; }
          return false;
        }
      }
      if (this.jsonError) this.jsonError.hidden = true;
      this.tree = parsed === null ? this.empty() : this.fromStored(parsed);
      return true;
    }
    empty() { return this.options.mode === "where" ? [] : {group: "all", rules: []}; }
    fromStored(value) {
      if (this.options.mode === "where") return Array.isArray(value) ? clone(value) : [];
      const t = toTree(value);
      return t.group ? t : {group: "all", rules: [t]};
    }

    load() {
      return loadVocabulary(this.options.vocabularyUrl, this.store).then((vocab) => {
        this.vocab = vocab;
        this.render();
        this.schedulePreview(0);
      }).catch((e) => { this.rootBox.textContent = "The rule builder could not load its vocabulary (" + e.message + "). Use the JSON below."; });
    }

    // public API
    getValue() {
      if (this.options.mode === "where") return clone(this.tree);
      return Object.assign({version: this.vocab ? this.vocab.version : 1}, fromTree(this.tree));
    }
    setValue(value) { this.tree = this.fromStored(value); this.render(); this.changed(true); }
    setStore(store) { this.store = store; this.load().then(() => this.changed(false)); }
    setEvent(name) { this.options.event = name; this.render(); }
    clearErrors() {
      for (const e of this.rootBox.querySelectorAll(".rb-has-error")) e.classList.remove("rb-has-error");
      for (const e of this.rootBox.querySelectorAll(".rb-error-text")) e.remove();
    }
    showError(path, why) {
      this.clearErrors();
      let best = null;
      for (const node of this.rootBox.querySelectorAll("[data-path]")) {
        const p = node.dataset.path;
        if ((path === p || path.startsWith(p + ".") || path.startsWith(p + "[")) && (!best || p.length > best.dataset.path.length)) best = node;
      }
      const target = best || this.rootBox.querySelector(".rb-group");
      if (!target) return;
      target.classList.add("rb-has-error");
      const line = target.querySelector(":scope > .rb-line") || target;
      line.after(h("p", {class: "rb-error-text", role: "alert"}, why));
    }

    changed(rerender) {
      if (rerender) this.render();
      const value = this.getValue();
      if (this.textarea) this.textarea.value = JSON.stringify(value, null, 2);
      if (this.jsonError) this.jsonError.hidden = true;
      this.element.dispatchEvent(new CustomEvent("rulechange", {detail: {value}, bubbles: true}));
      this.schedulePreview(350);
    }

    // -- preview: count, sample, the rule in words; only the newest answer is ever shown ---------------------
    schedulePreview(delay) {
      if (!this.previewBox || !this.options.previewUrl || !this.vocab) return;
      clearTimeout(this.timer);
      const seq = ++this.seq;
      if (!this.store) {
        this.previewBox.replaceChildren(h("p", {class: "rb-hint"}, "Choose the store to count its customers."));
        return;
      }
      if (!this.tree.rules.length) {
        this.clearErrors();
        this.previewBox.replaceChildren(h("p", {class: "rb-hint"}, "Add a condition to see who matches."));
        return;
      }
      this.previewBox.classList.add("rb-counting");
      this.previewBox.replaceChildren(h("p", {class: "rb-status"}, h("span", {class: "rb-spinner"}), "Counting…"));
      this.timer = setTimeout(() => this.runPreview(seq), delay);
    }
    runPreview(seq) {
      if (this.abort) this.abort.abort();
      this.abort = new AbortController();
      const csrf = document.querySelector("[name=csrfmiddlewaretoken]");
      const body = {store: this.store ? Number(this.store) : null, definition: this.getValue()};
      if (this.options.segment) body.segment = this.options.segment;
      fetch(this.options.previewUrl, {
        method: "POST", credentials: "same-origin", signal: this.abort.signal,
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.value : ""},
        body: JSON.stringify(body),
      }).then((r) => r.json().then((j) => [r.status, j])).then(([status, j]) => {
        if (seq !== this.seq) return; // a newer edit is being counted: this answer is stale
        this.previewBox.classList.remove("rb-counting");
        if (status !== 200) {
          if (j.where) this.showError(j.where, j.why);
          this.previewBox.replaceChildren(h("p", {class: "rb-problem"}, h("strong", {}, "Not counted yet: "), j.why || j.error || "error",
            j.where ? " (the condition marked in red)" : ""));
          return;
        }
        this.clearErrors();
        this.showPreview(j);
      }).catch((e) => {
        if (e.name === "AbortError" || seq !== this.seq) return;
        this.previewBox.classList.remove("rb-counting");
        this.previewBox.replaceChildren(h("p", {class: "rb-problem"}, "The count failed: " + e.message));
      });
    }
    showPreview(j) {
      const rows = j.sample.map((c) => h("tr", {},
        h("td", {}, c.url ? h("a", {href: c.url}, c.name || c.email || "customer " + c.id) : (c.name || "")),
        h("td", {}, c.email || "")));
      this.previewBox.replaceChildren(
        h("p", {class: "rb-count"}, h("strong", {class: "rb-count-number"}, String(j.count)),
          j.count === 1 ? " customer matches now" : " customers match now"),
        h("p", {class: "rb-words"}, j.rule_text),
        ...j.warnings.map((w) => h("p", {class: "rb-warning"}, w)),
        rows.length ? h("table", {class: "rb-sample"}, h("caption", {}, "Some of them"),
          h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Email"))), h("tbody", {}, rows)) : null,
      );
    }

    // -- rendering --------------------------------------------------------------------------------------------
    render() {
      if (!this.vocab) return;
      this.events = this.vocab.events.filter((e) => !this.options.events || this.options.events.includes(e.name));
      this.byName = Object.fromEntries(this.vocab.events.map((e) => [e.name, e]));
      if (this.options.mode === "where") {
        this.rootBox.replaceChildren(this.whereList(this.tree, this.options.event ? [this.options.event] : [], "$", () => this.changed(true)));
        return;
      }
      this.rootBox.replaceChildren(this.group(this.tree, "$", null));
    }
    kinds() {
      const allowed = this.options.kinds;
      return this.vocab.kinds.filter((k) => !allowed || allowed.includes(k.type));
    }

    group(t, path, onremove) {
      const box = h("div", {class: "rb-group" + (onremove ? " rb-nested" : ""), "data-path": path});
      const modes = [
        {value: "all", label: "all"}, {value: "any", label: "any"},
        {value: "none", label: "none"}, {value: "notall", label: "not all"},
      ];
      box.append(h("div", {class: "rb-line rb-group-head"},
        word(onremove ? "Customers matching" : "Customers who match"),
        select(modes, t.group, (v) => { t.group = v; this.changed(true); }, {"aria-label": "how conditions combine"}),
        word("of these conditions:"),
        onremove ? removeButton("remove this group", onremove) : null));
      const list = h("div", {class: "rb-rows"});
      t.rules.forEach((child, i) => {
        const remove = () => { t.rules.splice(i, 1); this.changed(true); };
        const p = childPath(t, path, i);
        list.append(child.group ? this.group(child, p, remove) : this.row(child, p, remove));
        if (i < t.rules.length - 1) list.append(h("div", {class: "rb-joiner"}, t.group === "any" || t.group === "none" ? "or" : "and"));
      });
      if (!t.rules.length) list.append(h("p", {class: "rb-hint"}, "No conditions yet: add one below."));
      box.append(list);
      const add = select([{value: "", label: "+ Add a condition…"}].concat(this.kinds().map((k) => ({value: k.type, label: k.label}))), "",
        (v) => { if (v) { t.rules.push(this.newNode(v)); this.changed(true); } }, {class: "rb-select rb-add", "aria-label": "add a condition"});
      box.append(h("div", {class: "rb-line rb-foot"}, add));
      return box;
    }

    newNode(kind) {
      const v = this.vocab;
      const firstEvent = (this.events.find((e) => e.name === "product.viewed") || this.events[0]).name;
      switch (kind) {
        case "performed": return {type: "performed", event: [firstEvent]};
        case "not_performed": return {type: "not_performed", event: [this.byName["order.placed"] ? "order.placed" : firstEvent]};
        case "attribute": { const f = v.attributes[0]; return this.fieldDefaults({type: "attribute", field: f.name}, f); }
        case "prediction": { const f = v.predictions[0]; return this.fieldDefaults({type: "prediction", field: f.name}, f); }
        case "percentile": return {type: "percentile", field: v.percentile_fields[0].name, direction: "top", percent: 20};
        case "in_segment": return {type: "in_segment", segment: this.segments()[0] ? this.segments()[0].id : null};
        default: return {group: "any", rules: []};
      }
    }
    segments() { return (this.vocab.segments || []).filter((s) => s.id !== this.options.segment); }

    row(node, path, onremove) {
      const box = h("div", {class: "rb-row rb-kind-" + node.type, "data-path": path});
      const done = () => this.changed(false);
      const redraw = () => this.changed(true);
      if (node.type === "performed" || node.type === "not_performed") this.performedRow(box, node, path, done, redraw);
      else if (node.type === "attribute" || node.type === "prediction") this.fieldRow(box, node, done, redraw);
      else if (node.type === "percentile") this.percentileRow(box, node, done, redraw);
      else if (node.type === "in_segment") this.segmentRow(box, node, redraw);
      else box.append(h("div", {class: "rb-line"}, word("A condition the builder cannot show (" + node.type + "): edit it as JSON below.")));
      box.querySelector(".rb-line").append(removeButton("remove this condition", onremove));
      return box;
    }

    // "has done [Viewed product] at least [3] times in the last [30 days]", then its details
    performedRow(box, node, path, done, redraw) {
      const line = h("div", {class: "rb-line"});
      line.append(select([{value: "performed", label: "Has done"}, {value: "not_performed", label: "Has not done"}], node.type,
        (v) => { node.type = v; redraw(); }, {"aria-label": "has or has not done"}));
      line.append(this.eventPicker(node.event, redraw));
      // "has not done X" reads as "never" unless a number of times was asked for (then: fewer than N)
      if (node.type === "performed" || node.count) this.countInputs(line, node, done, redraw);
      this.windowInputs(line, node, done, redraw);
      box.append(line);
      const details = h("div", {class: "rb-details"});
      (node.where || []).forEach((f, i) => details.append(this.filterLine(f, node.event, path + ".where[" + i + "]",
        () => { node.where.splice(i, 1); redraw(); }, done, redraw)));
      const props = this.properties(node.event);
      if (node.same !== undefined) details.append(this.detail("for the same", path + ".same",
        select(props.map((p) => ({value: p.name, label: p.label})), node.same, (v) => { node.same = v; done(); }),
        () => { delete node.same; redraw(); }));
      if (node.distinct !== undefined) details.append(this.detail("counting different", path + ".distinct",
        select(props.map((p) => ({value: p.name, label: p.label})), node.distinct, (v) => { node.distinct = v; done(); }),
        () => { delete node.distinct; redraw(); }));
      if (node.hour_of_day) {
        const hours = (from) => Array.from({length: 24}, (_, i) => ({value: i + from, label: String(i + from).padStart(2, "0") + ":00"}));
        details.append(this.detail("between", path + ".hour_of_day", [
          select(hours(0), node.hour_of_day.from, (v) => { node.hour_of_day.from = Number(v); done(); }, {"aria-label": "from hour"}),
          word("and"),
          select(hours(1), node.hour_of_day.to, (v) => { node.hour_of_day.to = Number(v); done(); }, {"aria-label": "to hour"}),
          word("in their time zone")], () => { delete node.hour_of_day; redraw(); }));
      }
      if (node.day_of_week) {
        const days = this.vocab.weekdays.map((d) => {
          const box2 = h("input", {type: "checkbox", value: d.value, checked: node.day_of_week.includes(d.value)});
          box2.addEventListener("change", () => {
            node.day_of_week = this.vocab.weekdays.map((x) => x.value).filter((x) => x === d.value ? box2.checked : node.day_of_week.includes(x));
            done();
          });
          return h("label", {class: "rb-day"}, box2, d.label.slice(0, 3));
        });
        details.append(this.detail("on", path + ".day_of_week", [h("span", {class: "rb-days"}, days), word("in their time zone")],
          () => { delete node.day_of_week; redraw(); }));
      }
      const numbers = props.filter((p) => p.type === "number");
      if (node.sum) details.append(this.sumLine(node, numbers, path + ".sum", done, redraw));
      (node.not_followed_by || []).forEach((f, i) => details.append(this.followLine(f, path + ".not_followed_by[" + i + "]",
        () => { node.not_followed_by.splice(i, 1); redraw(); }, done, redraw)));
      const more = [{value: "", label: "+ Add a detail…"}];
      if (props.length) more.push({value: "where", label: "where a property…"});
      if (props.length && node.same === undefined) more.push({value: "same", label: "for the same product (or other property)"});
      if (props.length && node.distinct === undefined) more.push({value: "distinct", label: "counting different products (or other)"});
      if (node.type === "not_performed" && !node.count) more.push({value: "count", label: "at least a number of times"});
      if (numbers.length && !node.sum) more.push({value: "sum", label: "adding up a number (time on page, amount…)"});
      if (!node.hour_of_day) more.push({value: "hour", label: "at a time of day"});
      if (!node.day_of_week) more.push({value: "day", label: "on days of the week"});
      more.push({value: "follow", label: "and then did not do…"});
      details.append(h("div", {class: "rb-line rb-more"}, select(more, "", (v) => {
        const first = props.find((p) => p.name === "product_id") || props[0];
        if (v === "where") (node.where = node.where || []).push(this.newFilter(first));
        if (v === "same") node.same = first.name;
        if (v === "distinct") node.distinct = first.name;
        if (v === "sum") {
          const n = numbers.find((p) => p.name.endsWith(this.vocab.seconds_suffix)) || numbers[0];
          node.sum = {property: n.name, op: "gt", value: n.name.endsWith(this.vocab.seconds_suffix) ? 180 : 100};
        }
        if (v === "count") node.count = {op: "gte", value: 2};
        if (v === "hour") node.hour_of_day = {from: 9, to: 17};
        if (v === "day") node.day_of_week = [6, 7];
        if (v === "follow") (node.not_followed_by = node.not_followed_by || []).push({event: ["order.placed"]});
        if (v) redraw();
      }, {class: "rb-select rb-add", "aria-label": "add a detail"})));
      box.append(details);
    }
    // "adding up [Seconds on the page] to [more than] [3] [minutes]" (seconds typed as minutes or hours)
    sumLine(node, numbers, path, done, redraw) {
      const sum = node.sum;
      const prop = numbers.find((p) => p.name === sum.property);
      const opts = numbers.map((p) => ({value: p.name, label: p.label}));
      if (!prop) opts.unshift({value: sum.property, label: sum.property || "(choose)"});
      const inputs = [
        select(opts, sum.property, (v) => { sum.property = v; redraw(); }, {"aria-label": "number to add up"}),
        word("to"),
        select(this.vocab.sum_operators.map((o) => ({value: o.op, label: o.label})), sum.op,
          (v) => { sum.op = v; done(); }, {"aria-label": "total comparison"}),
      ];
      if (sum.property.endsWith(this.vocab.seconds_suffix)) {
        const units = [{value: 1, label: "seconds"}, {value: 60, label: "minutes"}, {value: 3600, label: "hours"}];
        if (!this.sumUnits) this.sumUnits = new WeakMap();
        let factor = this.sumUnits.get(sum) || [3600, 60, 1].find((f) => sum.value % f === 0) || 1;
        const num = numberInput(sum.value / factor, (v) => { sum.value = v === null ? v : v * factor; done(); },
          {min: 0, "aria-label": "total"});
        const unit = select(units, factor, (v) => {
          factor = Number(v); this.sumUnits.set(sum, factor);
          sum.value = num.value === "" ? null : Number(num.value) * factor; done();
        }, {"aria-label": "unit"});
        inputs.push(num, unit);
      } else {
        inputs.push(numberInput(sum.value, (v) => { sum.value = v; done(); }, {"aria-label": "total"}));
      }
      inputs.push(word("in total"));
      return this.detail("adding up", path, inputs, () => { delete node.sum; redraw(); });
    }
    detail(label, path, inputs, onremove) {
      return h("div", {class: "rb-line rb-detail", "data-path": path}, word(label), inputs, removeButton("remove " + label, onremove));
    }

    eventPicker(list, redraw) {
      const wrap = h("span", {class: "rb-events"});
      const options = this.events.map((e) => ({value: e.name, label: e.label, group: e.group}));
      list.forEach((name, i) => {
        if (i) wrap.append(word("or"));
        const opts = options.slice();
        const custom = name.startsWith("custom.") && !this.byName[name];
        if (!this.byName[name] && !custom) opts.unshift({value: name, label: name});
        opts.push({value: "custom.", label: "Another custom event…", group: "Custom"});
        if (custom) opts.push({value: name, label: "custom: " + name.slice(7), group: "Custom"});
        wrap.append(select(opts, name, (v) => { list[i] = v; redraw(); }, {"aria-label": "event"}));
        if (custom || name === "custom.") {
          wrap.append(textInput(name.slice(7), (v) => { list[i] = "custom." + v; this.changed(false); },
            {placeholder: "name, e.g. sms_reply", "aria-label": "custom event name", class: "rb-text rb-short"}));
        }
        if (list.length > 1) wrap.append(removeButton("remove this event", () => { list.splice(i, 1); redraw(); }));
      });
      wrap.append(h("button", {type: "button", class: "rb-link", onclick: () => { list.push(list[list.length - 1] === "order.placed" ? "checkout.started" : "order.placed"); redraw(); }}, "+ or"));
      return wrap;
    }

    countInputs(line, node, done, redraw) {
      const count = node.count || {op: "gte", value: 1};
      const set = () => { if (count.op === "gte" && count.value === 1) delete node.count; else node.count = count; };
      line.append(select(this.vocab.count_operators.map((o) => ({value: o.op, label: o.label})), count.op, (v) => {
        count.op = v;
        count.value = v === "between" ? [1, 3] : (Array.isArray(count.value) ? count.value[0] : count.value);
        set(); redraw();
      }, {"aria-label": "how many times"}));
      if (count.op === "between") {
        line.append(numberInput(count.value[0], (v) => { count.value[0] = v; set(); done(); }, {min: 0, step: 1}), word("and"),
          numberInput(count.value[1], (v) => { count.value[1] = v; set(); done(); }, {min: 0, step: 1}));
      } else {
        line.append(numberInput(count.value, (v) => { count.value = v; set(); times.textContent = v === 1 ? "time" : "times"; done(); },
          {min: 0, step: 1, "aria-label": "times"}));
      }
      const times = word(count.op !== "between" && count.value === 1 ? "time" : "times");
      line.append(times);
    }

    windowKind(w) {
      if (!w) return "any";
      if (w.same_month_last_year) return "same_month_last_year";
      if (w.last && w.until) return "between_ago";
      if (w.last) return "last";
      if (w.until) return "until";
      if ((w.start || w.since) && w.end) return "dates";
      if (w.start || w.since) return "since";
      return "before";
    }
    windowInputs(line, node, done, redraw) {
      const kind = this.windowKind(node.window);
      line.append(select(this.vocab.windows.map((w) => ({value: w.kind, label: w.label})), kind, (v) => {
        const defaults = {
          any: undefined, last: {last: {days: 30}}, between_ago: {last: {hours: 72}, until: {hours: 1}},
          until: {until: {days: 90}}, dates: {start: today(), end: today()}, since: {since: today()},
          before: {end: today()}, same_month_last_year: {same_month_last_year: true},
        };
        if (defaults[v] === undefined) delete node.window; else node.window = defaults[v];
        redraw();
      }, {"aria-label": "when"}));
      const w = node.window;
      if (kind === "last") line.append(durationInput(w.last, (d) => { w.last = d; done(); }));
      if (kind === "between_ago") line.append(durationInput(w.last, (d) => { w.last = d; done(); }), word("and"),
        durationInput(w.until, (d) => { w.until = d; done(); }), word("ago"));
      if (kind === "until") line.append(durationInput(w.until, (d) => { w.until = d; done(); }), word("ago"));
      if (kind === "dates") line.append(dateInput(w.start || w.since, (d) => { delete w.since; w.start = d; done(); }), word("and"),
        dateInput(w.end, (d) => { w.end = d; done(); }));
      if (kind === "since") line.append(dateInput(w.since || w.start, (d) => { delete w.start; w.since = d; done(); }));
      if (kind === "before") line.append(dateInput(w.end, (d) => { w.end = d; done(); }));
    }

    // The properties every one of these events has, with one type (what the parser accepts).
    properties(names) {
      let common = null;
      for (const name of names) {
        const e = this.byName[name];
        const props = e ? e.properties : (name.startsWith("custom.") ? null : []);
        if (props === null) continue; // undeclared custom events: any property name, compared as text
        const here = Object.fromEntries(props.map((p) => [p.name, p]));
        common = common === null ? here : Object.fromEntries(Object.entries(common).filter(([k, p]) => here[k] && here[k].type === p.type));
      }
      return common === null ? [] : Object.values(common);
    }
    newFilter(prop) {
      if (!prop) return {property: "", op: "eq", value: ""};
      const op = this.vocab.property_operators[prop.type][0];
      return {property: prop.name, op: op.op, value: prop.type === "number" ? 0 : (prop.values[0] || "")};
    }
    filterLine(f, eventNames, path, onremove, done, redraw) {
      const props = this.properties(eventNames);
      const customOnly = !props.length && eventNames.some((n) => n.startsWith("custom.") && !this.byName[n]);
      const prop = props.find((p) => p.name === f.property) || (customOnly ? {name: f.property, type: "string", values: []} : null);
      const line = h("div", {class: "rb-line rb-detail", "data-path": path}, word("where"));
      if (customOnly) line.append(textInput(f.property, (v) => { f.property = v; done(); }, {placeholder: "property", class: "rb-text rb-short"}));
      else {
        const opts = props.map((p) => ({value: p.name, label: p.label}));
        if (!prop) opts.unshift({value: f.property, label: f.property || "(choose)"});
        line.append(select(opts, f.property, (v) => { Object.assign(f, this.newFilter(props.find((p) => p.name === v))); redraw(); },
          {"aria-label": "property"}));
      }
      const type = prop ? prop.type : "string";
      const ops = this.vocab.property_operators[type] || [];
      line.append(select(ops.map((o) => ({value: o.op, label: o.label})), f.op, (v) => {
        const was = (ops.find((o) => o.op === f.op) || {}).value;
        f.op = v;
        const shape = (ops.find((o) => o.op === v) || {}).value;
        if (shape !== was) f.value = shape === "string_list" ? [] : (shape === "number" ? 0 : "");
        redraw();
      }, {"aria-label": "comparison"}));
      const shape = (ops.find((o) => o.op === f.op) || {value: "string"}).value;
      line.append(this.valueInput(shape, f.value, (v) => { f.value = v; done(); }, prop ? prop.values.map((x) => ({value: x, label: x})) : [],
        prop && prop.values.length ? "rb-list-" + path.replace(/\W/g, "") : null));
      line.append(removeButton("remove this property condition", onremove));
      return line;
    }
    followLine(f, path, onremove, done, redraw) {
      const box = h("div", {class: "rb-follow", "data-path": path});
      const line = h("div", {class: "rb-line rb-detail"}, word("and did not then do"), this.eventPicker(f.event, redraw));
      const gap = f.after ? "gap" : "any";
      line.append(select([{value: "any", label: "at any time after"}, {value: "gap", label: "later than"}], gap, (v) => {
        if (v === "gap") f.after = {minutes: 10}; else delete f.after;
        redraw();
      }, {"aria-label": "when after"}));
      if (f.after) line.append(durationInput(f.after, (d) => { f.after = d; done(); }), word("after it"));
      line.append(removeButton("remove this follow-up", onremove));
      box.append(line);
      (f.where || []).forEach((w, i) => box.append(this.filterLine(w, f.event, path + ".where[" + i + "]",
        () => { f.where.splice(i, 1); redraw(); }, done, redraw)));
      const props = this.properties(f.event);
      if (props.length) {
        box.append(h("div", {class: "rb-line rb-more"}, h("button", {type: "button", class: "rb-link", onclick: () => {
          (f.where = f.where || []).push(this.newFilter(props[0])); redraw();
        }}, "+ where a property of it…")));
      }
      return box;
    }

    valueInput(shape, value, set, choices, listId) {
      if (shape === "none") return null;
      if (shape === "number") return numberInput(value, set, {"aria-label": "value"});
      if (shape === "number_pair") {
        const pair = Array.isArray(value) ? value : [0, 0];
        return h("span", {}, numberInput(pair[0], (v) => { pair[0] = v; set(pair); }), word("and"), numberInput(pair[1], (v) => { pair[1] = v; set(pair); }));
      }
      if (shape === "duration") return durationInput(value && typeof value === "object" ? value : {days: 30}, set);
      if (shape === "datetime") return dateInput(value, set);
      if (shape === "choice") return select(choices, value, set, {"aria-label": "value"});
      if (shape === "choice_list") {
        const current = Array.isArray(value) ? value : [];
        return h("span", {class: "rb-days"}, choices.map((c) => {
          const b = h("input", {type: "checkbox", checked: current.includes(c.value)});
          b.addEventListener("change", () => set(choices.map((x) => x.value).filter((x) => x === c.value ? b.checked : current.includes(x))));
          return h("label", {class: "rb-day"}, b, c.label);
        }));
      }
      if (shape === "string_list") {
        return textInput((Array.isArray(value) ? value : []).join(", "),
          (v) => set(v.split(",").map((x) => x.trim()).filter(Boolean)), {placeholder: "a, b, c", "aria-label": "values, separated by commas"});
      }
      const input = textInput(value, set, {"aria-label": "value"});
      if (listId && choices.length) {
        input.setAttribute("list", listId);
        return h("span", {}, input, h("datalist", {id: listId}, choices.map((c) => h("option", {value: c.value}))));
      }
      return input;
    }

    // "[Total spent] [is at least] [100]"
    fieldDefaults(node, field) {
      const op = field.operators.find((o) => o.op === (field.kind === "datetime" ? "within_last" : field.kind === "number" ? "gte" : "eq")) || field.operators[0];
      node.op = op.op;
      node.value = this.defaultValue(op.value, field);
      if (node.value === undefined) delete node.value;
      return node;
    }
    defaultValue(shape, field) {
      const first = field.choices && field.choices.length ? field.choices[field.choices.length > 1 && field.choices[0].value === "" ? 1 : 0].value : "";
      return {number: 1, number_pair: [0, 100], string: "", string_list: [], choice: first, choice_list: [first],
              duration: {days: 30}, datetime: today(), none: undefined}[shape];
    }
    fieldRow(box, node, done, redraw) {
      const fields = node.type === "attribute" ? this.vocab.attributes : this.vocab.predictions;
      const field = fields.find((f) => f.name === node.field) || fields[0];
      const line = h("div", {class: "rb-line"});
      line.append(select(fields.map((f) => ({value: f.name, label: f.label})), field.name, (v) => {
        node.field = v;
        this.fieldDefaults(node, fields.find((f) => f.name === v));
        redraw();
      }, {"aria-label": node.type === "attribute" ? "customer property" : "prediction"}));
      line.append(select(field.operators.map((o) => ({value: o.op, label: o.label})), node.op, (v) => {
        const was = (field.operators.find((o) => o.op === node.op) || {}).value;
        node.op = v;
        const shape = field.operators.find((o) => o.op === v).value;
        if (shape !== was) { node.value = this.defaultValue(shape, field); if (node.value === undefined) delete node.value; }
        redraw();
      }, {"aria-label": "comparison"}));
      const shape = (field.operators.find((o) => o.op === node.op) || field.operators[0]).value;
      line.append(this.valueInput(shape, node.value, (v) => { node.value = v; done(); }, field.choices || [], null));
      box.append(line);
    }
    percentileRow(box, node, done, redraw) {
      box.append(h("div", {class: "rb-line"}, word("Is in the"),
        select([{value: "top", label: "top"}, {value: "bottom", label: "bottom"}], node.direction || "top",
          (v) => { node.direction = v; done(); }, {"aria-label": "top or bottom"}),
        numberInput(node.percent, (v) => { node.percent = v; done(); }, {min: 1, max: 100, "aria-label": "percent"}),
        word("% of customers by"),
        select(this.vocab.percentile_fields.map((f) => ({value: f.name, label: f.label})), node.field,
          (v) => { node.field = v; done(); }, {"aria-label": "ranked by"})));
    }
    segmentRow(box, node, redraw) {
      const segments = this.segments();
      const line = h("div", {class: "rb-line"},
        select([{value: "in", label: "Is in segment"}, {value: "out", label: "Is not in segment"}], node.negate ? "out" : "in",
          (v) => { node.negate = v === "out"; redraw(); }, {"aria-label": "in or not in"}));
      if (!segments.length && node.segment === null) line.append(word("(this store has no other segment yet)"));
      else {
        const opts = segments.map((s) => ({value: s.id, label: s.name}));
        if (node.segment !== null && !segments.some((s) => s.id === node.segment)) opts.unshift({value: node.segment, label: "segment " + node.segment});
        line.append(select(opts, node.segment, (v) => { node.segment = Number(v); redraw(); }, {"aria-label": "segment"}));
      }
      box.append(line);
    }

    // "where" mode: only property conditions on one event
    whereList(list, eventNames, path, redraw) {
      const box = h("div", {class: "rb-group rb-where", "data-path": path});
      if (!eventNames.length || !eventNames[0]) {
        box.append(h("p", {class: "rb-hint"}, "Choose the event first: its properties can then be used here."));
        return box;
      }
      const done = () => this.changed(false);
      list.forEach((f, i) => box.append(this.filterLine(f, eventNames, path + "[" + i + "]", () => { list.splice(i, 1); redraw(); }, done, redraw)));
      if (!list.length) box.append(h("p", {class: "rb-hint"}, "Every “" + ((this.byName[eventNames[0]] || {}).label || eventNames[0]) + "” event counts."));
      const props = this.properties(eventNames);
      box.append(h("div", {class: "rb-line rb-foot"}, h("button", {type: "button", class: "rb-link", onclick: () => {
        list.push(this.newFilter(props[0])); redraw();
      }}, "+ Add a property condition")));
      return box;
    }
  }

  const RuleBuilder = {
    mount(element, options) {
      if (element.ruleBuilder) return element.ruleBuilder;
      const opts = options || JSON.parse(element.dataset.options || "{}");
      element.ruleBuilder = new Builder(element, opts);
      return element.ruleBuilder;
    },
    mountAll(root) {
      return Array.from((root || document).querySelectorAll(".rule-builder")).map((e) => RuleBuilder.mount(e));
    },
    toTree, fromTree,
  };
  window.RuleBuilder = RuleBuilder;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => RuleBuilder.mountAll());
  else RuleBuilder.mountAll();
})();
