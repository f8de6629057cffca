/* Taroudant Heritage Map: the explorer's view in the URL's hash (centre, zoom, open layers, filters), so that any
 * view can be shared and survives a reload, and the filter panel that changes it.
 * The hash reads "#map=15/30.4725/-8.8810&layers=heritage,ramparts&category=gate". */
(function () {
  "use strict";

  function parse(hash) {
    var out = {};
    (hash || "").replace(/^#/, "").split("&").forEach(function (part) {
      if (!part) return;
      var i = part.indexOf("=");
      var key = decodeURIComponent(i < 0 ? part : part.slice(0, i));
      out[key] = i < 0 ? "" : decodeURIComponent(part.slice(i + 1).replace(/\+/g, " "));
    });
    return out;
  }

  function start(map, groups, config) {
    var saved = parse(window.location.hash), filters = {}, placed = false, writing = false;
    config.filters.forEach(function (f) {
      var value = saved[f.name];
      if (value && f.options.some(function (o) { return o[0] === value; })) filters[f.name] = value;
    });
    var at = (saved.map || "").split("/").map(Number);
    if (at.length === 3 && at.every(isFinite) && at[0] >= 0 && at[0] <= 19 && Math.abs(at[1]) <= 90 &&
        Math.abs(at[2]) <= 180) {
      map.setView([at[1], at[2]], at[0], {animate: false});
      placed = true;
    }
    var open = saved.layers === undefined ? null : saved.layers.split(",");

    function write() {
      if (writing) return;
      var c = map.getCenter(), parts = ["map=" + map.getZoom() + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5)];
      var shown = Object.keys(groups).filter(function (k) { return map.hasLayer(groups[k].layer); });
      if (shown.length !== Object.keys(groups).length) parts.push("layers=" + shown.join(","));
      Object.keys(filters).sort().forEach(function (name) {
        if (filters[name]) parts.push(encodeURIComponent(name) + "=" + encodeURIComponent(filters[name]));
      });
      history.replaceState(null, "", "#" + parts.join("&"));
    }

    panel(map, config, filters, function (name, value) {
      if (value) filters[name] = value; else delete filters[name];
      write();
      window.HeritageMap.reload(filters);
    });

    return {
      filters: filters,
      placed: placed,
      ready: function () {
        if (open) {
          writing = true;
          Object.keys(groups).forEach(function (k) {
            if (open.indexOf(k) < 0) map.removeLayer(groups[k].layer);
          });
          writing = false;
        }
        map.on("moveend zoomend overlayadd overlayremove", write);
        write();
      }
    };
  }

  // The filter panel: one select a filter, each applying to the layers that declare it.
  function panel(map, config, filters, changed) {
    var Control = L.Control.extend({
      options: {position: "topright"},
      onAdd: function () {
        var box = L.DomUtil.create("details", "hm-filters leaflet-bar");
        var summary = L.DomUtil.create("summary", "", box);
        summary.textContent = config.strings.filters;
        config.filters.forEach(function (f) {
          var label = L.DomUtil.create("label", "hm-filter", box);
          label.appendChild(document.createTextNode(f.label + " "));
          var select = L.DomUtil.create("select", "", label);
          select.name = f.name;
          select.appendChild(new Option(config.strings.all, ""));
          f.options.forEach(function (o) { select.appendChild(new Option(o[1], o[0])); });
          select.value = filters[f.name] || "";
          select.addEventListener("change", function () { changed(f.name, select.value); });
        });
        if (Object.keys(filters).length) box.open = true;
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      }
    });
    new Control().addTo(map);
  }

  window.HeritageView = {start: start, parse: parse};
})();
