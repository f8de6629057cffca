/* Taroudant Heritage Map: the planner's page. A footprint is drawn (Leaflet.draw) or uploaded, a question is
 * asked of the /api routes with fetch(), and the answer is drawn on a results layer and laid out in a table.
 * Everything that comes from data or from the server is put in the page as DOM text nodes (textContent),
 * never as HTML. */
(function () {
  "use strict";

  var COLOURS = {touched: "#c0392b", near: "#e08e0b", inside: "#1f5f8b", partly: "#5fa8d3",
                 point: "#5b3c88", footprint: "#d4007a", zone: "#777777"};
  // Titles and column headings are keys of the texts the server sends in the page's language (config.strings).
  var QUESTIONS = {
    screening: {title: "screening", columns: [
      ["name"], ["category"], ["protection"], ["condition"], ["distance", "num"], ["buffer", "num"],
      ["zoneTouched"], ["overlap", "num"]]},
    within: {title: "within", columns: [["name"], ["category"], ["protection"], ["condition"], ["inside"]]},
    near: {title: "near", columns: [["name"], ["category"], ["protection"], ["condition"], ["distance", "num"]]},
    summary: {title: "summary", columns: []}
  };


  var P = null;  // the page: map, layer groups, elements, footprint
  var state = {ready: false, busy: false, runs: 0, question: null, count: 0, drawn: 0, errors: []};
  window.heritagePlanner = state;

  // map.js (loaded first) owns the one text-node element builder and the one way to name a record.
  var el = window.HeritageMap.text;
  var title = window.HeritageMap.title;

  function t(key, values) {
    var strings = (P && P.config.strings) || {};
    return window.HeritageMap.fill(strings[key] || key, values || {});
  }

  function empty(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function $(id) { return document.getElementById(id); }

  // A vocabulary value as people read it in the page's language (the server sends the labels), else its words.
  function words(value, labels) {
    if (value === null || value === undefined || value === "") return "\u2014";
    return (labels || {})[value] || String(value).replace(/_/g, " ");
  }

  // Numbers as the page's language writes them (ar-MA: 12.345,6; fr-MA: 12 345,6).
  function metres(value, digits) {
    if (value === null || value === undefined || value === "") return "\u2014";
    return Number(value).toLocaleString(P.config.locale || "en",
                                        {maximumFractionDigits: digits === undefined ? 1 : digits});
  }

  function count(n) {
    return metres(n, 0);
  }

  function area(m2) {
    return m2 >= 10000 ? metres(m2 / 10000, 2) + " " + t("ha") : metres(m2, 0) + " " + t("m2");
  }

  function category(p) {
    if (p.category) return P.config.categories[p.category] || words(p.category);
    if (p.status) return t("project", {status: words(p.status, P.config.statuses)});
    return t("association");
  }

  // ---- messages ----

  function showMessage(text, code) {
    var box = P.el.message;
    empty(box);
    if (code) box.appendChild(el("strong", "planner-message-code", code));
    box.appendChild(el("span", "planner-message-text", text));
    box.hidden = false;
    state.errors.push((code ? code + ": " : "") + text);
    document.documentElement.setAttribute("data-planner-state", "error");
  }

  function hideMessage() {
    empty(P.el.message);
    P.el.message.hidden = true;
  }

  function status(text) {
    P.el.status.textContent = text || "";
  }

  function ApiError(status, code, description) {
    this.status = status;
    this.code = code;
    this.message = description;
  }

  function failure(response) {
    return response.text().then(function (body) {
      var info = null;
      try { info = JSON.parse(body); } catch (e) { info = null; }
      var description = info && info.description ? info.description : t("httpError", {status: response.status});
      throw new ApiError(response.status, (info && info.code) || "HTTP " + response.status, description);
    });
  }

  function report(err) {
    if (err instanceof ApiError) showMessage(err.message, err.code);
    else showMessage(String(err && err.message ? err.message : err));
  }

  // ---- the footprint ----

  function question() {
    var chosen = P.el.form.querySelector('input[name="question"]:checked');
    return chosen ? chosen.value : "screening";
  }

  function drawnLayer() {
    var layers = P.drawn.getLayers();
    return layers.length ? layers[layers.length - 1] : null;
  }

  function drawnGeometry() {
    var layer = drawnLayer();
    return layer ? layer.toGeoJSON().geometry : null;
  }

  function describeFootprint() {
    var text = t("noFootprint");
    if (P.file) {
      text = t("file", {name: P.file.name});
      if (P.fileArea !== null) text += " (" + area(P.fileArea) + ")";
    } else {
      var geometry = drawnGeometry();
      var shapes = {Polygon: t("polygon"), LineString: t("line"), Point: t("pointShape")};
      if (geometry) text = t("drawn", {shape: shapes[geometry.type] || geometry.type});
    }
    if (P.point && question() === "near") {
      text += " " + t("point", {lon: P.point.lng.toFixed(5), lat: P.point.lat.toFixed(5)});
    }
    P.el.footprint.textContent = text;
  }

  function clearFile() {
    P.file = null;
    P.fileFootprint = null;
    P.fileArea = null;
    P.el.file.value = "";
    P.fileLayer.clearLayers();
  }

  function setPoint(latlng) {
    P.point = latlng;
    P.pointLayer.clearLayers();
    P.pointLayer.addLayer(L.circleMarker(latlng, {radius: 7, color: "#fff", weight: 2, fillColor: COLOURS.point,
                                                  fillOpacity: 1, pane: "plannerResults"}));
    describeFootprint();
  }

  function nearPoint() {
    var layer = drawnLayer();
    if (layer && layer.getLatLng && !P.point) return layer.getLatLng();
    return P.point;
  }

  // A chosen file is sent once as a screening at 0 m: the answer's footprint shows the file on the map,
  // and a file the server cannot read is reported at once.
  function previewFile(file) {
    var body = new FormData();
    body.append("file", file, file.name);
    body.append("distance", "0");
    status(t("reading", {name: file.name}));
    fetch(P.urls.screeningUrl, {method: "POST", body: body, headers: {Accept: "application/geo+json"}})
      .then(function (r) { return r.ok ? r.json() : failure(r); })
      .then(function (data) {
        if (P.file !== file) return;
        P.fileFootprint = data.footprint;
        P.fileArea = data.footprint_area_m2;
        P.fileLayer.clearLayers();
        var shape = L.geoJSON(data.footprint, {
          pane: "plannerResults",
          style: function () { return {color: COLOURS.footprint, weight: 3, fillOpacity: 0.12}; },
          pointToLayer: function (f, latlng) {
            return L.circleMarker(latlng, {radius: 7, color: COLOURS.footprint, weight: 3, fillOpacity: 0.3,
                                           pane: "plannerResults"});
          }
        });
        P.fileLayer.addLayer(shape);
        fit([P.fileLayer]);
        describeFootprint();
        status("");
      })
      .catch(function (err) {
        if (P.file !== file) return;
        status("");
        report(err);
      });
  }

  // ---- asking the API ----

  function queryString(params) {
    return Object.keys(params).filter(function (k) { return params[k] !== undefined; }).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
    }).join("&");
  }

  function buildRequest(q) {
    var layer = P.el.layer.value;
    if (q === "near") {
      var point = nearPoint();
      if (!point) throw new Error(t("choosePoint"));
      return {question: q, method: "GET", url: P.urls.nearUrl,
              query: {lon: point.lng.toFixed(7), lat: point.lat.toFixed(7), radius: P.el.radius.value, layer: layer}};
    }
    var url = {screening: P.urls.screeningUrl, within: P.urls.withinUrl, summary: P.urls.summaryUrl}[q];
    var fields = {};
    if (q === "screening") fields.distance = P.el.distance.value;
    if (q === "within") fields.layer = layer;
    if (P.file) {
      var form = new FormData();
      form.append("file", P.file, P.file.name);
      Object.keys(fields).forEach(function (k) { form.append(k, fields[k]); });
      return {question: q, method: "POST", url: url, query: {}, body: form};
    }
    var geometry = drawnGeometry();
    if (!geometry) throw new Error(t("drawFirst"));
    fields.geometry = geometry;
    return {question: q, method: "POST", url: url, query: {}, body: JSON.stringify(fields),
            headers: {"Content-Type": "application/json"}};
  }

  function send(request, extra) {
    var query = queryString(Object.assign({}, request.query, extra || {}));
    var headers = Object.assign({Accept: "application/geo+json, application/json"}, request.headers || {});
    return fetch(request.url + (query ? "?" + query : ""), {method: request.method, body: request.body,
                                                            headers: headers});
  }

  function run() {
    if (state.busy) return;
    hideMessage();
    var q = question();
    var request;
    try {
      request = buildRequest(q);
    } catch (err) {
      report(err);
      return;
    }
    state.busy = true;
    P.el.run.disabled = true;
    document.documentElement.setAttribute("data-planner-state", "running");
    status(t("asking"));
    send(request)
      .then(function (r) { return r.ok ? r.json() : failure(r); })
      .then(function (data) {
        P.last = {request: request, data: data};
        show(q, data);
        state.runs += 1;
        status("");
        document.documentElement.setAttribute("data-planner-state", "done");
      })
      .catch(function (err) { status(""); report(err); })
      .then(function () {
        state.busy = false;
        P.el.run.disabled = false;
      });
  }

  function download(format) {
    if (!P.last || P.last.request.question === "summary") return;
    hideMessage();
    var crs = P.el.crs.value;
    status(t("preparing", {format: format}));
    send(P.last.request, {format: format, crs: crs})
      .then(function (r) {
        if (!r.ok) return failure(r);
        var match = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "");
        var name = match ? match[1] : "result." + format;
        if (crs !== "CRS84") name = name.replace(/^([^.]+)/, "$1-" + crs.replace(/\W+/g, ""));
        return r.blob().then(function (blob) { save(blob, name); status(""); });
      })
      .catch(function (err) { status(""); report(err); });
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var link = el("a", null, null, {href: url, download: name});
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    state.lastDownload = name;
  }

  // The printable report is an ordinary form POST of the footprint's GeoJSON into a new tab.
  function printable() {
    hideMessage();
    var geometry = P.file ? P.fileFootprint : drawnGeometry();
    if (!geometry) {
      report(new Error(P.file ? t("stillReading") : t("drawFirst")));
      return;
    }
    var form = el("form", null, null, {method: "post", action: P.urls.reportUrl, target: "_blank"});
    form.hidden = true;
    form.appendChild(el("input", null, null, {type: "hidden", name: "geometry"}));
    form.appendChild(el("input", null, null, {type: "hidden", name: "distance"}));
    form.elements.geometry.value = JSON.stringify(geometry);
    form.elements.distance.value = P.el.distance.value || "200";
    document.body.appendChild(form);
    form.submit();
    form.remove();
  }

  // ---- showing the answer ----

  function show(q, data) {
    P.results.clearLayers();
    empty(P.el.summary);
    P.el.summary.hidden = false;
    if (q === "summary") {
      showSummary(data);
      P.el.downloads.hidden = true;
      P.el.resultsBox.hidden = true;
      state.question = q;
      state.count = data.total;
      state.drawn = 0;
      return;
    }
    state.question = q;
    state.count = data.features.length;
    state.drawn = drawResults(q, data);
    showCounts(q, data);
    showTable(q, data);
    P.el.downloads.hidden = false;
    P.el.resultsBox.hidden = false;
  }

  function styleFor(q, p) {
    if (q === "screening") return p.zone_touched ? COLOURS.touched : COLOURS.near;
    if (q === "within") return p.inside ? COLOURS.inside : COLOURS.partly;
    return COLOURS.point;
  }

  function tooltip(q, p) {
    var box = el("div", "planner-tip");
    box.appendChild(el("strong", null, title(p)));
    if (q === "screening") {
      box.appendChild(el("div", null, p.zone_touched ? t("touched") : t("withinDistance")));
    }
    if (p.distance_m !== undefined) box.appendChild(el("div", null, t("away", {distance: metres(p.distance_m)})));
    if (q === "within") box.appendChild(el("div", null, p.inside ? t("wholly") : t("partly")));
    return box;
  }

  // The view fits the footprint and what was found near it; a long line found (the ramparts, the river) is
  // drawn whole but does not pull the view away from the footprint.
  function drawResults(q, data) {
    var drawn = 0;
    var focus = L.latLngBounds([]);
    data.features.forEach(function (feature) {
      if (!feature.geometry) return;
      var p = feature.properties;
      var colour = styleFor(q, p);
      var touched = q === "screening" && p.zone_touched;
      var layer = L.geoJSON(feature, {
        pane: "plannerResults",
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, {radius: touched ? 11 : 9, color: "#fff", weight: 3, fillColor: colour,
                                         fillOpacity: 0.95, pane: "plannerResults"});
        },
        style: function () {
          return {color: colour, weight: touched ? 7 : 5, opacity: 0.9, fillColor: colour, fillOpacity: 0.25,
                  dashArray: q === "within" && !p.inside ? "6 6" : null};
        }
      });
      layer.bindTooltip(tooltip(q, p));
      P.results.addLayer(layer);
      drawn += 1;
      var isPoint = feature.geometry.type === "Point";
      if (isPoint || q !== "screening") focus.extend(layer.getBounds());
      // The protection zone around a point site: filled where the footprint touches it, outlined otherwise.
      if (q === "screening" && p.buffer_m > 0 && isPoint) {
        var c = feature.geometry.coordinates;
        var zone = L.circle([c[1], c[0]], {radius: p.buffer_m, interactive: false,
          color: touched ? COLOURS.touched : COLOURS.zone, weight: touched ? 2 : 1, dashArray: touched ? null : "4 4",
          fill: touched, fillColor: COLOURS.touched, fillOpacity: 0.1});
        P.results.addLayer(zone);
        focus.extend(zone.getBounds());
      }
    });
    if (q === "near" && P.last) {
      var point = P.last.request.query;
      var circle = L.circle([Number(point.lat), Number(point.lon)], {
        radius: Number(point.radius || 200), interactive: false, color: COLOURS.point, weight: 1.5,
        dashArray: "4 4", fill: false});
      P.results.addLayer(circle);
      focus.extend(circle.getBounds());
    }
    fit([P.drawn, P.fileLayer], focus.isValid() ? focus : P.results.getBounds());
    return drawn;
  }

  function fit(groups, more) {
    var bounds = L.latLngBounds([]);
    groups.forEach(function (g) {
      if (g.getLayers().length) {
        var b = g.getBounds();
        if (b.isValid()) bounds.extend(b);
      }
    });
    if (more && more.isValid()) bounds.extend(more);
    if (bounds.isValid()) P.map.fitBounds(bounds, {maxZoom: 17, padding: [30, 30], animate: false});
  }

  function fact(list, term, value) {
    list.appendChild(el("dt", null, term));
    list.appendChild(el("dd", null, value));
  }

  function showCounts(q, data) {
    var box = P.el.summary;
    box.appendChild(el("h2", null, t(QUESTIONS[q].title)));
    var list = el("dl", "planner-facts");
    if (q === "screening") {
      var touched = data.features.filter(function (f) { return f.properties.zone_touched; }).length;
      var within = data.features.filter(function (f) { return f.properties.distance_m <= data.distance_m; }).length;
      fact(list, t("footprint"), area(data.footprint_area_m2));
      fact(list, t("zonesTouched"), count(touched));
      fact(list, t("sitesWithin", {distance: metres(data.distance_m, 0)}), count(within));
    } else if (q === "within") {
      var inside = data.features.filter(function (f) { return f.properties.inside; }).length;
      fact(list, t("meeting"), count(data.features.length));
      fact(list, t("wholly"), count(inside));
    } else {
      fact(list, t("recordsWithin", {distance: metres(P.last.request.query.radius || 200, 0)}),
           count(data.features.length));
    }
    box.appendChild(list);
  }

  function showSummary(data) {
    var box = P.el.summary;
    box.appendChild(el("h2", null, t(QUESTIONS.summary.title)));
    var list = el("dl", "planner-facts");
    fact(list, t("area"), area(data.area_m2));
    fact(list, t("sites"), count(data.total));
    box.appendChild(list);
    var labels = {category: P.config.categories, condition: P.config.conditions,
                  protection_status: P.config.protections, kind: P.config.kinds};
    [["category", t("byCategory")], ["condition", t("byCondition")], ["protection_status", t("byProtection")],
     ["kind", t("byKind")]].forEach(function (part) {
      var counts = data[part[0]] || {};
      var keys = Object.keys(counts);
      if (!keys.length) return;
      var table = el("table", "records planner-counts", null, {"data-count": part[0]});
      table.appendChild(el("caption", null, part[1]));
      var body = el("tbody");
      keys.forEach(function (k) {
        var row = el("tr");
        row.appendChild(el("td", null, words(k, labels[part[0]])));
        row.appendChild(el("td", "num", count(counts[k])));
        body.appendChild(row);
      });
      table.appendChild(body);
      box.appendChild(table);
    });
  }

  function nameCell(p) {
    var cell = el("td", "planner-name");
    var name = title(p);
    if (typeof p.url === "string" && p.url.charAt(0) === "/") {
      cell.appendChild(el("a", null, name, {href: p.url}));
    } else {
      cell.appendChild(el("span", null, name));
    }
    ["ar", "fr", "en"].forEach(function (code) {
      var other = p["name_" + code] || p["title_" + code];
      if (other && other !== name) {
        cell.appendChild(el("span", "planner-alt", other, {lang: code, dir: code === "ar" ? "rtl" : "ltr"}));
      }
    });
    if (p.sample) cell.appendChild(el("span", "sample-tag", t("example")));
    return cell;
  }

  function showTable(q, data) {
    var table = P.el.table;
    var head = table.tHead, body = table.tBodies[0];
    empty(head);
    empty(body);
    var n = data.features.length;
    P.el.resultsTitle.textContent = n === 1 ? t("oneResult", {title: t(QUESTIONS[q].title)})
      : t("results", {title: t(QUESTIONS[q].title), count: count(n)});
    var row = el("tr");
    QUESTIONS[q].columns.forEach(function (c) { row.appendChild(el("th", c[1] || null, t(c[0]), {scope: "col"})); });
    head.appendChild(row);
    if (!data.features.length) {
      var none = el("tr");
      none.appendChild(el("td", "planner-none", t("nothing"), {colspan: String(QUESTIONS[q].columns.length)}));
      body.appendChild(none);
      return;
    }
    data.features.forEach(function (f) {
      var p = f.properties;
      var tr = el("tr", q === "screening" ? (p.zone_touched ? "touched" : "near") : null, null,
                  {"data-slug": p.slug});
      tr.appendChild(nameCell(p));
      tr.appendChild(el("td", null, category(p)));
      tr.appendChild(el("td", null, words(p.protection_status, P.config.protections)));
      tr.appendChild(el("td", null, words(p.condition, P.config.conditions)));
      if (q === "screening") {
        tr.appendChild(el("td", "num", metres(p.distance_m)));
        tr.appendChild(el("td", "num", metres(p.buffer_m, 0)));
        tr.appendChild(el("td", "planner-zone", p.zone_touched ? t("zoneYes") : t("zoneNo")));
        tr.appendChild(el("td", "num", metres(p.overlap_m2, 0)));
      } else if (q === "within") {
        tr.appendChild(el("td", null, p.inside ? t("whollyShort") : t("partlyShort")));
      } else {
        tr.appendChild(el("td", "num", metres(p.distance_m)));
      }
      body.appendChild(tr);
    });
  }

  // ---- set-up ----

  function showOptions() {
    var q = question();
    Array.prototype.forEach.call(document.querySelectorAll(".planner-option"), function (box) {
      box.hidden = box.getAttribute("data-for").split(" ").indexOf(q) < 0;
    });
    P.map.getContainer().classList.toggle("planner-picking", q === "near");
    describeFootprint();
  }

  // Leaflet.draw's texts: its tooltips are read from L.drawLocal as a tool starts; its buttons were made already.
  function translateDrawing(strings) {
    if (!strings.drawPolygon || !window.L || !L.drawLocal) return;
    var handlers = L.drawLocal.draw.handlers;
    handlers.polygon.tooltip = {start: strings.startShape, cont: strings.continueShape, end: strings.finishShape};
    handlers.polyline.tooltip = {start: strings.startLine, cont: strings.continueLine, end: strings.finishLine};
    handlers.marker.tooltip = {start: strings.placeMarker};
    handlers.rectangle.tooltip = {start: strings.rectangle};
    handlers.simpleshape.tooltip = {end: strings.finishLine};
    [["polygon", strings.drawPolygon], ["polyline", strings.drawLine], ["rectangle", strings.drawRectangle],
     ["marker", strings.drawMarker]].forEach(function (pair) {
      L.drawLocal.draw.toolbar.buttons[pair[0]] = pair[1];
      Array.prototype.forEach.call(document.querySelectorAll(".leaflet-draw-draw-" + pair[0]), function (a) {
        a.title = pair[1];
      });
    });
    [["edit", strings.editLayers], ["remove", strings.deleteLayers]].forEach(function (pair) {
      Array.prototype.forEach.call(document.querySelectorAll(".leaflet-draw-edit-" + pair[0]), function (a) {
        a.title = pair[1];
      });
    });
  }

  function init(map, groups, config) {
    var root = $("planner");
    P = {
      map: map, drawn: groups.drawn, results: groups.results, config: config || {categories: {}},
      urls: root.dataset, file: null, fileFootprint: null, fileArea: null, point: null, last: null,
      drawing: false,
      el: {form: $("planner-form"), file: $("planner-file"), footprint: $("planner-footprint"),
           clear: $("planner-clear"), distance: $("planner-distance"), radius: $("planner-radius"),
           layer: $("planner-layer"), run: $("planner-run"), message: $("planner-message"),
           status: $("planner-status"), summary: $("planner-summary"), downloads: $("planner-downloads"),
           crs: $("planner-crs"), report: $("planner-report"), resultsBox: $("planner-results"),
           resultsTitle: $("planner-results-title"), table: $("planner-table")}
    };
    translateDrawing(P.config.strings || {});
    // Results above the markers of the context layers, below tooltips and popups.
    map.createPane("plannerResults").style.zIndex = 620;
    P.fileLayer = L.featureGroup().addTo(map);
    P.pointLayer = L.featureGroup().addTo(map);
    state.results = P.results;

    map.on("draw:drawstart", function () { P.drawing = true; });
    map.on("draw:drawstop", function () { P.drawing = false; });
    map.on("draw:created", function (e) {
      // One footprint at a time: the newest drawing replaces the old one and any uploaded file.
      P.drawn.clearLayers();
      P.drawn.addLayer(e.layer);
      clearFile();
      if (e.layerType === "marker") {
        P.point = null;
        P.pointLayer.clearLayers();
      }
      hideMessage();
      describeFootprint();
    });
    map.on("draw:edited draw:deleted", describeFootprint);
    map.on("click", function (e) {
      if (question() === "near" && !P.drawing) setPoint(e.latlng);
    });

    P.el.file.addEventListener("change", function () {
      var file = P.el.file.files[0];
      hideMessage();
      P.fileLayer.clearLayers();
      P.fileFootprint = null;
      P.fileArea = null;
      P.file = file || null;
      if (file) {
        P.drawn.clearLayers();
        previewFile(file);
      }
      describeFootprint();
    });
    P.el.clear.addEventListener("click", function () {
      P.drawn.clearLayers();
      clearFile();
      P.point = null;
      P.pointLayer.clearLayers();
      P.results.clearLayers();
      hideMessage();
      describeFootprint();
    });
    Array.prototype.forEach.call(P.el.form.querySelectorAll('input[name="question"]'), function (input) {
      input.addEventListener("change", showOptions);
    });
    P.el.form.addEventListener("submit", function (e) {
      e.preventDefault();
      run();
    });
    Array.prototype.forEach.call(P.el.downloads.querySelectorAll("button[data-format]"), function (button) {
      button.addEventListener("click", function () { download(button.getAttribute("data-format")); });
    });
    P.el.report.addEventListener("click", printable);
    showOptions();
    state.ready = true;
    document.documentElement.setAttribute("data-planner-state", "idle");
  }

  window.HeritagePlanner = {init: init};
})();
