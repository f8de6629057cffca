/* Taroudant Heritage Map's service worker: the map, its data and the pages a visitor has opened, offline.
 * Served at /sw.js (scope: the whole app) with SHELL and VERSION written before this text by the app
 * (heritage_map/web/offline.py): the map page, its versioned scripts, styles, fonts and images, and the layers' data.
 *   - versioned static files (/static/v/…): cache first; a new release has new URLs and a new VERSION;
 *   - pages and data: network first, a copy kept; the copy when the network fails or is too slow;
 *   - tiles: the same, kept up to MAX_TILES (readable responses only: an opaque one costs megabytes of quota).
 */
/* global SHELL, VERSION */
"use strict";

var STATIC = "hm-static-" + VERSION;
var PAGES = "hm-pages";
var DATA = "hm-data";
var TILES = "hm-tiles";
var MAX_TILES = 400;
var MAX_PAGES = 60;
// On a weak connection, wait this long for the network before answering from the copy (when there is one).
var PATIENCE_MS = 4000;

self.addEventListener("install", function (event) {
  event.waitUntil(Promise.all([
    caches.open(STATIC).then(function (cache) { return cache.addAll(SHELL.static); }),
    caches.open(PAGES).then(function (cache) { return cache.addAll(SHELL.pages); }),
    caches.open(DATA).then(function (cache) { return cache.addAll(SHELL.data); })
  ]).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("hm-static-") === 0 && name !== STATIC;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function keepable(response) {
  if (!response || response.status !== 200 || response.type === "opaque") return false;
  var control = response.headers.get("Cache-Control") || "";
  return !/no-store|private/.test(control);
}

// Forget the oldest entries beyond `max` (Cache Storage keeps insertion order).
function trim(cacheName, max) {
  return caches.open(cacheName).then(function (cache) {
    return cache.keys().then(function (keys) {
      return Promise.all(keys.slice(0, Math.max(0, keys.length - max)).map(function (k) { return cache.delete(k); }));
    });
  });
}

function cacheFirst(request) {
  return caches.match(request, {ignoreVary: true}).then(function (hit) {
    return hit || fetch(request).then(function (response) {
      if (keepable(response)) {
        var copy = response.clone();
        caches.open(STATIC).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    });
  });
}

function networkFirst(request, cacheName, max) {
  var fromNetwork = fetch(request).then(function (response) {
    if (keepable(response)) {
      var copy = response.clone();
      caches.open(cacheName).then(function (cache) { return cache.put(request, copy); })
        .then(function () { return max ? trim(cacheName, max) : null; });
    }
    return response;
  });
  var fromCache = function () {
    return caches.match(request, {ignoreVary: true, cacheName: cacheName});
  };
  var slow = new Promise(function (resolve) { setTimeout(resolve, PATIENCE_MS); }).then(fromCache);
  var either = Promise.race([fromNetwork, slow.then(function (hit) { return hit || fromNetwork; })]);
  return either.catch(function (error) {
    return fromCache().then(function (hit) { if (hit) return hit; throw error; });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  var local = url.origin === self.location.origin;
  var scope = new URL(self.registration.scope).pathname;
  if (local && url.pathname.indexOf(scope + "static/v/") === 0) {
    event.respondWith(cacheFirst(request));
  } else if (local && /\/tiles\/[^/]+\/\d+\/\d+\/\d+$/.test(url.pathname)) {
    event.respondWith(networkFirst(request, TILES, MAX_TILES));
  } else if (!local) {
    if (request.destination === "image") event.respondWith(networkFirst(request, TILES, MAX_TILES));
  } else if (request.mode === "navigate" || (request.headers.get("Accept") || "").indexOf("text/html") >= 0) {
    event.respondWith(networkFirst(request, PAGES, MAX_PAGES));
  } else if (url.pathname.indexOf(scope + "api/") === 0 || url.pathname.indexOf(scope + "ogc/") === 0) {
    event.respondWith(networkFirst(request, DATA, MAX_PAGES));
  }
});
