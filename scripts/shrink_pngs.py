"""Shrink README screenshots: a 256-colour palette, no dithering (UI pixels stay crisp).

    .venv/bin/python scripts/shrink_pngs.py docs/images/*.png

JupyterLab screenshots use few colours, so this keeps them readable at about 40% of the
size, which matters because every `make screenshots` commit stays in the git history.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image


def shrink(path: Path) -> tuple[int, int]:
    """Rewrite ``path`` as an optimized palette PNG; returns (bytes before, bytes after)."""
    before = path.stat().st_size
    with Image.open(path) as image:
        palette = image.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    palette.save(path, optimize=True)
    return before, path.stat().st_size


def main(paths: list[str]) -> int:
    """Shrink each PNG given; print the sizes."""
    total_before = total_after = 0
    for name in paths:
        before, after = shrink(Path(name))
        total_before, total_after = total_before + before, total_after + after
        print(f"{name}: {before / 1024:.0f} KiB -> {after / 1024:.0f} KiB")
    print(f"total {total_before / 1024:.0f} KiB -> {total_after / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
