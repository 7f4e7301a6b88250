// trialmatch trial page, a module: a small map of the trial's sites (open ones in green), drawn
// with Leaflet (an ES module served by datasette-leaflet) and the tiles this server serves.
// Registry text goes in as text nodes, never as HTML.
const box = document.getElementById("trial-map");
const data = box ? JSON.parse(box.dataset.points || "{}") : {};
const sites = data.sites || [];
if (sites.length) {
  const L = await import(box.dataset.leaflet);
  box.hidden = false;
  const map = L.map(box, { scrollWheelZoom: false, maxZoom: 6 });
  L.tileLayer(box.dataset.tiles, { maxZoom: 6, attribution: "© OpenStreetMap contributors" }).addTo(map);
  const label = (text) => {
    const span = document.createElement("span");
    span.textContent = text;
    return span;
  };
  const markers = sites.map((site) =>
    L.circleMarker([site.lat, site.lon], {
      radius: 6, weight: 2, fillOpacity: 0.8,
      color: site.open ? "#00703c" : "#505a5f", fillColor: site.open ? "#00703c" : "#b1b4b6",
    }).bindTooltip(label(site.label + (site.open ? "" : " (not open)"))));
  if (data.patient) {
    markers.push(L.circleMarker(data.patient, { radius: 7, weight: 3, color: "#1d70b8", fillOpacity: 0 })
      .bindTooltip(label("the patient")));
  }
  const group = L.featureGroup(markers).addTo(map);
  map.fitBounds(group.getBounds(), { maxZoom: 6, padding: [20, 20] });
}
