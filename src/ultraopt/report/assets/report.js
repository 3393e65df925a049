// UltraOpt run report: sort the trials table by any column, filter its rows by text.
"use strict";
(function () {
  const table = document.getElementById("trials-table");
  if (!table) { return; }
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const counter = document.getElementById("trial-count");
  const filter = document.getElementById("trial-filter");

  function sortKey(cell) {
    const raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    const number = raw === "" ? NaN : Number(raw);
    return Number.isNaN(number) ? { text: raw.toLowerCase() } : { number: number };
  }

  function compare(a, b) {  // numbers before text, empty cells last
    if ("number" in a && "number" in b) { return a.number - b.number; }
    if ("number" in a) { return -1; }
    if ("number" in b) { return 1; }
    if (a.text === b.text) { return 0; }
    if (a.text === "") { return 1; }
    if (b.text === "") { return -1; }
    return a.text < b.text ? -1 : 1;
  }

  function showCount() {
    const shown = rows.filter(function (row) { return !row.hidden; }).length;
    counter.textContent = shown === rows.length ? rows.length + " trials" : shown + " of " + rows.length + " trials";
    counter.setAttribute("data-shown", String(shown));
  }

  Array.from(table.tHead.rows[0].cells).forEach(function (header, column) {
    header.addEventListener("click", function () {
      const ascending = header.getAttribute("aria-sort") !== "ascending";
      Array.from(table.tHead.rows[0].cells).forEach(function (h) { h.removeAttribute("aria-sort"); });
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const keyed = rows.map(function (row, index) { return [sortKey(row.cells[column]), index, row]; });
      keyed.sort(function (x, y) { return (ascending ? compare(x[0], y[0]) : compare(y[0], x[0])) || x[1] - y[1]; });
      keyed.forEach(function (item) { body.appendChild(item[2]); });
    });
  });

  if (filter) {
    filter.addEventListener("input", function () {
      const words = filter.value.toLowerCase();
      rows.forEach(function (row) { row.hidden = words !== "" && !row.textContent.toLowerCase().includes(words); });
      showCount();
    });
  }
  showCount();
})();
