/* Taroudant Heritage Map: fills the Folium map's layers from GeoJSON, or from vector tiles (tiles.js) where
 * a layer is large. Popups are built with DOM nodes and textContent, never innerHTML, so text from
 * data files cannot inject markup. */
(function () {
  "use strict";

  function text(tag, className, value, attrs) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (value !== undefined && value !== null) el.textContent = String(value);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }

  // The order to look for a record's text in, given to load() by the server (heritage_map/i18n.py), so that
  // the order is written down in one place only; the interface's texts in its language come with it.
  var languages = [];
  var strings = {};

  function localizedIn(p, field) {
    for (var i = 0; i < languages.length; i++) {
      var value = p[field + "_" + languages[i]];
      if (value) return {text: value, lang: languages[i]};
    }
    return {text: "", lang: null};
  }

  function localized(p, field) {
    return localizedIn(p, field).text;
  }

  function title(p) {
    return localized(p, "name") || localized(p, "title") || p.slug;
  }

  // "Project (%(status)s)" and the like: the server's translated text with its values put in.
  function fill(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (_m, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function say(key, fallback, values) {
    return fill(strings[key] || fallback, values || {});
  }

  function shorten(s, n) {
    if (!s) return "";
    return s.length > n ? s.slice(0, n - 1).replace(/\s+\S*$/, "") + "\u2026" : s;
  }

  // lang and dir on text that is not in the interface language, so that it is read and laid out as written.
  function marked(tag, className, found) {
    var attrs = {};
    if (found.lang && found.lang !== languages[0]) {
      attrs.lang = found.lang;
      attrs.dir = found.lang === "ar" ? "rtl" : "ltr";
    }
    return text(tag, className, found.text, attrs);
  }

  function popup(p, layerKey, config) {
    var box = text("div", "hm-popup");
    if (config.dir) box.setAttribute("dir", config.dir);
    if (p.sample) box.appendChild(text("div", "hm-sample", say("sample", "Example \u2014 invented demo data")));
    var name = localizedIn(p, "name");
    if (!name.text) name = localizedIn(p, "title");
    if (!name.text) name = {text: p.slug, lang: null};
    box.appendChild(marked("h3", "hm-title", name));
    // The record's names in the other languages, and in Tamazight (Tifinagh) where it has one.
    ["ar", "fr", "en"].forEach(function (code) {
      var other = p["name_" + code] || p["title_" + code];
      if (other && code !== name.lang && other !== name.text) {
        box.appendChild(text("div", "hm-" + code, other, {lang: code, dir: code === "ar" ? "rtl" : "ltr"}));
      }
    });
    if (p.name_zgh) {
      var tifinagh = /[\u2d30-\u2d7f]/.test(p.name_zgh);
      box.appendChild(text("div", "hm-zgh", p.name_zgh, {lang: tifinagh ? "zgh" : "zgh-Latn", dir: "ltr"}));
    }
    var cat = config.categories[p.category];
    var label = cat ? (cat.label || cat.en) : layerKey === "projects"
      ? say("project", "Project (%(status)s)", {status: (config.statuses || {})[p.status] || p.status})
      : say("association", "Association");
    box.appendChild(text("div", "hm-category", label));
    var desc = localizedIn(p, "description");
    if (desc.text) {
      box.appendChild(marked("p", "hm-desc", {text: shorten(desc.text, 220), lang: desc.lang}));
      if (desc.lang !== languages[0] && strings.fallback) {
        var names = strings.languageNames || {};
        box.appendChild(text("div", "hm-fallback", say("fallback", "", {language: names[languages[0]],
                                                                           original: names[desc.lang]})));
      }
    }
    if (p.coord_confidence) {
      var levels = strings.levels || {};
      var conf = p.coord_confidence === "estimated" ? say("estimated", "Estimated position, not surveyed")
        : say("confidence", "Position confidence: %(level)s", {level: levels[p.coord_confidence] || p.coord_confidence});
      box.appendChild(text("div", "hm-confidence", conf));
    }
    var link = text("a", "hm-link", say("more", "Read more \u2192"), {href: p.url});
    box.appendChild(link);
    return box;
  }

  // The record's first public photo, asked for when its popup opens (the layers' GeoJSON carries none, so
  // the map's hot path stays as it is). Alt text goes in through the attribute, never parsed as HTML.
  function addPhoto(box, source, p, config, done) {
    if (!config.photos || (source !== "sites" && source !== "projects") || !p.slug) return;
    var url = config.photos + "?layer=" + encodeURIComponent(source) + "&slug=" + encodeURIComponent(p.slug);
    fetch(url, {headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {photos: []}; })
      .then(function (data) {
        var photo = (data.photos || [])[0];
        if (!photo || !/^\/[^\/]/.test(photo.thumbnail)) return;
        var img = text("img", "hm-photo", null, {src: photo.thumbnail, alt: localized(photo, "alt"),
                                                  width: "240", loading: "lazy"});
        img.addEventListener("load", done);
        box.insertBefore(img, box.querySelector(".hm-link"));
      })
      .catch(function () { /* a popup without its photo is still a popup */ });
  }

  // The map layer of a feature: the last view of its API layer that it matches (the layer registry's
  // rule, sent as config.sorting), else the layer named like its source (a report's footprint).
  function layerOf(feature, source, config) {
    var p = feature.properties, key = source;
    ((config.sorting || {})[source] || []).forEach(function (entry) {
      var match = entry[1];
      if (Object.keys(match).every(function (name) { return p[name] === match[name]; })) key = entry[0];
    });
    return key;
  }

  function markerFor(feature, latlng, key, config) {
    var p = feature.properties;
    var cat = config.categories[p.category];
    if (cat) {
      return L.marker(latlng, {
        icon: L.AwesomeMarkers.icon({icon: cat.icon, prefix: "fa", markerColor: cat.color, iconColor: "white"}),
        title: title(p),
        alt: title(p)
      });
    }
    return L.circleMarker(latlng, {radius: 8, color: "#fff", weight: 2, fillOpacity: 0.9,
                                   fillColor: config.colours[key], dashArray: p.sample ? "3 3" : null});
  }

  // Every record drawn, by its API layer and slug ("sites:bab-el-khemis"), for the search box to find.
  var drawn = {};

  // `keep`: the one map layer wanted from this collection (a view of a large layer), or every layer.
  function add(map, groups, source, collection, config, counts, keep) {
    collection.features.forEach(function (feature) {
      if (!feature.geometry) return;
      var key = layerOf(feature, source, config);
      var group = groups[key];
      if (!group || (keep && key !== keep)) return;
      var isPoint = feature.geometry.type === "Point";
      var layer = L.geoJSON(feature, {
        pointToLayer: function (f, latlng) { return markerFor(f, latlng, key, config); },
        style: function (f) {
          // Circle markers are styled in markerFor; this is for lines and areas only.
          if (f.geometry.type === "Point") return {};
          return {color: config.colours[key], weight: key === "ramparts" ? 5 : 3, opacity: 0.9,
                  fillOpacity: 0.15, dashArray: feature.properties.sample ? "6 6" : null};
        }
      });
      listed.push({p: feature.properties, key: key, layer: layer});
      layer.eachLayer(function (l) {
        if (config.popups !== false) {
          l.bindPopup(function () {
            var box = popup(feature.properties, key, config);
            // Once the photo is in, the built box becomes the popup's content (update() alone would call
            // this function again, build a new box and fetch again).
            addPhoto(box, source, feature.properties, config, function () { l.getPopup().setContent(box); });
            return box;
          }, {maxWidth: 300});
        }
      });
      var holder = (isPoint && group.cluster) || group.layer;
      holder.addLayer(layer);
      drawn[source + ":" + feature.properties.slug] = {layer: layer, holder: holder};
      counts[key] = (counts[key] || 0) + 1;
      counts.total += 1;
    });
  }

  // What the list view shows: every feature added, with its map layer (the list keeps to the layers shown).
  var listed = [];

  // The list view: a button that opens the list of the places in the current view, as links to their pages;
  // for people who cannot use the map (a screen reader, a keyboard) and for anyone who prefers a list.
  function listControl(map, groups, config) {
    var strings = config.strings;
    var Control = L.Control.extend({
      options: {position: "topright"},
      onAdd: function () {
        var box = L.DomUtil.create("div", "leaflet-bar hm-list-control");
        var button = text("button", "hm-list-toggle", strings.list,
                          {type: "button", "aria-expanded": "false", "aria-controls": "hm-list"});
        var panel = text("section", "hm-list", null, {id: "hm-list", "aria-label": strings.title});
        panel.hidden = true;
        box.appendChild(button);
        box.appendChild(panel);
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        function fill() {
          var view = map.getBounds();
          var shown = listed.filter(function (item) {
            var group = groups[item.key];
            return group && map.hasLayer(group.layer) && item.layer.getBounds().isValid()
              && view.intersects(item.layer.getBounds());
          }).sort(function (a, b) { return title(a.p).localeCompare(title(b.p)); });
          panel.textContent = "";
          panel.appendChild(text("h2", "hm-list-count", strings.count.replace("%(n)s", shown.length)));
          var list = text("ul");
          shown.forEach(function (item) {
            var li = text("li");
            li.appendChild(text("a", null, title(item.p), {href: item.p.url}));
            var cat = config.categories[item.p.category];
            if (cat) li.appendChild(text("span", "hm-list-category", languages.map(function (l) { return cat[l]; }).filter(Boolean)[0] || cat.en));
            list.appendChild(li);
          });
          panel.appendChild(list);
        }
        button.addEventListener("click", function () {
          panel.hidden = !panel.hidden;
          button.setAttribute("aria-expanded", String(!panel.hidden));
          if (!panel.hidden) fill();
        });
        map.on("moveend overlayadd overlayremove", function () { if (!panel.hidden) fill(); });
        return box;
      }
    });
    new Control().addTo(map);
  }

  function fit(map, groups) {
    var bounds = L.latLngBounds([]);
    Object.keys(groups).forEach(function (k) {
      if (groups[k].tiled) return;  // a tile layer has no bounds of its own
      var g = groups[k].layer;
      if (g.getBounds && g.getLayers().length) bounds.extend(g.getBounds());
    });
    if (bounds.isValid()) map.fitBounds(bounds, {maxZoom: 16, padding: [20, 20], animate: false});
  }

  // On a phone the open layer list and legend would hide the map: start them folded (a tap opens them).
  function foldOnSmallScreens(map) {
    if (!window.matchMedia("(max-width: 700px)").matches) return;
    var legend = document.querySelector(".map-legend");
    if (legend) legend.open = false;
    var layers = document.querySelector(".leaflet-control-layers");
    if (!layers) return;
    var fold = function () { layers.classList.remove("leaflet-control-layers-expanded"); };
    fold();
    map.on("click", fold);
  }

  // Leaflet writes its zoom buttons' titles in English as the map is made; they are put in the page's language.
  function translateZoom(map) {
    var zoom = map.zoomControl;
    if (!zoom || !zoom._zoomInButton) return;
    [[zoom._zoomInButton, "zoomIn"], [zoom._zoomOutButton, "zoomOut"]].forEach(function (pair) {
      if (!strings[pair[1]]) return;
      pair[0].title = strings[pair[1]];
      pair[0].setAttribute("aria-label", strings[pair[1]]);
    });
  }

  // The API URL of a source with the chosen filters that its layer declares (config.filterLayers).
  function sourceUrl(config, source, filters) {
    var url = source.url, query = [];
    Object.keys(filters || {}).sort().forEach(function (name) {
      var applies = ((config.filterLayers || {})[name] || []).indexOf(source.layer) >= 0;
      if (applies && filters[name]) query.push(encodeURIComponent(name) + "=" + encodeURIComponent(filters[name]));
    });
    return query.length ? url + (url.indexOf("?") >= 0 ? "&" : "?") + query.join("&") : url;
  }

  var current = null;  // the explorer's map, groups, config and state, for reload()

  // Fetch and draw the GeoJSON sources with `filters`; the tiled layers are left as they are.
  function fetchAll(filters) {
    var c = current, counts = {total: 0};
    c.state.counts = counts;
    c.state.errors = [];
    c.state.filters = filters;
    var jobs = [];
    Object.keys(c.config.inline || {}).forEach(function (source) {
      add(c.map, c.groups, source, JSON.parse(c.config.inline[source]), c.config, counts);
    });
    (c.config.sources || []).forEach(function (source) {
      jobs.push(fetch(sourceUrl(c.config, source, filters), {headers: {Accept: "application/geo+json"}})
        .then(function (r) {
          if (!r.ok) throw new Error(source.layer + ": HTTP " + r.status);
          return r.json();
        })
        .then(function (data) { add(c.map, c.groups, source.layer, data, c.config, counts, source.keep); })
        .catch(function (err) { c.state.errors.push(String(err)); }));
    });
    // Not ready here: the caller says so once the rest (tiles, controls, view) is done too.
    return Promise.all(jobs);
  }

  // Draw the layers again with other filters (the filter panel, view.js).
  function reload(filters) {
    Object.keys(current.groups).forEach(function (k) {
      var g = current.groups[k];
      if (g.tiled) return;  // its tiles stay
      g.layer.eachLayer(function (l) { if (l !== g.cluster) g.layer.removeLayer(l); });
      if (g.cluster) g.cluster.clearLayers();
    });
    Object.keys(drawn).forEach(function (k) { delete drawn[k]; });
    listed.length = 0;
    current.state.ready = false;
    document.documentElement.setAttribute("data-map-ready", "false");
    return fetchAll(filters).then(function () {
      current.state.ready = true;
      document.documentElement.setAttribute("data-map-ready", "true");
    });
  }

  function load(map, groups, config) {
    languages = config.languages;
    strings = config.strings || {};
    translateZoom(map);
    var state = {counts: {total: 0}, tiles: {}, ready: false, errors: []};
    window.heritageMap = state;
    current = {map: map, groups: groups, config: config, state: state};
    // The view in the URL (centre, zoom, layers, filters), when the page has one (the explorer).
    var view = window.HeritageView && config.filters ? window.HeritageView.start(map, groups, config) : null;
    var jobs = [fetchAll(view ? view.filters : {})];
    Object.keys(config.tiles || {}).forEach(function (key) {
      if (!groups[key]) return;
      groups[key].tiled = true;
      state.tiles[key] = config.tiles[key].url;
      jobs.push(window.HeritageTiles.add(map, groups[key].layer, key, config.tiles[key], config)
        .catch(function (err) { state.errors.push(key + ": " + err); }));
    });
    Promise.all(jobs).then(function () {
      if (config.strings && config.strings.list) listControl(map, groups, config);
      foldOnSmallScreens(map);  // here, once the page's other controls exist
      if (config.fit && !(view && view.placed)) fit(map, groups);
      if (view) view.ready();
      state.ready = true;
      document.documentElement.setAttribute("data-map-ready", "true");
    });
  }

  // Zoom to a record (a search result: layer, slug, point, bbox) and open its popup; false when it is not drawn.
  function show(map, result) {
    var entry = drawn[result.layer + ":" + result.slug];
    if (!entry) return false;
    var target = entry.layer.getLayers()[0];
    var open = function () { if (target.getPopup()) target.openPopup(); };
    if (target instanceof L.Marker && entry.holder.zoomToShowLayer && map.hasLayer(entry.holder)) {
      entry.holder.zoomToShowLayer(target, open);
    } else {
      if (target.getLatLng) map.setView(target.getLatLng(), Math.max(map.getZoom(), 17));
      else map.fitBounds(target.getBounds(), {maxZoom: 17, padding: [20, 20]});
      open();
    }
    return true;
  }

  window.HeritageMap = {load: load, reload: reload, show: show, drawn: drawn, popup: popup, text: text, localized: localized,
                        title: title, fill: fill};
})();
