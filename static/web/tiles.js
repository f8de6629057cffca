/* Taroudant Heritage Map: a large layer drawn from the OGC API's vector tiles (Leaflet.VectorGrid, canvas).
 * Points look as on the GeoJSON layers: the category's marker, drawn from the same awesome-marker CSS; below
 * the server's clustering zoom a tile holds one point per cell with its `count`, drawn as a numbered circle.
 * A click opens the same popup as elsewhere (map.js, built from text nodes), completed from the record's item. */
(function () {
  "use strict";

  var GEOMETRY = "$geometry";
  var OVERFLOW = 48;  // px: a marker is 46 px high and 35 wide  // the feature's MVT type (1 point, 2 line, 3 polygon), added to its properties
  var grids = {};  // map key -> its VectorGrid, for the tests and the benchmark
  var icons = {};  // category slug -> an L.Icon whose image is that category's awesome marker

  // Made on first use: this file is linked in the page's head before Leaflet and VectorGrid (Folium's order).
  var TileCanvas, TileGrid;

  function defineClasses() {
    if (TileCanvas) return;
    // VectorGrid 1.3.0's canvas tile, brought to Leaflet 1.9 (its click handler called L.DomEvent.fakeStop,
    // removed in Leaflet 1.8), and drawing a cluster's count in its circle.
    TileCanvas = L.Canvas.Tile.extend({
      initialize: function (coords, size, options) {
        L.Canvas.Tile.prototype.initialize.call(this, coords, size, options);
        // A canvas larger than its tile by OVERFLOW on each side: a marker whose point is in this tile is
        // drawn whole, even where it stands over the tile's edge (its neighbour does not hold that point).
        this._container.setAttribute("width", size.x + 2 * OVERFLOW);
        this._container.setAttribute("height", size.y + 2 * OVERFLOW);
        this._ctx.translate(OVERFLOW, OVERFLOW);
      },

      _hitAt: function (e) {
        var point = this._map.mouseEventToLayerPoint(e).subtract(this.getOffset()), hit = null;
        for (var id in this._layers) {
          var layer = this._layers[id];
          if (layer.options.interactive && layer._containsPoint(point) && !this._map._draggableMoved(layer)) {
            hit = layer;
          }
        }
        return hit;
      },

      _onClick: function (e) {
        var owner = this, hit = this._hitAt(e);
        // The canvases overlap by their overflow: the feature may be a neighbour's, under this canvas.
        var tiles = (this._grid && this._grid._vectorTiles) || {};
        Object.keys(hit ? {} : tiles).some(function (key) {
          var other = tiles[key];
          if (other === owner || !other._map || other._tileCoord.z !== owner._tileCoord.z) return false;
          hit = other._hitAt(e);
          if (hit) owner = other;
          return hit !== null;
        });
        // Leaflet reads a point's position for the event (VectorGrid's symbolizers have none of their own).
        if (hit && hit.getLatLng && !hit._latlng) {
          hit._latlng = this._map.layerPointToLatLng(hit._point.add(owner.getOffset()));
        }
        // As Leaflet 1.9's own canvas does: the map ignores DOM events on a canvas, which passes them on,
        // to the feature hit or else to the map (a click beside the features closes a popup).
        this._fireEvent(hit ? [hit] : false, e);
      },

      _updateCircle: function (layer) {
        L.Canvas.prototype._updateCircle.call(this, layer);
        var n = layer.properties.count;
        if (!this._drawing || !(n > 1)) return;
        var ctx = this._ctx;
        ctx.fillStyle = "#222";
        ctx.font = "bold 9px sans-serif";
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        ctx.fillText(shortCount(n), layer._point.x, layer._point.y);
      }
    });

    // Each feature learns its geometry type: VectorGrid hands a style function the properties only, and
    // a polygon is filled where a line is not.
    TileGrid = L.VectorGrid.Protobuf.extend({
      _initTile: function (tile) {
        L.VectorGrid.Protobuf.prototype._initTile.call(this, tile);
        var size = this.getTileSize();
        tile.style.width = size.x + 2 * OVERFLOW + "px";
        tile.style.height = size.y + 2 * OVERFLOW + "px";
        tile.style.marginLeft = tile.style.marginTop = -OVERFLOW + "px";
      },

      _getVectorTilePromise: function (coords) {
        return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, coords).then(function (tile) {
          Object.keys(tile.layers).forEach(function (name) {
            tile.layers[name].features.forEach(function (f) { f.properties[GEOMETRY] = f.type; });
          });
          return tile;
        });
      }
    });
  }

  function shortCount(n) {
    return n < 1000 ? String(n) : Math.round(n / 1000) + "k";
  }

  // The colours of Leaflet.markercluster's default clusters, so that counts look the same in both modes;
  // small enough for the server's cells (16 px apart) not to cover each other.
  function clusterStyle(n) {
    if (n === 1) return {radius: 3, stroke: true, color: "#fff", weight: 1, fill: true, fillColor: "#555", fillOpacity: 0.8};
    var colour = n < 10 ? "110, 204, 57" : n < 100 ? "240, 194, 12" : "241, 128, 23";
    var halo = n < 10 ? "181, 226, 140" : n < 100 ? "241, 211, 87" : "253, 156, 115";
    return {radius: n < 10 ? 6 : 7, stroke: true, color: "rgb(" + halo + ")", opacity: 0.7, weight: 2, fill: true,
            fillColor: "rgb(" + colour + ")", fillOpacity: 0.8};
  }

  function styleFor(key, config) {
    var colour = config.colours[key];
    return function (p) {
      if ("count" in p) return clusterStyle(p.count);
      var type = p[GEOMETRY];
      if (type === 1) {
        if (icons[p.category]) return {icon: icons[p.category]};
        return {radius: 8, stroke: true, color: "#fff", weight: 2, fill: true, fillColor: colour, fillOpacity: 0.9,
                dashArray: p.sample ? "3 3" : null};
      }
      return {stroke: true, color: colour, weight: key === "ramparts" ? 5 : 3, opacity: 0.9, fill: type === 3,
              fillColor: colour, fillOpacity: 0.15, dashArray: p.sample ? "6 6" : null};
    };
  }

  // Draw each category's awesome marker (sprite, colour, Font Awesome glyph, as its CSS lays them out in the
  // page) into an image that the canvas can paint: a tile layer cannot hold DOM markers by the thousand.
  function markerIcons(config) {
    var font = document.fonts ? document.fonts.load('900 14px "Font Awesome 6 Free"') : Promise.resolve();
    return font.then(function () {
      var box = document.createElement("div");
      box.style.cssText = "position:absolute;left:-1000px;top:0;visibility:hidden";
      document.body.appendChild(box);
      var sprites = {};
      var jobs = Object.keys(config.categories).map(function (slug) {
        var cat = config.categories[slug];
        var icon = L.AwesomeMarkers.icon({icon: cat.icon, prefix: "fa", markerColor: cat.color, iconColor: "white"});
        var el = icon.createIcon();
        box.appendChild(el);
        var css = getComputedStyle(el), glyph = el.querySelector("i");
        var sprite = (css.backgroundImage.match(/url\("?([^")]+)"?\)/) || [])[1];
        if (!sprite) return Promise.resolve();
        var position = css.backgroundPosition.split(" ").map(parseFloat);
        var size = [el.offsetWidth, el.offsetHeight];
        var at = glyph.getBoundingClientRect(), origin = el.getBoundingClientRect();
        var mark = getComputedStyle(glyph, "::before"), char = mark.content.slice(1, -1);
        var look = {font: mark.fontWeight + " " + mark.fontSize + " " + mark.fontFamily, colour: mark.color,
                    x: at.left - origin.left + at.width / 2, y: at.top - origin.top + at.height / 2};
        sprites[sprite] = sprites[sprite] || loadImage(sprite);
        return sprites[sprite].then(function (image) {
          var canvas = document.createElement("canvas");
          canvas.width = size[0];
          canvas.height = size[1];
          var ctx = canvas.getContext("2d");
          ctx.drawImage(image, -position[0], -position[1], size[0], size[1], 0, 0, size[0], size[1]);
          ctx.font = look.font;
          ctx.fillStyle = look.colour;
          ctx.textAlign = "center";
          ctx.textBaseline = "middle";
          ctx.fillText(char, look.x, look.y);
          icons[slug] = L.icon({iconUrl: canvas.toDataURL("image/png"), iconSize: size,
                                iconAnchor: icon.options.iconAnchor});
        });
      });
      return Promise.all(jobs).then(function () { box.remove(); });
    });
  }

  function loadImage(url) {
    return new Promise(function (resolve, reject) {
      var image = new Image();
      image.onload = function () { resolve(image); };
      image.onerror = function () { reject(new Error("cannot load " + url)); };
      image.src = url;
    });
  }

  var iconsReady = null;

  // Put the tiles of `spec` (web/sources.py) into the map layer `group`; resolve once its first view is drawn.
  function add(map, group, key, spec, config) {
    defineClasses();
    iconsReady = iconsReady || markerIcons(config);
    return iconsReady.then(function () {
      var styles = {};
      styles[spec.layer] = styleFor(key, config);
      var clusters = 0;
      var grid = new TileGrid(spec.url, {
        rendererFactory: function (coords, size, options) {
          var renderer = new TileCanvas(coords, size, options);
          renderer._grid = grid;
          return renderer;
        },
        vectorTileLayerStyles: styles, interactive: true, pane: "overlayPane", maxNativeZoom: spec.maxZoom,
        // Features are kept per tile (VectorGrid does so only with ids), for the tests and the benchmark.
        getFeatureId: function (f) { return f.properties.slug || "cluster-" + (++clusters); }
      });
      grid.on("click", function (e) {
        var p = e.layer.properties;
        if ("count" in p) {  // as a marker cluster does: a click on a cluster zooms into it
          map.setView(e.latlng, Math.min(map.getZoom() + 2, spec.clusterBelow));
          return;
        }
        var popup = L.popup({maxWidth: 300}).setLatLng(e.latlng)
          .setContent(HeritageMap.popup(p, key, config)).openOn(map);
        // A tile carries what the map draws; the popup's description and confidence come from the item.
        fetch(spec.item.replace("{slug}", encodeURIComponent(p.slug)), {headers: {Accept: "application/geo+json"}})
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (feature) {
            if (feature && popup.isOpen()) popup.setContent(HeritageMap.popup(feature.properties, key, config));
          })
          .catch(function () { /* the popup keeps what the tile said */ });
      });
      grids[key] = grid;
      var drawn = new Promise(function (resolve) { grid.once("load", resolve); });
      group.addLayer(grid);
      return map.hasLayer(group) ? drawn : null;
    });
  }

  window.HeritageTiles = {add: add, grids: grids};
})();
