/* Taroudant Heritage Map: fills the Folium map's layers from GeoJSON.
 * Popups are built with DOM nodes and textContent, never innerHTML, so text from
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

  function add(map, groups, source, collection, config, counts) {
    collection.features.forEach(function (feature) {
      if (!feature.geometry) return;
      var key = layerOf(feature, source, config);
      var group = groups[key];
      if (!group) return;
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
      layer.eachLayer(function (l) {
        if (config.popups !== false) {
          l.bindPopup(function () { return popup(feature.properties, key, config); }, {maxWidth: 300});
        }
      });
      ((isPoint && group.cluster) || group.layer).addLayer(layer);
      counts[key] = (counts[key] || 0) + 1;
      counts.total += 1;
    });
  }

  function fit(map, groups) {
    var bounds = L.latLngBounds([]);
    Object.keys(groups).forEach(function (k) {
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

  function load(map, groups, config) {
    languages = config.languages;
    strings = config.strings || {};
    translateZoom(map);
    var counts = {total: 0};
    var state = {counts: counts, ready: false, errors: []};
    window.heritageMap = state;
    var jobs = [];
    Object.keys(config.inline || {}).forEach(function (source) {
      add(map, groups, source, JSON.parse(config.inline[source]), config, counts);
    });
    Object.keys(config.sources || {}).forEach(function (source) {
      jobs.push(fetch(config.sources[source], {headers: {Accept: "application/geo+json"}})
        .then(function (r) {
          if (!r.ok) throw new Error(source + ": HTTP " + r.status);
          return r.json();
        })
        .then(function (data) { add(map, groups, source, data, config, counts); })
        .catch(function (err) { state.errors.push(String(err)); }));
    });
    Promise.all(jobs).then(function () {
      foldOnSmallScreens(map);  // here, once the page's other controls exist
      if (config.fit) fit(map, groups);
      state.ready = true;
      document.documentElement.setAttribute("data-map-ready", "true");
    });
  }

  window.HeritageMap = {load: load, popup: popup, text: text, localized: localized, title: title, fill: fill};
})();
