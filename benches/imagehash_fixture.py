#!/usr/bin/env python3
"""Writes tests/fixtures/imagehash/core.csv: Python ImageHash's phash and
dhash (hex, as str(hash) prints them) of the lossless PNGs in
tests/fixtures/pdq/core, for tests/imagehash_core.rs.

    python3 benches/imagehash_fixture.py
"""
import os

import imagehash
import PIL
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "tests", "fixtures", "pdq", "core")
OUT = os.path.join(ROOT, "tests", "fixtures", "imagehash", "core.csv")

with open(OUT, "w") as out:
    out.write(f"# imagehash {imagehash.__version__}, Pillow {PIL.__version__}\n")
    out.write("file,phash,dhash\n")
    for name in sorted(os.listdir(SRC)):
        if name.endswith(".png"):
            with Image.open(os.path.join(SRC, name)) as im:
                out.write(f"{name},{imagehash.phash(im)},{imagehash.dhash(im)}\n")
print("wrote", OUT)
