// Live event tail for /ui/events: EventSource carries the session cookie, so no header is needed.
// The browser reconnects by itself after a drop; the status line says so.
(function () {
  "use strict";
  var MAX_ROWS = 500;
  function start() {
    var table = document.getElementById("events-body");
    if (!table || table.dataset.live === "1") { return; }
    table.dataset.live = "1";
    var status = document.getElementById("events-status");
    var filter = document.getElementById("events-filter");
    var kind = document.getElementById("events-kind");
    var empty = document.getElementById("events-empty");
    function matches(row) {
      var text = (filter && filter.value || "").toLowerCase();
      var k = kind && kind.value || "";
      return (!k || row.dataset.kind === k) && (!text || row.textContent.toLowerCase().indexOf(text) >= 0);
    }
    function refilter() {
      Array.prototype.forEach.call(table.rows, function (row) { row.hidden = !matches(row); });
    }
    var form = document.getElementById("events-form");
    if (form) { form.addEventListener("submit", function (e) { e.preventDefault(); refilter(); }); }
    if (filter) { filter.addEventListener("input", refilter); }
    if (kind) { kind.addEventListener("change", refilter); }
    function cell(text, cls) {
      var td = document.createElement("td");
      td.textContent = text;
      if (cls) { td.className = cls; }
      return td;
    }
    var source = new EventSource(table.dataset.stream);
    source.onopen = function () { status.textContent = "Connected: new events appear at the top."; };
    source.onerror = function () { status.textContent = "Disconnected, reconnecting…"; };
    source.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      var row = document.createElement("tr");
      row.dataset.kind = event.kind;
      var when = cell(new Date(event.at).toLocaleTimeString());
      when.setAttribute("data-label", "Time");
      var k = cell(event.kind); k.setAttribute("data-label", "Kind");
      var repo = cell(event.repository); repo.setAttribute("data-label", "Repository");
      var path = cell(event.path || "", "path"); path.setAttribute("data-label", "Path");
      row.append(when, k, repo, path);
      row.hidden = !matches(row);
      table.insertBefore(row, table.firstChild);
      while (table.rows.length > MAX_ROWS) { table.deleteRow(table.rows.length - 1); }
      if (empty) { empty.hidden = true; }
    };
    // Leaving the page through a boosted link swaps the body: stop streaming then.
    document.addEventListener("htmx:beforeSwap", function stop() {
      source.close();
      document.removeEventListener("htmx:beforeSwap", stop);
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
  document.addEventListener("htmx:afterSettle", start);
})();
