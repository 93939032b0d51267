"""Checks that a file is a complete, non-blank PNG of a sensible size."""
import os
import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """(width, height) from the IHDR chunk, after checking the file really is a PNG."""
    data = open(path, "rb").read()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert data.rstrip(b"\x00")[-8:-4] == b"IEND", "PNG is truncated"
    return width, height


def check_png(path, min_size=(300, 250), max_size=(4000, 4000)):
    w, h = png_size(path)
    assert min_size[0] <= w <= max_size[0] and min_size[1] <= h <= max_size[1], (w, h)
    from matplotlib.image import imread

    pixels = imread(str(path))
    assert pixels.std() > 0.01  # something was drawn, not a blank canvas
    leftovers = [p for p in os.listdir(os.path.dirname(path)) if p.endswith(".tmp")]
    assert not leftovers, leftovers
