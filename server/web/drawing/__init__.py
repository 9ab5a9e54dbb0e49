"""Figures drawn on the server as inline SVG (maps, networks): data in, markup out, no Flask."""
