"""Pages for people: the map, index and record pages, and the Folium map builders they use."""
