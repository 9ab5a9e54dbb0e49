"""Regenerate the vendored country outlines of server/web/drawing/boundaries/ from world-atlas.

    npm install --prefix /tmp/escp4i-atlas world-atlas@2.0.2 i18n-iso-countries@7.14.0
    .venv/bin/python scripts/boundaries.py /tmp/escp4i-atlas/node_modules

world-atlas ships Natural Earth's Admin 0 countries (public domain) as TopoJSON in degrees,
keyed by ISO 3166-1 numeric codes; i18n-iso-countries maps those to alpha-3, the key the
graph uses (wikidata P298). This script decodes the TopoJSON, projects it (Equal Earth for
the world, Lambert azimuthal equal-area centred on Europe, cropped, for Europe), simplifies
each shared arc once (so neighbours keep a common border), rounds to tenths of a pixel and
writes SVG path data with a README recording the inputs and their SHA-256. The server only
reads the result: npm is needed here, never at run time or in tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

log = logging.getLogger(__name__)

Point = tuple[float, float]
Ring = list[Point]
Projection = Callable[[float, float], Point]

ATLAS: Final = "world-atlas"
CODES: Final = "i18n-iso-countries"
DEST: Final = Path(__file__).resolve().parent.parent / "server/web/drawing/boundaries"
#: Output units per pixel of the nominal width: tenths, written as integers.
UNIT: Final = 10

#: Shapes Natural Earth draws without an ISO 3166-1 numeric id, and what each is drawn as.
#: Kosovo: XKX, the user-assigned code the EU and the graph (wikidata P298) use. Northern
#: Cyprus and Somaliland lie within the ISO 3166-1 entries of Cyprus and Somalia. Siachen
#: (disputed) and Australia's Indian Ocean Territories (ISO codes of their own, CXR, CCK)
#: stay in the background, unkeyed.
NO_ID: Final[dict[str, str | None]] = {
    "Kosovo": "XKX",
    "N. Cyprus": "CYP",
    "Somaliland": "SOM",
    "Siachen Glacier": None,
    "Indian Ocean Ter.": None,
}

#: Not drawn on the world map: no partnership targets it, and it would take a fifth of the height.
LEFT_OUT: Final = {"ATA"}


@dataclass(frozen=True)
class Frame:
    """One map: its resolution, projection, crop (projected units) and pixel size and tolerance."""

    name: str
    resolution: str
    projection: Projection
    crop: tuple[float, float, float, float]
    width: int
    tolerance: float
    dot_below: float
    outline: Sequence[tuple[float, float]] = ()


def equal_earth(lon: float, lat: float) -> Point:
    """Project degrees with Equal Earth (Šavrič, Patterson, Jenny 2018); y grows northwards."""
    a1, a2, a3, a4 = 1.340264, -0.081106, 0.000893, 0.003796
    m = math.sqrt(3) / 2
    theta = math.asin(m * math.sin(math.radians(lat)))
    t2 = theta * theta
    t6 = t2 * t2 * t2
    x = math.radians(lon) * math.cos(theta) / (m * (a1 + 3 * a2 * t2 + t6 * (7 * a3 + 9 * a4 * t2)))
    return x, theta * (a1 + a2 * t2 + t6 * (a3 + a4 * t2))


def lambert_europe(lon: float, lat: float) -> Point:
    """Project degrees with the spherical Lambert azimuthal equal-area centred at 10°E 52°N.

    The centre is that of ETRS89-LAEA (EPSG:3035), the EU's projection for statistical maps.
    """
    lon0, lat0 = math.radians(10), math.radians(52)
    lam, phi = math.radians(lon) - lon0, math.radians(lat)
    cos_c = math.sin(lat0) * math.sin(phi) + math.cos(lat0) * math.cos(phi) * math.cos(lam)
    k = math.sqrt(2 / max(1 + cos_c, 1e-12))
    x = k * math.cos(phi) * math.sin(lam)
    y = k * (math.cos(lat0) * math.sin(phi) - math.sin(lat0) * math.cos(phi) * math.cos(lam))
    return x, y


def box_of(points: Iterable[Point]) -> tuple[float, float, float, float]:
    """Return the bounding box (x0, y0, x1, y1) of points."""
    xs, ys = zip(*points, strict=True)
    return min(xs), min(ys), max(xs), max(ys)


def europe_crop() -> tuple[float, float, float, float]:
    """Crop Europe to the member countries' extremes: Iceland to Armenia, Malta to Norway."""
    corners = [(-24.6, 66.5), (-10.5, 36.0), (14.5, 35.5), (25.0, 71.2), (34.6, 34.5), (46.7, 38.8)]
    x0, y0, x1, y1 = box_of(lambert_europe(lon, lat) for lon, lat in corners)
    pad = 0.02 * (x1 - x0)
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def world_crop() -> tuple[float, float, float, float]:
    """The whole Equal Earth plane from 60°S (Antarctica left out) to the pole."""
    x1, _ = equal_earth(180, 0)
    _, y0 = equal_earth(0, -60)
    _, y1 = equal_earth(0, 90)
    return -x1, y0, x1, y1


def world_outline() -> list[tuple[float, float]]:
    """The edge of the world map in degrees: the antimeridian each way, 60°S to the pole."""
    east = [(180.0, float(lat)) for lat in range(-60, 91, 2)]
    return east + [(-lon, lat) for lon, lat in reversed(east)]


def decode_arcs(topology: dict[str, Any]) -> list[Ring]:
    """Decode TopoJSON's delta-encoded, quantized arcs into degrees."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def simplify(points: Sequence[Point], tolerance: float) -> Ring:
    """Douglas-Peucker, keeping both ends (a closed arc is split at its farthest point)."""
    if len(points) < 3:
        return list(points)
    if points[0] == points[-1]:
        far = max(range(len(points)), key=lambda i: _dist2(points[i], points[0]))
        if far in (0, len(points) - 1):
            return [points[0], points[-1]]
        head = simplify(points[: far + 1], tolerance)
        return head[:-1] + simplify(points[far:], tolerance)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        worst, index = 0.0, -1
        for i in range(first + 1, last):
            d = _segment_distance(points[i], points[first], points[last])
            if d > worst:
                worst, index = d, i
        if index > 0 and worst > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def clip(ring: Ring, box: tuple[float, float, float, float]) -> Ring:
    """Clip a ring to a box (Sutherland-Hodgman); a ring wholly outside comes back empty."""
    x0, y0, x1, y1 = box
    edges: list[tuple[Callable[[Point], bool], Callable[[Point, Point], Point]]] = [
        (lambda p: p[0] >= x0, lambda a, b: _at_x(a, b, x0)),
        (lambda p: p[0] <= x1, lambda a, b: _at_x(a, b, x1)),
        (lambda p: p[1] >= y0, lambda a, b: _at_y(a, b, y0)),
        (lambda p: p[1] <= y1, lambda a, b: _at_y(a, b, y1)),
    ]
    out = ring
    for inside, cross in edges:
        if not out:
            break
        given, out = out, []
        previous = given[-1]
        for point in given:
            if inside(point):
                if not inside(previous):
                    out.append(cross(previous, point))
                out.append(point)
            elif inside(previous):
                out.append(cross(previous, point))
            previous = point
    return out


def split_at_edge(ring: Ring, jump: float) -> list[Ring]:
    """Split a ring that crosses the antimeridian into one ring on each side of the map.

    Natural Earth keeps Russia's Chukotka and Fiji as single rings across 180°; projected,
    each crossing becomes a line across the whole world, which ``jump`` (pixels) detects.
    """
    sides: list[Ring] = [[], []]
    side = 0
    for index, point in enumerate(ring):
        if index and abs(point[0] - ring[index - 1][0]) > jump:
            side = 1 - side
        sides[side].append(point)
    return [s for s in sides if s]


def path_data(rings: Iterable[Sequence[tuple[int, int]]]) -> str:
    """Write rings of integer points as SVG path data, relative moves after the first point."""
    parts = []
    for ring in rings:
        (x, y), rest = ring[0], ring[1:]
        steps = [f"M{x} {y}"]
        coords = []
        for px, py in rest:
            coords.append(f"{px - x} {py - y}")
            x, y = px, py
        steps.append("l" + " ".join(coords).replace(" -", "-") + "z")
        parts.append("".join(steps))
    return "".join(parts)


def draw(
    frame: Frame, topology: dict[str, Any], key_of: Callable[[dict[str, Any]], str | None]
) -> dict[str, Any]:
    """Project, simplify, clip and round one map's countries into SVG path data by alpha-3."""
    x0, y0, x1, y1 = frame.crop
    scale = frame.width / (x1 - x0)
    height = round((y1 - y0) * scale)

    def to_pixels(lon: float, lat: float) -> Point:
        x, y = frame.projection(lon, lat)
        return (x - x0) * scale, (y1 - y) * scale

    pixel_box = (0.0, 0.0, float(frame.width), float(height))
    arcs = [
        simplify([to_pixels(*p) for p in arc], frame.tolerance) for arc in decode_arcs(topology)
    ]
    rings_of: dict[str | None, list[list[tuple[int, int]]]] = {}
    extent: dict[str, list[Point]] = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        key = key_of(geometry)
        if key in LEFT_OUT and frame.name == "world":
            continue
        polygons = {"Polygon": [geometry["arcs"]], "MultiPolygon": geometry["arcs"]}.get(
            geometry["type"], []
        )
        for polygon in polygons:
            for arc_ids in polygon:
                for part in split_at_edge(_ring(arcs, arc_ids), frame.width / 2):
                    ring = clip(part, pixel_box)
                    if key and ring:
                        extent.setdefault(key, []).extend(ring)
                    rounded = _rounded(ring)
                    if len(rounded) >= 3:
                        rings_of.setdefault(key, []).append(rounded)
    shapes = {key: path_data(rings_of[key]) for key in sorted(k for k in rings_of if k)}
    dots = {}
    for key, points in sorted(extent.items()):
        bx0, by0, bx1, by1 = box_of(points)
        if max(bx1 - bx0, by1 - by0) < frame.dot_below:
            dots[key] = [round((bx0 + bx1) / 2, 1), round((by0 + by1) / 2, 1)]
    return {
        "width": frame.width,
        "height": height,
        "unit": UNIT,
        "outline": path_data([_rounded([to_pixels(*p) for p in frame.outline])])
        if frame.outline
        else "",
        "shapes": shapes,
        "dots": dots,
        "others": [path_data(rings_of[None])] if None in rings_of else [],
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Read world-atlas and i18n-iso-countries from a node_modules folder; write the boundaries."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", type=Path, help="a node_modules folder holding both packages")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    modules: Path = args.modules
    versions = {
        name: json.loads((modules / name / "package.json").read_text())["version"]
        for name in (ATLAS, CODES)
    }
    alpha3 = {
        numeric: a3
        for _, a3, numeric, *_ in json.loads((modules / CODES / "codes.json").read_text())
    }

    def key_of(geometry: dict[str, Any]) -> str | None:
        name = geometry["properties"]["name"]
        if "id" not in geometry:
            if name not in NO_ID:
                raise ValueError(f"a shape without an id that NO_ID does not name: {name!r}")
            return NO_ID[name]
        if geometry["id"] not in alpha3:
            raise ValueError(f"no alpha-3 code for numeric {geometry['id']!r} ({name})")
        code: str = alpha3[geometry["id"]]
        return code

    frames = [
        Frame("europe", "50m", lambert_europe, europe_crop(), 1000, 0.35, 5.0),
        Frame("world", "50m", equal_earth, world_crop(), 1000, 0.5, 4.0, world_outline()),
    ]
    inputs: dict[str, str] = {}
    maps = {}
    for frame in frames:
        source = modules / ATLAS / f"countries-{frame.resolution}.json"
        data = source.read_bytes()
        inputs[source.name] = hashlib.sha256(data).hexdigest()
        maps[frame.name] = draw(frame, json.loads(data), key_of)
        log.info("%s: %d countries", frame.name, len(maps[frame.name]["shapes"]))
    DEST.mkdir(parents=True, exist_ok=True)
    out = DEST / "countries.json"
    document = {
        "source": {
            "data": "Natural Earth Admin 0 countries, public domain",
            "package": {name: versions[name] for name in (ATLAS, CODES)},
            "sha256": inputs,
            "projections": {
                "europe": "Lambert azimuthal equal-area (sphere) at 10°E 52°N, cropped",
                "world": "Equal Earth, 60°S to 90°N",
            },
        },
        "maps": maps,
    }
    out.write_text(json.dumps(document, separators=(",", ":"), sort_keys=True) + "\n")
    licence = (modules / ATLAS / "LICENSE").read_text(encoding="utf-8").strip()
    (DEST / "README.md").write_text(readme(versions, inputs, licence, out.stat().st_size))
    log.info("wrote %s (%d bytes) and its README", out, out.stat().st_size)


def readme(versions: dict[str, str], inputs: dict[str, str], licence: str, size: int) -> str:
    """Write the provenance of the vendored outlines: inputs, checksums, licences, recipe."""
    checksums = "\n".join(
        f"- `{ATLAS}/{name}`: SHA-256 `{digest}`" for name, digest in inputs.items()
    )
    no_id = "\n".join(f"- {name}: {key or 'background, unkeyed'}" for name, key in NO_ID.items())
    return f"""# Country outlines for the server-drawn maps

`countries.json` ({size:,} bytes) holds SVG path data of every country, keyed by ISO 3166-1
alpha-3, for two maps: `europe` (Lambert azimuthal equal-area on a sphere centred at 10°E 52°N,
the centre of ETRS89-LAEA, cropped to the member countries from Iceland to Armenia and Malta
to Norway) and `world` (Equal Earth, 60°S to the pole; Antarctica left out). Coordinates are
tenths of a pixel of a 1,000 px wide map (`unit` 10); `dots` are the centres of countries too
small to see at that scale, `others` the shapes Natural Earth draws without a country code.
It is written by `scripts/boundaries.py`, and only read at run time
(`server/web/drawing/maps.py`).

## Source

- Data: [Natural Earth](https://www.naturalearthdata.com/) Admin 0 countries, 1:50m, as
  redistributed in version 4.1.0 by the npm package `{ATLAS}` {versions[ATLAS]}
  (TopoJSON, quantized, in degrees; ids are ISO 3166-1 numeric codes).
{checksums}
- ISO 3166-1 numeric to alpha-3: `codes.json` of the npm package `{CODES}`
  {versions[CODES]} (MIT), read by the script only; nothing of it is copied but the codes.
- Shapes without a numeric id, drawn as:
{no_id}

## Licences

Natural Earth's map data are in the public domain, as its Terms of Use state
(naturalearthdata.com/about/terms-of-use/): they may be used, modified and redistributed in any
manner, without permission or fee. The outlines here are derived from them (projected,
simplified, rounded) and are public domain too.

`{ATLAS}` (the TopoJSON packaging), ISC licence:

```
{licence}
```

## Regenerate

```
npm install --prefix /tmp/escp4i-atlas {ATLAS}@{versions[ATLAS]} {CODES}@{versions[CODES]}
.venv/bin/python scripts/boundaries.py /tmp/escp4i-atlas/node_modules
```

The script decodes the delta-encoded arcs, projects them, simplifies each shared arc once
(Douglas-Peucker; 0.35 px for Europe, 0.5 px for the world, so neighbours keep one border),
splits rings crossing the antimeridian, clips Europe to its frame and rounds. The same input
gives the same file byte for byte.
"""


def _ring(arcs: Sequence[Ring], arc_ids: Sequence[int]) -> Ring:
    ring: Ring = []
    for index in arc_ids:
        points = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(points if not ring else points[1:])
    return ring


def _rounded(ring: Ring) -> list[tuple[int, int]]:
    """Round to output units, dropping repeats; the closing point is implied by ``z``."""
    out: list[tuple[int, int]] = []
    for x, y in ring:
        point = (round(x * UNIT), round(y * UNIT))
        if not out or point != out[-1]:
            out.append(point)
    if len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


def _dist2(a: Point, b: Point) -> float:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


def _segment_distance(p: Point, a: Point, b: Point) -> float:
    length2 = _dist2(a, b)
    if length2 == 0:
        return math.sqrt(_dist2(p, a))
    t = max(
        0.0, min(1.0, ((p[0] - a[0]) * (b[0] - a[0]) + (p[1] - a[1]) * (b[1] - a[1])) / length2)
    )
    return math.sqrt(_dist2(p, (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))))


def _at_x(a: Point, b: Point, x: float) -> Point:
    return x, a[1] + (b[1] - a[1]) * (x - a[0]) / (b[0] - a[0])


def _at_y(a: Point, b: Point, y: float) -> Point:
    return a[0] + (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]), y


if __name__ == "__main__":
    main()
