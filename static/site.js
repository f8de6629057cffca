/* Taroudant Heritage Map: the few behaviours of ordinary pages, here rather than in onclick="" attributes,
 * which the Content-Security-Policy refuses. */
(function () {
  "use strict";

  // Index filters apply as soon as a value is chosen (a <noscript> button does it without scripts).
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-submit-on-change]") && select.form) select.form.submit();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });
})();
