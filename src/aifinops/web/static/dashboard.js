// Draws the charts of a page from its JSON data blocks (no inline script: the pages'
// Content-Security-Policy allows this site's own scripts only).
(function () {
  "use strict";
  var palette = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2",
    "#65a30d", "#db2777", "#4b5563", "#ca8a04", "#7c3aed", "#059669"];

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function usd(value) {
    return "$" + Number(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  var daily = data("daily-data");
  if (daily && window.Chart) {
    new window.Chart(document.getElementById("daily-chart"), {
      type: "bar",
      data: {
        labels: daily.labels,
        datasets: daily.datasets.map(function (d, i) {
          return { label: d.label, data: d.data, backgroundColor: palette[i % palette.length], stack: "spend" };
        })
      },
      options: {
        animation: false, maintainAspectRatio: false,
        scales: { x: { stacked: true }, y: { stacked: true, ticks: { callback: usd } } },
        plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + usd(c.parsed.y); } } } }
      }
    });
  }

  var mix = data("mix-data");
  if (mix && window.Chart) {
    new window.Chart(document.getElementById("mix-chart"), {
      type: "doughnut",
      data: { labels: mix.labels, datasets: [{ data: mix.data, backgroundColor: palette }] },
      options: {
        animation: false, maintainAspectRatio: false,
        plugins: { legend: { position: "right" }, tooltip: { callbacks: { label: function (c) { return c.label + ": " + usd(c.parsed); } } } }
      }
    });
  }

  var print = document.getElementById("print");
  if (print) { print.addEventListener("click", function () { window.print(); }); }
})();
