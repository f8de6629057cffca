/* Taroudant Heritage Map: the editing pages. The record form's map (Leaflet.draw, vendored for the planner) keeps
 * the drawn footprint in the form's hidden "geometry" field as GeoJSON; a chosen file is checked by the server
 * (POST with the CSRF token in X-CSRFToken) and drawn; sites are found by name as one types. The review page
 * draws the old and new geometry. Whatever comes from data is put in the page as text nodes, never as HTML. */
(function () {
  "use strict";

  var state = {ready: false, errors: []};
  window.heritageEditor = state;

  function $(id) { return document.getElementById(id); }

  function csrfToken() {
    var input = document.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  function baseMap(node) {
    var map = L.map(node, {center: [30.4725, -8.8810], zoom: 15, maxZoom: 19});
    var url = node.getAttribute("data-tile-url");
    if (url && url.toLowerCase() !== "none") {
      // The attribution is the operator's setting (HTML by design), not data people type.
      L.tileLayer(url, {maxZoom: 19, attribution: node.getAttribute("data-tile-attribution") || ""}).addTo(map);
    }
    L.control.scale().addTo(map);
    return map;
  }

  function fit(map, group) {
    var bounds = group.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, {maxZoom: 17, padding: [20, 20], animate: false});
  }

  // ---- the record form ----

  function addGeoJSON(group, geometry, style) {
    L.geoJSON(geometry, {style: function () { return style || {}; }}).eachLayer(function (layer) {
      // Multi-part geometries become one layer per part, each editable on its own.
      if (layer.feature && /^Multi/.test(layer.feature.geometry.type)) {
        var type = layer.feature.geometry.type.slice(5);
        layer.feature.geometry.coordinates.forEach(function (coords) {
          L.geoJSON({type: type, coordinates: coords}).eachLayer(function (part) { group.addLayer(part); });
        });
      } else {
        group.addLayer(layer);
      }
    });
  }

  function writeGeometry(field, drawn) {
    var features = drawn.getLayers().map(function (layer) { return layer.toGeoJSON(); });
    field.value = features.length ? JSON.stringify({type: "FeatureCollection", features: features}) : "";
    state.parts = features.length;
  }

  function showMessage(text) {
    var box = $("geometry-message");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  }

  function initForm(node) {
    var field = $("geometry");
    var map = baseMap(node);
    var drawn = new L.FeatureGroup().addTo(map);
    if (field.value) {
      try { addGeoJSON(drawn, JSON.parse(field.value)); fit(map, drawn); } catch (e) { showMessage(String(e)); }
    }
    map.addControl(new L.Control.Draw({
      position: "topleft",
      draw: {polygon: {allowIntersection: false, showArea: false}, polyline: {}, rectangle: {showArea: false},
             marker: true, circle: false, circlemarker: false},
      edit: {featureGroup: drawn, poly: {allowIntersection: false}}
    }));
    map.on(L.Draw.Event.CREATED, function (e) { drawn.addLayer(e.layer); writeGeometry(field, drawn); });
    map.on(L.Draw.Event.EDITED, function () { writeGeometry(field, drawn); });
    map.on(L.Draw.Event.DELETED, function () { writeGeometry(field, drawn); });
    var file = $("footprint_file");
    if (file) file.addEventListener("change", function () {
      if (!file.files.length) return;
      var body = new FormData();
      body.append("file", file.files[0], file.files[0].name);
      showMessage("");
      fetch(node.getAttribute("data-check-url"), {method: "POST", body: body, credentials: "same-origin",
                                                   headers: {"X-CSRFToken": csrfToken(), Accept: "application/json"}})
        .then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
        .then(function (answer) {
          if (!answer.ok) { showMessage(answer.data.description || "the file could not be read"); return; }
          drawn.clearLayers();
          addGeoJSON(drawn, answer.data.geometry);
          writeGeometry(field, drawn);
          fit(map, drawn);
          file.value = "";  // the hidden field now holds the file's shape
          if (answer.data.notice) showMessage(answer.data.notice);
        })
        .catch(function (err) { showMessage(String(err)); });
    });
    state.map = map;
    state.drawn = drawn;
  }

  // ---- linked sites, found as one types ----

  function siteName(site) { return site.name_en || site.name_fr || site.name_ar || site.slug; }

  function choose(chosen, site) {
    if (chosen.querySelector('li[data-id="' + site.id + '"]')) return;
    var item = document.createElement("li");
    item.setAttribute("data-id", site.id);
    var input = document.createElement("input");
    input.type = "hidden"; input.name = "sites"; input.value = site.id;
    var label = document.createElement("span");
    label.textContent = siteName(site);
    var remove = document.createElement("button");
    remove.type = "button"; remove.className = "remove"; remove.textContent = "\u00d7";
    remove.setAttribute("aria-label", "Remove");
    item.appendChild(input); item.appendChild(label); item.appendChild(document.createTextNode(" "));
    item.appendChild(remove);
    chosen.appendChild(item);
  }

  function initPicker(node) {
    var input = $("site-search"), results = $("site-results"), chosen = $("site-chosen");
    var timer = null, asked = 0;
    chosen.addEventListener("click", function (e) {
      if (e.target.classList.contains("remove")) e.target.closest("li").remove();
    });
    input.addEventListener("keydown", function (e) { if (e.key === "Enter") e.preventDefault(); });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim(), mine = ++asked;
        while (results.firstChild) results.removeChild(results.firstChild);
        if (!q) return;
        var association = node.getAttribute("data-association") || ($("association") || {}).value || "";
        fetch(node.getAttribute("data-search-url") + "?q=" + encodeURIComponent(q) + "&association=" +
              encodeURIComponent(association), {credentials: "same-origin", headers: {Accept: "application/json"}})
          .then(function (r) { return r.json(); })
          .then(function (sites) {
            if (mine !== asked) return;
            sites.forEach(function (site) {
              var item = document.createElement("li");
              var button = document.createElement("button");
              button.type = "button"; button.setAttribute("data-slug", site.slug);
              button.textContent = siteName(site) + (site.publication_status !== "published" ?
                                                     " (" + site.publication_status.replace("_", " ") + ")" : "");
              button.addEventListener("click", function () {
                choose(chosen, site);
                while (results.firstChild) results.removeChild(results.firstChild);
                input.value = "";
              });
              item.appendChild(button);
              results.appendChild(item);
            });
          });
      }, 200);
    });
  }

  // ---- the review page ----

  function initReview(node) {
    var map = baseMap(node);
    var data = JSON.parse($("review-geometries").textContent);
    var all = new L.FeatureGroup().addTo(map);
    if (data.old) addGeoJSON(all, data.old, {color: "#777", dashArray: "4 4", weight: 3});
    if (data["new"]) addGeoJSON(all, data["new"], {color: "#5b3c88", weight: 3});
    fit(map, all);
    state.map = map;
    state.shapes = all.getLayers().length;
  }

  function init() {
    try {
      if ($("editor-map")) initForm($("editor-map"));
      if ($("site-picker")) initPicker($("site-picker"));
      if ($("review-map")) initReview($("review-map"));
    } catch (err) {
      state.errors.push(String(err));
      throw err;
    }
    state.ready = true;
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
