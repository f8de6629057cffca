/* Taroudant Heritage Map: the few behaviours of ordinary pages, here rather than in onclick="" attributes,
 * which the Content-Security-Policy refuses. */
(function () {
  "use strict";

  // Index filters apply as soon as a value is chosen (a <noscript> button does it without scripts).
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-submit-on-change]") && select.form) select.form.submit();
  });

  // The service worker keeps the map, its data and the pages visited for the next time there is no network.
  var worker = document.querySelector('meta[name="service-worker"]');
  if (worker && "serviceWorker" in navigator) {
    navigator.serviceWorker.register(worker.content).catch(function () { /* the site works without it */ });
  }

  // Panels that would push the map off a phone's screen start folded there (a tap on their summary opens them).
  if (window.matchMedia && window.matchMedia("(max-width: 700px)").matches) {
    document.querySelectorAll("details[data-fold-on-phones]").forEach(function (d) { d.open = false; });
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });
})();
