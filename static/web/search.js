/* Taroudant Heritage Map: the map's search box. As the person types, /api/search is asked (debounced);
 * choosing a result zooms to it and opens its popup (HeritageMap.show). Results are text nodes only. */
(function () {
  "use strict";

  var DELAY_MS = 200;

  function init(map, config) {
    var strings = config.strings || {};
    var Control = L.Control.extend({
      options: {position: "topleft"},
      onAdd: function () {
        var box = L.DomUtil.create("div", "hm-search leaflet-bar");
        var form = L.DomUtil.create("form", "hm-search-form", box);
        form.setAttribute("role", "search");
        form.action = config.page;
        var input = L.DomUtil.create("input", "hm-search-input", form);
        input.type = "search";
        input.name = "q";
        input.id = "hm-search-input";
        input.autocomplete = "off";
        input.placeholder = strings.placeholder || "Search";
        input.setAttribute("aria-label", strings.label || "Search the map");
        input.setAttribute("role", "combobox");
        input.setAttribute("aria-expanded", "false");
        input.setAttribute("aria-controls", "hm-search-results");
        var list = L.DomUtil.create("ul", "hm-search-results", box);
        list.id = "hm-search-results";
        list.setAttribute("role", "listbox");
        list.hidden = true;
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        wire(map, config, form, input, list, strings);
        return box;
      }
    });
    new Control().addTo(map);
  }

  function wire(map, config, form, input, list, strings) {
    var timer = null, asked = 0, results = [], active = -1;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      active = -1;
    }

    function render(found) {
      results = found;
      list.textContent = "";
      active = -1;
      if (!found.length) {
        list.appendChild(HeritageMap.text("li", "hm-search-none", strings.none || "Nothing found"));
      }
      found.forEach(function (r, i) {
        var item = HeritageMap.text("li", "hm-search-result", null, {role: "option", id: "hm-search-r" + i,
                                                                      "data-slug": r.slug, "data-layer": r.layer});
        item.appendChild(HeritageMap.text("span", "hm-search-name", HeritageMap.title(r)));
        if (r.name_ar && r.name_ar !== HeritageMap.title(r)) {
          item.appendChild(HeritageMap.text("span", "hm-search-ar", r.name_ar, {lang: "ar", dir: "rtl"}));
        }
        item.appendChild(HeritageMap.text("span", "hm-search-layer", (strings.layers || {})[r.layer] || r.layer));
        item.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
        list.appendChild(item);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function ask() {
      var q = input.value.trim();
      if (!q) { close(); return; }
      var mine = ++asked;
      fetch(config.url + "?limit=8&q=" + encodeURIComponent(q), {headers: {Accept: "application/json"}})
        .then(function (r) { return r.ok ? r.json() : {results: []}; })
        .then(function (data) { if (mine === asked) render(data.results); })
        .catch(function () { if (mine === asked) render([]); });
    }

    function highlight(i) {
      var items = list.querySelectorAll(".hm-search-result");
      if (!items.length) return;
      active = (i + items.length) % items.length;
      items.forEach(function (el, j) { el.setAttribute("aria-selected", j === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", items[active].id);
    }

    function choose(i) {
      var r = results[i];
      if (!r) return;
      close();
      input.value = HeritageMap.title(r);
      if (!HeritageMap.show(map, r)) window.location.href = r.url;
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY_MS);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { e.preventDefault(); highlight(active + 1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); highlight(active - 1); }
      else if (e.key === "Escape") { close(); }
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(active); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  window.HeritageSearch = {init: init};
})();
