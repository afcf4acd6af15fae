// Sorting and filtering of the students table.  Without JavaScript the table is complete, sorted by name.
(function () {
  "use strict";
  var opened = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (d) { d.setAttribute("open", ""); opened.push(d); });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.removeAttribute("open"); }); opened = [];
  });

  var table = document.getElementById("students-table");
  if (!table) return;
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var search = document.getElementById("filter-text");
  var flagSelect = document.getElementById("filter-flag");
  var count = document.getElementById("filter-count");
  var controls = document.getElementById("students-controls");
  if (controls) controls.hidden = false;

  function cellValue(row, index, type) {
    var cell = row.cells[index];
    var raw = cell ? (cell.getAttribute("data-sort") || cell.textContent) : "";
    if (type === "number") {
      var n = parseFloat(raw);
      return isNaN(n) ? -Infinity : n;
    }
    return raw.trim().toLowerCase();
  }

  headers.forEach(function (th, index) {
    var button = th.querySelector("button.sort");
    if (!button) return;
    button.addEventListener("click", function () {
      var type = th.getAttribute("data-type") || "text";
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      headers.forEach(function (other) { if (other !== th) other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var sorted = rows.slice().sort(function (a, b) {
        var x = cellValue(a, index, type), y = cellValue(b, index, type);
        if (x < y) return ascending ? -1 : 1;
        if (x > y) return ascending ? 1 : -1;
        return 0;
      });
      sorted.forEach(function (row) { tbody.appendChild(row); });
    });
  });

  function applyFilter() {
    var text = search ? search.value.trim().toLowerCase() : "";
    var flag = flagSelect ? flagSelect.value : "";
    var shown = 0;
    rows.forEach(function (row) {
      var haystack = (row.getAttribute("data-search") || "").toLowerCase();
      var flags = (row.getAttribute("data-flags") || "").split("|");
      var ok = (!text || haystack.indexOf(text) !== -1) &&
               (!flag || (flag === "__any" ? flags[0] !== "" : flag === "__none" ? flags[0] === "" : flags.indexOf(flag) !== -1));
      row.hidden = !ok;
      if (ok) shown += 1;
    });
    if (count) count.textContent = "Showing " + shown + " of " + rows.length + " submissions";
  }
  if (search) search.addEventListener("input", applyFilter);
  if (flagSelect) flagSelect.addEventListener("change", applyFilter);
  applyFilter();
})();
