"""Draws the app's icons (web/static/img/icon-*.png): run ``python web/pwa/draw_icons.py``.

Drawn here, not downloaded: the favicon's picture (a white speech-bubble ring on the
inbox's green), as PNGs of the sizes the manifest and iOS ask for, with the standard
library only (a signed distance per pixel gives smooth edges without an image library).
"Maskable" icons fill the whole square and keep the ring inside the safe central 80 %.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "static" / "img"
GREEN = (6, 95, 70)
WHITE = (255, 255, 255)


def _segment(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def _rounded_box(px: float, py: float, half: float, radius: float) -> float:
    qx, qy = abs(px) - half + radius, abs(py) - half + radius
    return math.hypot(max(qx, 0.0), max(qy, 0.0)) + min(max(qx, qy), 0.0) - radius


def pixels(size: int, *, maskable: bool, rounded: bool) -> bytes:
    scale = size / 32 * (0.8 if maskable else 1.0)
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # PNG filter: none
        for x in range(size):
            # In the favicon's 32-unit coordinates, centred.
            px, py = (x + 0.5 - size / 2) / scale, (y + 0.5 - size / 2) / scale
            box = _rounded_box(px, py, 16, 8) if rounded and not maskable else -1.0
            angle = math.degrees(math.atan2(py, px))
            ring = abs(math.hypot(px, py) - 9) - 1.1 if not 119 < angle < 150 else 9.0
            tail = min(_segment(px, py, -7.8, 4.5, -9, 9), _segment(px, py, -9, 9, -4.4, 7.8)) - 1.1
            shape = min(ring, tail)
            bg = max(0.0, min(1.0, 0.5 - box * scale))
            fg = max(0.0, min(1.0, 0.5 - shape * scale))
            colour = [round(g + (w - g) * fg) for g, w in zip(GREEN, WHITE, strict=True)]
            rows.extend((*colour, round(255 * bg)))
    return bytes(rows)


def png(size: int, data: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(data, 9)) + chunk(b"IEND", b""))


ICONS = {
    "icon-192.png": (192, False, True),
    "icon-512.png": (512, False, True),
    "icon-maskable-512.png": (512, True, False),
    "apple-touch-icon.png": (180, False, False),  # iOS rounds the corners itself
}


def main() -> None:
    for name, (size, maskable, rounded) in ICONS.items():
        (OUT / name).write_bytes(png(size, pixels(size, maskable=maskable, rounded=rounded)))
        print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
