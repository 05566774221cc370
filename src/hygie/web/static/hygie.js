// Hygie's own script (the strict CSP allows no inline script): small behaviours that
// pages opt into with data- attributes. Everything works without it, only less smoothly.
"use strict";
(function () {
  // <button data-print>: print the page (the access history handed to a patient).
  document.addEventListener("click", function (event) {
    const target = event.target instanceof Element ? event.target.closest("[data-print]") : null;
    if (target) {
      event.preventDefault();
      window.print();
    }
  });

  // <span data-until="ISO time">: minutes left, kept current (the break-the-glass banner).
  function tick() {
    document.querySelectorAll("[data-until]").forEach(function (el) {
      const left = Math.max(0, Math.round((Date.parse(el.dataset.until) - Date.now()) / 60000));
      const hours = Math.floor(left / 60);
      const minutes = left % 60;
      el.textContent = hours > 0 ? hours + " h " + String(minutes).padStart(2, "0") + " min" : minutes + " min";
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  setInterval(tick, 30000);

  // <form data-confirm="question">: ask before an irreversible change.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
