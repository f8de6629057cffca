/* Taroudant Heritage Map: a trail's map (its route and numbered stops) and the "follow this trail" mode, which
 * watches the person's position and says which stop comes next and how far it is. Text goes in as text nodes. */
(function () {
  "use strict";

  var REACHED_M = 30;  // nearer than this, a stop counts as reached

  function el(tag, className, value) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (value !== undefined && value !== null) node.textContent = String(value);
    return node;
  }

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }

  function name(p) { return p.name_en || p.name_fr || p.name_ar || p.slug; }

  function start() {
    var box = document.getElementById("trail-map");
    if (!box || typeof L === "undefined") return;
    var data = JSON.parse(box.getAttribute("data-trail"));
    var map = L.map(box, {maxZoom: 19});
    var tiles = box.getAttribute("data-tiles");
    if (tiles && tiles.toLowerCase() !== "none") {
      L.tileLayer(tiles, {attribution: box.getAttribute("data-attribution"), maxZoom: 19}).addTo(map);
    }
    var route = data.features[0], stops = data.features.slice(1);
    var line = L.geoJSON(route, {style: {color: "#8b1e1e", weight: 4,
                                         dashArray: route.properties.route_estimated ? "8 6" : null}}).addTo(map);
    var markers = stops.map(function (stop) {
      var p = stop.properties, c = stop.geometry.coordinates;
      var icon = L.divIcon({className: "trail-stop-icon", html: el("span", "trail-stop-number", p.number),
                            iconSize: [28, 28]});
      var popup = el("div", "trail-popup");
      popup.appendChild(el("strong", null, p.number + ". " + name(p)));
      var link = el("a", null, "\u2192");
      link.href = p.url;
      popup.appendChild(document.createTextNode(" "));
      popup.appendChild(link);
      return L.marker([c[1], c[0]], {icon: icon, title: p.number + ". " + name(p), alt: name(p)})
        .bindPopup(popup).addTo(map);
    });
    map.fitBounds(line.getBounds(), {padding: [24, 24], maxZoom: 18, animate: false});
    window.heritageTrail = {map: map, stops: stops.length, ready: true, reached: []};
    document.documentElement.setAttribute("data-trail-ready", "true");
    follow(map, stops, markers);
  }

  function follow(map, stops, markers) {
    var button = document.getElementById("trail-follow");
    var out = document.getElementById("trail-next");
    if (!button || !out) return;
    var startLabel = button.textContent, watch = null, here = null, reached = {};

    function update(position) {
      var latlng = L.latLng(position.coords.latitude, position.coords.longitude);
      if (!here) here = L.circleMarker(latlng, {radius: 8, color: "#fff", weight: 3, fillColor: "#1f5f8b",
                                                fillOpacity: 1}).addTo(map);
      here.setLatLng(latlng);
      stops.forEach(function (stop, i) {
        if (map.distance(latlng, markers[i].getLatLng()) <= REACHED_M) reached[i] = true;
      });
      var next = -1;
      for (var i = 0; i < stops.length; i++) { if (!reached[i]) { next = i; break; } }
      window.heritageTrail.reached = Object.keys(reached).map(Number);
      out.hidden = false;
      if (next < 0) { out.textContent = out.getAttribute("data-done"); return; }
      var p = stops[next].properties;
      var metres = Math.round(map.distance(latlng, markers[next].getLatLng()));
      out.textContent = fill(out.getAttribute("data-next"), {number: p.number, name: name(p), distance: metres});
      out.setAttribute("data-next-stop", p.slug);
      out.setAttribute("data-distance", metres);
    }

    function failed(error) {
      out.hidden = false;
      out.textContent = fill(out.getAttribute("data-error"), {reason: error.message || error.code});
    }

    button.addEventListener("click", function () {
      if (watch !== null) {
        navigator.geolocation.clearWatch(watch);
        watch = null;
        button.textContent = startLabel;
        return;
      }
      if (!navigator.geolocation) { failed({message: "no geolocation"}); return; }
      watch = navigator.geolocation.watchPosition(update, failed, {enableHighAccuracy: true, maximumAge: 5000});
      button.textContent = button.getAttribute("data-label-stop");
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
