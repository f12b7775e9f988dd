/* The email template editor (campaigns/template_admin.py): live preview for a chosen customer, customer search,
   "a member of segment X", insert-variable and insert-block menus, "Send a test to me". No dependencies.
   The server renders (campaigns.editor); this file only sends the source being edited and shows the answer. */
(function () {
  "use strict";

  const BLOCKS = {
    header: '<div style="display:none;max-height:0;overflow:hidden">Write the preheader here: the line inboxes show after the subject.</div>\n' +
      '<h1 style="font-family:Arial,sans-serif;font-size:22px;margin:0 0 16px">{{ store.name }}</h1>\n',
    button: '<p><a href="{{ store.url }}" style="display:inline-block;background:#1f6feb;color:#fff;padding:10px 18px;' +
      'text-decoration:none;border-radius:4px;font-family:Arial,sans-serif">Shop now</a></p>\n',
    items: '<table role="presentation" style="width:100%;border-collapse:collapse">{% for item in items %}<tr>\n' +
      '<td style="padding:6px;width:90px">{% if item.image_url %}<img src="{{ item.image_url }}" width="80" alt="">{% endif %}</td>\n' +
      '<td style="padding:6px"><a href="{{ item.url|default:store.url }}">{{ item.title }}</a> &times; {{ item.quantity }}</td>\n' +
      '<td style="padding:6px;text-align:right">{{ item.price }} {{ store.currency }}</td></tr>{% endfor %}</table>\n',
    recommendations: '<table role="presentation" style="width:100%"><tr>{% for p in recommendations %}\n' +
      '<td style="padding:6px;text-align:center;vertical-align:top">{% if p.image_url %}<img src="{{ p.image_url }}" width="120" alt=""><br>{% endif %}\n' +
      '<a href="{{ p.url }}">{{ p.title }}</a><br>{{ p.price }} {{ store.currency }}</td>{% endfor %}</tr></table>\n',
    footer: '<p style="font-size:12px;color:#777;font-family:Arial,sans-serif">{{ store.name }}{% if store.address %} &middot; {{ store.address }}{% endif %}<br>\n' +
      '<a href="{{ unsubscribe_url }}">Unsubscribe or get fewer emails</a></p>\n',
  };

  function debounce(fn, ms) {
    let timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  function init() {
    const root = document.getElementById("template-editor");
    if (!root) return;
    const $ = (id) => document.getElementById(id);
    const part = (name) => document.querySelector('[data-editor-part="' + name + '"]');
    const csrf = () => (document.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
    const storeId = () => ($("id_store") && $("id_store").value) || root.dataset.store || "";
    const search = $("editor-customer-search"), results = $("editor-customer-results"), chosen = $("editor-customer");
    const status = $("editor-status"), frame = $("editor-frame"), segment = $("editor-segment");
    let lastTextarea = part("html"), memberPosition = 0, requestNo = 0;

    function say(text, isError) {
      status.textContent = text;
      status.classList.toggle("error", !!isError);
    }

    function body() {
      const data = new FormData();
      data.append("csrfmiddlewaretoken", csrf());
      data.append("store", storeId());
      data.append("customer", chosen.value);
      ["subject", "html", "text", "discount_code", "code_prefix"].forEach((n) => data.append(n, part(n) ? part(n).value : ""));
      if (part("unique_code") && part("unique_code").checked) data.append("unique_code", "on");
      return data;
    }

    function showVariables(list) {
      const tbody = $("variable-list").querySelector("tbody");
      tbody.innerHTML = "";
      (list || []).forEach((v) => {
        const tr = document.createElement("tr");
        const name = document.createElement("td"), value = document.createElement("td"), use = document.createElement("td");
        const code = document.createElement("code");
        code.textContent = v.name;
        name.appendChild(code);
        value.textContent = v.value + (v.hint ? " (" + v.hint + ")" : "");
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = "Insert";
        button.setAttribute("aria-label", "Insert " + v.name);
        button.addEventListener("click", () => insert(v.snippet));
        use.appendChild(button);
        tr.append(name, value, use);
        tbody.appendChild(tr);
      });
    }

    function render() {
      if (!chosen.value || !storeId()) return;
      const mine = ++requestNo;
      say("Rendering…");
      fetch(root.dataset.renderUrl, { method: "POST", body: body(), credentials: "same-origin" })
        .then((r) => r.json().then((data) => ({ ok: r.ok, data })))
        .then(({ data }) => {
          if (mine !== requestNo) return; // a newer edit is on its way
          showVariables(data.variables);
          if (data.error) {
            say("This template cannot be sent: " + data.error, true);
            return;
          }
          $("editor-subject").textContent = data.subject || "(empty subject)";
          $("editor-preheader").textContent = data.preheader || "(empty)";
          frame.srcdoc = data.html;
          $("editor-text").textContent = data.text;
          say("Previewing as " + data.customer + ".");
        })
        .catch(() => say("The preview could not be loaded (is the server running?).", true));
    }
    const renderSoon = debounce(render, 400);

    function choose(id, label) {
      chosen.value = id;
      search.value = label;
      results.hidden = true;
      render();
    }

    function insert(snippet) {
      const area = lastTextarea || part("html");
      const start = area.selectionStart, end = area.selectionEnd;
      area.value = area.value.slice(0, start) + snippet + area.value.slice(end);
      area.selectionStart = area.selectionEnd = start + snippet.length;
      area.focus();
      renderSoon();
    }

    const lookUp = debounce(() => {
      const q = search.value.trim();
      if (q.length < 2 || !storeId()) { results.hidden = true; return; }
      const url = root.dataset.customersUrl + "?store=" + encodeURIComponent(storeId()) + "&q=" + encodeURIComponent(q);
      fetch(url, { credentials: "same-origin" }).then((r) => r.json()).then((data) => {
        results.innerHTML = "";
        (data.results || []).forEach((c) => {
          const li = document.createElement("li");
          li.textContent = c.label;
          li.setAttribute("role", "option");
          li.addEventListener("click", () => choose(c.id, c.label));
          results.appendChild(li);
        });
        if (!data.results || !data.results.length) {
          const li = document.createElement("li");
          li.textContent = "No customer matches “" + q + "”.";
          results.appendChild(li);
        }
        results.hidden = false;
      });
    }, 250);

    search.addEventListener("input", lookUp);
    search.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      e.preventDefault(); // never submit the template form from the search box
      const first = results.querySelector("li[role=option]");
      if (first) first.click();
    });

    function member() {
      if (!segment.value) return;
      const url = root.dataset.memberUrl + "?store=" + encodeURIComponent(storeId()) + "&segment=" + segment.value +
        "&position=" + memberPosition;
      fetch(url, { credentials: "same-origin" }).then((r) => r.json()).then((data) => {
        if (data.error) { say(data.error, true); return; }
        $("editor-next-member").hidden = data.members < 2;
        choose(data.id, data.label + " (member " + (memberPosition % data.members + 1) + " of " + data.members + ")");
      });
    }
    segment.addEventListener("change", () => { memberPosition = 0; member(); });
    $("editor-next-member").addEventListener("click", () => { memberPosition += 1; member(); });

    document.querySelectorAll("[data-editor-part]").forEach((el) => {
      el.addEventListener(el.type === "checkbox" ? "change" : "input", renderSoon);
      if (el.tagName === "TEXTAREA") el.addEventListener("focus", () => { lastTextarea = el; });
    });
    if ($("id_store")) $("id_store").addEventListener("change", () => { chosen.value = ""; search.value = ""; });

    document.querySelectorAll("[data-block]").forEach((b) => b.addEventListener("click", () => insert(BLOCKS[b.dataset.block])));
    document.querySelectorAll("[data-width]").forEach((b) => b.addEventListener("click", () => {
      document.querySelectorAll("[data-width]").forEach((o) => o.classList.toggle("active", o === b));
      frame.className = b.dataset.width;
    }));

    $("editor-send-test").addEventListener("click", () => {
      if (!chosen.value) { say("Pick a customer first: the test is the email as that customer would get it.", true); return; }
      say("Sending the test…");
      fetch(root.dataset.sendUrl, { method: "POST", body: body(), credentials: "same-origin" })
        .then((r) => r.json()).then((data) => say(data.error || data.sent, !!data.error))
        .catch(() => say("The test could not be sent.", true));
    });

    if (chosen.value) render();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
