/* Taroudant Heritage Map: "near here": the browser's position sent to /api/near, the answer listed as text. */
(function () {
  "use strict";

  function start() {
    var button = document.getElementById("near-locate");
    if (!button) return;
    var status = document.getElementById("near-status"), list = document.getElementById("near-results");
    function fail(error) {
      status.textContent = button.getAttribute("data-error").replace("%(reason)s", error.message || error.code);
    }
    button.addEventListener("click", function () {
      if (!navigator.geolocation) { fail({message: "no geolocation"}); return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        var url = button.getAttribute("data-api") + "?layer=sites&radius=" + button.getAttribute("data-radius") +
          "&lon=" + pos.coords.longitude.toFixed(6) + "&lat=" + pos.coords.latitude.toFixed(6);
        fetch(url, {headers: {Accept: "application/geo+json"}})
          .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
          .then(function (data) {
            list.textContent = "";
            status.textContent = data.features.length ? "" : button.getAttribute("data-none");
            data.features.forEach(function (f) {
              var p = f.properties, item = document.createElement("li"), link = document.createElement("a");
              item.setAttribute("data-slug", p.slug);
              link.href = p.url;
              link.textContent = p.name_en || p.name_fr || p.name_ar || p.slug;
              item.appendChild(link);
              var small = document.createElement("small");
              small.textContent = " " + button.getAttribute("data-metres").replace("%(metres)s", Math.round(p.distance_m));
              item.appendChild(small);
              list.appendChild(item);
            });
          })
          .catch(fail);
      }, fail, {enableHighAccuracy: true, timeout: 15000});
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
