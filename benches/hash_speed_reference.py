#!/usr/bin/env python3
"""Time of the pixel-to-hash step alone for the tools users would pick
instead, on the same 512 x 512 picture as benches/hash_speed.rs: Meta's
C++ PDQ through the `pdqhash` bindings (`pdqhash.compute` on an RGB array)
and Python ImageHash `phash` / `dhash` on a Pillow RGB image. Prints the
median CPU time per call (process time, so a loaded machine does not
inflate it).

    python3 benches/hash_speed_reference.py
"""
import time

import imagehash
import numpy
import pdqhash
from PIL import Image


def picture(w, h):
    x = numpy.arange(w, dtype=numpy.float32)[None, :]
    y = numpy.arange(h, dtype=numpy.float32)[:, None]
    v = (numpy.sin(x / 23.0) * numpy.cos(y / 17.0) * 100.0 + 128.0).astype(numpy.uint8)
    return numpy.stack([v, (v.astype(numpy.uint16) * 3 % 256).astype(numpy.uint8), 255 - v], axis=2)


def bench(name, f, n=50, rounds=15):
    for _ in range(5):
        f()
    times = []
    for _ in range(rounds):
        t = time.process_time()
        for _ in range(n):
            f()
        times.append((time.process_time() - t) / n)
    times.sort()
    print(f"{name:<22} {times[len(times) // 2] * 1e6:8.1f} us/picture cpu")


arr = picture(512, 512)
img = Image.fromarray(arr)
print("512 x 512 RGB, median of 15 rounds of 50 calls")
bench("pdqhash.compute", lambda: pdqhash.compute(arr))
bench("pdqhash.compute_dihedral", lambda: pdqhash.compute_dihedral(arr))
bench("imagehash.phash", lambda: imagehash.phash(img))
bench("imagehash.dhash", lambda: imagehash.dhash(img))
