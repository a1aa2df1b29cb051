// Webcare Router UI: keyboard shortcuts, ticking SLA countdowns, live updates over server-sent events.
// Hand-written, no dependencies. Pages work without it; this only makes them faster to use.
"use strict";

(function () {
  const page = document.body.dataset.page;
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  window.__pageLoadId = Math.random().toString(36).slice(2);

  // ---- SLA countdowns -------------------------------------------------------------------------
  function formatLeft(seconds) {
    const sign = seconds < 0 ? "-" : "";
    let s = Math.floor(Math.abs(seconds));
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    if (d) return sign + d + "d " + h + "h";
    if (h) return sign + h + "h " + String(m).padStart(2, "0") + "m";
    return sign + m + "m " + String(s).padStart(2, "0") + "s";
  }
  function tick() {
    const now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      const due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      el.textContent = formatLeft((due - now) / 1000);
      // A running deadline that comes within the hour turns "under an hour" (app/ui/timers.py urgency).
      const badge = el.closest(".sla[data-soon-label]");
      if (badge && badge.dataset.urgency === "running" && due - now < 3600 * 1000) {
        badge.dataset.urgency = "soon";
        badge.classList.replace("sla-running", "sla-soon");
        badge.querySelector(".sla-icon").textContent = "◔";
        badge.querySelector(".sla-word").textContent = badge.dataset.soonLabel;
      }
    });
  }
  // Relative times ("3 min ago", "in 12 min") tick on from their datetime; the words come from
  // body[data-rel] in the page's language (the same rules as Translator.relative on the server).
  const rel = JSON.parse(document.body.dataset.rel || "{}");
  function relative(ms) {
    const s = Math.floor(Math.abs(ms) / 1000);
    if (s < 60 || !rel.past) return rel.now || "";
    const unit = s >= 86400 ? ["d", 86400] : s >= 3600 ? ["h", 3600] : ["min", 60];
    const text = ms > 0 ? rel.future : rel.past;
    return text.replace("{n}", Math.floor(s / unit[1])).replace("{unit}", rel[unit[0]]);
  }
  function tickRelative() {
    const now = Date.now();
    document.querySelectorAll("time[data-rel]").forEach(function (el) {
      const at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) el.textContent = relative(at - now);
    });
  }
  tick();
  setInterval(tick, 1000);
  setInterval(tickRelative, 30000);

  // ---- announcements for screen readers ------------------------------------------------------
  function announce(text) {
    const region = document.getElementById("live-status");
    if (region) { region.textContent = ""; setTimeout(function () { region.textContent = text; }, 50); }
  }

  // ---- help dialog ---------------------------------------------------------------------------
  const help = document.getElementById("help");
  function openHelp() { if (help && !help.open) help.showModal(); }
  document.querySelectorAll("[data-help]").forEach(function (b) { b.addEventListener("click", openHelp); });

  // ---- keyboard ------------------------------------------------------------------------------
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue-rows .qrow")); }
  function currentRow() { return document.querySelector("#queue-rows .qrow.current"); }
  function select(row) {
    rows().forEach(function (r) { r.classList.remove("current"); r.removeAttribute("aria-current"); });
    if (!row) return;
    row.classList.add("current");
    row.setAttribute("aria-current", "true");
    const link = row.querySelector(".case-link");
    if (link) link.focus();
  }
  function move(step) {
    const all = rows();
    if (!all.length) return;
    const at = all.indexOf(currentRow());
    const next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    select(all[next]);
  }
  function postForm(action, fields) {
    const form = document.createElement("form");
    form.method = "post";
    form.action = action;
    Object.keys(fields).forEach(function (name) {
      const input = document.createElement("input");
      input.type = "hidden"; input.name = name; input.value = fields[name];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }
  document.addEventListener("focusin", function (e) {
    const row = e.target.closest && e.target.closest("#queue-rows .qrow");
    if (row && !row.classList.contains("current")) select(row);
  });
  document.addEventListener("keydown", function (e) {
    // Single-key shortcuts can be turned off in the settings (WCAG 2.1.4); the ? button stays.
    if (document.body.dataset.shortcuts === "off") return;
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (help && help.open) return;
    const key = e.key;
    if (key === "?") { e.preventDefault(); openHelp(); return; }
    if (key === "/") {
      e.preventDefault();
      const q = document.getElementById("q");
      if (q) { q.focus(); q.select(); } else { window.location.href = "/ui/#q"; }
      return;
    }
    if (page === "queue") {
      if (key === "j") { e.preventDefault(); move(1); }
      else if (key === "k") { e.preventDefault(); move(-1); }
      else if (key === "Enter") {
        const row = currentRow();
        if (row && document.activeElement && !document.activeElement.closest(".qrow")) {
          e.preventDefault(); window.location.href = row.querySelector(".case-link").href;
        }
      } else if (key === "c") {
        const row = currentRow();
        if (row) { e.preventDefault(); postForm(row.dataset.claim, {csrf_token: csrf, next: window.location.pathname + window.location.search}); }
      } else if (key === "r") {
        const row = currentRow();
        if (row) { e.preventDefault(); window.location.href = row.querySelector(".case-link").href + "#respond-text"; }
      } else if (key === "x") {
        if (toggleCurrent()) e.preventDefault();
      }
    } else if (page === "case") {
      if (key === "c") {
        const claim = document.getElementById("form-claim");
        if (claim) { e.preventDefault(); claim.requestSubmit(); }
      } else if (key === "r") {
        const reply = document.getElementById("respond-text");
        if (reply) { e.preventDefault(); reply.focus(); }
      }
    }
  });
  if (page === "queue" && window.location.hash === "#q") {
    const q = document.getElementById("q"); if (q) q.focus();
  }
  if (page === "case" && window.location.hash === "#respond-text") {
    const reply = document.getElementById("respond-text"); if (reply) reply.focus();
  }

  // ---- bulk selection: click, shift-click for a range, x on the current row, "select all" -------
  const selected = new Set();
  let anchor = null;  // the row last clicked: shift-click selects from it
  function boxes() { return Array.prototype.slice.call(document.querySelectorAll("#queue-rows .row-select")); }
  function syncSelection() {
    boxes().forEach(function (b) {
      b.checked = selected.has(b.value);
      b.closest(".qrow").classList.toggle("selected", b.checked);
    });
    const count = document.getElementById("bulk-count");
    if (count) count.textContent = count.dataset.template.replace("{n}", selected.size);
    const all = document.getElementById("select-all");
    if (all) {
      const shown = boxes();
      all.checked = shown.length > 0 && shown.every(function (b) { return b.checked; });
      all.indeterminate = !all.checked && shown.some(function (b) { return b.checked; });
    }
  }
  function setSelected(box, on) { if (on) selected.add(box.value); else selected.delete(box.value); }
  document.addEventListener("click", function (e) {
    const box = e.target.closest && e.target.closest(".row-select");
    if (!box) return;
    const all = boxes();
    if (e.shiftKey && anchor && all.indexOf(anchor) >= 0) {
      const from = all.indexOf(anchor), to = all.indexOf(box);
      all.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (b) { setSelected(b, box.checked); });
    } else {
      setSelected(box, box.checked);
    }
    anchor = box;
    syncSelection();
  });
  const selectAll = document.getElementById("select-all");
  if (selectAll) selectAll.addEventListener("change", function () {
    boxes().forEach(function (b) { setSelected(b, selectAll.checked); });
    syncSelection();
  });
  function toggleCurrent() {
    const row = currentRow();
    const box = row && row.querySelector(".row-select");
    if (!box) return false;
    setSelected(box, !box.checked);
    anchor = box;
    syncSelection();
    return true;
  }
  // Only the fields of the chosen bulk action are shown (all of them without this script).
  const bulkAction = document.getElementById("bulk-action");
  function showBulkFields() {
    document.querySelectorAll("#bulk-form [data-for]").forEach(function (field) {
      field.hidden = field.dataset.for.split(" ").indexOf(bulkAction.value) < 0;
    });
  }
  if (bulkAction) { bulkAction.addEventListener("change", showBulkFields); showBulkFields(); }

  // ---- live updates: the state shows in body[data-live] (connected | reconnecting) ----------
  function watch(source) {
    source.addEventListener("error", function () {
      document.body.dataset.live = source.readyState === EventSource.CLOSED ? "closed" : "reconnecting";
    });
  }

  // ---- live queue ----------------------------------------------------------------------------
  function fragment(html) {
    const t = document.createElement("template");
    t.innerHTML = "<table><tbody>" + html + "</tbody></table>";
    return t.content.querySelector("tr");
  }
  function placeRow(body, row) {
    const key = row.dataset.key;
    const after = rows().find(function (r) { return r !== row && r.dataset.key > key; });
    body.insertBefore(row, after || null);
  }
  function liveQueue(table) {
    const body = document.getElementById("queue-rows");
    const limit = parseInt(table.dataset.limit || "100", 10);
    const source = new EventSource(table.dataset.live);
    // The session ended (logout, deactivation): stop instead of reconnecting.
    source.addEventListener("gone", function () { source.close(); });
    watch(source);
    source.addEventListener("rows", function (e) {
      document.body.dataset.live = "connected";
      const data = JSON.parse(e.data);
      const selected = currentRow() ? currentRow().dataset.ref : null;
      const hadFocus = document.activeElement && document.activeElement.closest && document.activeElement.closest("#queue-rows");
      let added = 0;
      if (data.reset) {
        const keep = {};
        rows().forEach(function (r) { keep[r.dataset.ref] = true; });
        body.textContent = "";
        data.reset.forEach(function (item) {
          const row = fragment(item.html);
          if (!keep[item.ref]) { row.classList.add("fresh"); added++; }
          body.appendChild(row);
        });
      } else {
        (data.remove || []).forEach(function (ref) {
          const old = document.getElementById("row-" + ref); if (old) old.remove();
        });
        (data.upsert || []).forEach(function (item) {
          const row = fragment(item.html);
          const old = document.getElementById("row-" + item.ref);
          if (old) { old.replaceWith(row); } else { row.classList.add("fresh"); added++; }
          placeRow(body, row);
        });
        rows().slice(limit).forEach(function (r) { r.remove(); });
      }
      if (selected) {
        const again = document.getElementById("row-" + selected);
        if (again) {
          again.classList.add("current");
          if (hadFocus) { const link = again.querySelector(".case-link"); if (link) link.focus(); }
        }
      }
      syncSelection();  // rows re-rendered by the stream keep their selection
      updateCounts(data.counts, data.total);
      const empty = document.getElementById("queue-empty");
      if (empty) empty.hidden = rows().length > 0;
      if (added) announce(table.dataset.newText ? table.dataset.newText.replace("{n}", added) : added + " new");
    });
  }
  function updateCounts(counts, total) {
    if (!counts) return;
    document.querySelectorAll("[data-count]").forEach(function (el) {
      const path = el.dataset.count.split(".");
      let value = counts[path[0]];
      if (path.length > 1) value = (value || {})[path[1]] || 0;
      if (typeof value !== "number") return;
      el.textContent = el.tagName === "OPTION" ? el.dataset.label + " (" + value + ")" : String(value);
    });
    const summary = document.getElementById("queue-summary");
    if (summary && total !== undefined && summary.dataset.template) {
      summary.textContent = summary.dataset.template.replace("{shown}", rows().length).replace("{total}", total);
    }
  }

  // ---- live case -----------------------------------------------------------------------------
  function dirty(section) {
    return Array.prototype.some.call(section.querySelectorAll("input, textarea, select"), function (el) {
      if (el.type === "hidden") return false;
      if (el.type === "checkbox") return el.checked !== el.defaultChecked;
      if (el.tagName === "SELECT") return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
      return el.value !== el.defaultValue;
    }) || section.contains(document.activeElement);
  }
  function liveCase(root) {
    const source = new EventSource(root.dataset.live);
    watch(source);
    let first = true;
    source.addEventListener("case", function (e) {
      document.body.dataset.live = "connected";
      const data = JSON.parse(e.data);
      let held = false;
      Object.keys(data.sections).forEach(function (name) {
        const section = root.querySelector('[data-section="' + name + '"]');
        if (!section) return;
        if (section.hasAttribute("data-keep-input")) {
          // A half-written reply or form is never replaced; say so when its actions changed.
          const current = section.querySelector("[data-allowed]");
          const same = current && current.dataset.allowed === data.allowed;
          if (dirty(section)) { held = held || !same; return; }
          const open = Array.prototype.map.call(section.querySelectorAll("details"), function (d) { return d.open; });
          section.innerHTML = data.sections[name];
          section.querySelectorAll("details").forEach(function (d, i) { if (open[i]) d.open = true; });
          return;
        }
        section.innerHTML = data.sections[name];
      });
      tick();
      if (!first) announce(root.dataset.changedText || "updated");
      const notice = document.getElementById("case-notice");
      if (notice) notice.hidden = !held;
      first = false;
    });
    source.addEventListener("gone", function () { source.close(); });
  }

  const table = document.getElementById("queue");
  if (table && table.dataset.live && window.EventSource) liveQueue(table);
  const caseRoot = document.getElementById("case");
  if (caseRoot && caseRoot.dataset.live && window.EventSource) liveCase(caseRoot);
})();
