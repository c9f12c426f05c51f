"""png_read.py - a small PNG decoder for the tests (8-bit greyscale, RGB, RGBA; not interlaced).

Independent of libpng, which bmeq uses to write: the tests read bmeq's pictures and
chromium's screenshots with it. Returns (width, height, channels, rows as a numpy uint8
array of shape (height, width, channels), text chunks as a dict).
"""
import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _paeth_row(line, prev, bpp):
    out = bytearray(line)
    for i in range(len(out)):
        a = out[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        if pa <= pb and pa <= pc:
            pr = a
        elif pb <= pc:
            pr = b
        else:
            pr = c
        out[i] = (out[i] + pr) & 255
    return out


def read(path):
    data = open(path, "rb").read()
    if data[:8] != SIGNATURE:
        raise ValueError(path + ": not a PNG")
    pos, idat, text, ihdr = 8, [], {}, None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError("%s: bad CRC in %r" % (path, kind))
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"tEXt":
            k, _, v = body.partition(b"\0")
            text[k.decode("latin-1")] = v.decode("latin-1")
        elif kind == b"IEND":
            break
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 6: 4, 4: 2}[ctype]
    if depth != 8 or interlace:
        raise ValueError("%s: only 8-bit non-interlaced PNGs" % path)
    raw = zlib.decompress(b"".join(idat))
    stride = w * channels
    if len(raw) != h * (stride + 1):
        raise ValueError("%s: image data of %d bytes, expected %d" % (path, len(raw), h * (stride + 1)))
    img = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.uint8)
    bpp = channels
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1)
        if f == 0:
            cur = line.copy()
        elif f == 1:
            cur = line.astype(np.int64).reshape(-1, bpp).cumsum(axis=0).astype(np.uint8).reshape(-1)
        elif f == 2:
            cur = line + prev
        elif f == 3:
            cur = bytearray(line)
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                cur[i] = (cur[i] + ((a + int(prev[i])) >> 1)) & 255
            cur = np.frombuffer(bytes(cur), np.uint8)
        elif f == 4:
            cur = np.frombuffer(bytes(_paeth_row(line.tobytes(), prev.tobytes(), bpp)), np.uint8)
        else:
            raise ValueError("%s: bad filter %d" % (path, f))
        img[y] = cur
        prev = img[y]
    return w, h, channels, img.reshape(h, w, channels), text


def panels(text):
    """The bmeq-panels chunk as a list of (x, y, w, h, side, kind)."""
    out = []
    for p in text.get("bmeq-panels", "").split(";"):
        if p:
            x, y, w, h, side, kind = p.split(",")
            out.append((int(x), int(y), int(w), int(h), side, kind))
    return out
