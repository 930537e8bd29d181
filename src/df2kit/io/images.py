"""Image width/height from the file header, without decoding pixels.

>>> image_size("ROOT/validation/image/000001.jpg")   # doctest: +SKIP
ImageInfo(width=640, height=480, format='jpeg')

JPEG, PNG, GIF, BMP and WebP headers are parsed directly (a few hundred bytes read); anything else is handed
to Pillow's lazy opener. Problems raise :class:`~df2kit.errors.ImageError` naming the file.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO, NamedTuple

from ..errors import ImageError

__all__ = ["IMAGE_EXTENSIONS", "ImageInfo", "image_size", "sniff_format"]

#: File extensions treated as images when a folder of images is read.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_EXT_FORMAT = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".bmp": "bmp", ".gif": "gif", ".webp": "webp"}


class ImageInfo(NamedTuple):
    width: int
    height: int
    format: str  #: what the bytes are (``jpeg``, ``png``, ...), whatever the file name says


def sniff_format(head: bytes) -> str | None:
    """Image format from the first bytes, or None."""
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM":
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _jpeg_size(f: BinaryIO, path: str) -> tuple[int, int]:
    f.seek(2)
    while True:
        b = f.read(1)
        while b and b != b"\xff":  # skip to the next marker
            b = f.read(1)
        while b == b"\xff":  # fill bytes
            b = f.read(1)
        if not b:
            raise ImageError("truncated JPEG: no frame header (SOF) before the end of the file", path=path)
        marker = b[0]
        if marker == 0xD9 or marker == 0xDA:
            raise ImageError("JPEG has no frame header (SOF) before its image data", path=path)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue
        seg = f.read(2)
        if len(seg) < 2:
            raise ImageError("truncated JPEG header", path=path)
        length = struct.unpack(">H", seg)[0]
        if length < 2:
            raise ImageError(f"corrupt JPEG segment length {length}", path=path)
        if marker in _SOF:
            data = f.read(5)
            if len(data) < 5:
                raise ImageError("truncated JPEG frame header", path=path)
            h, w = struct.unpack(">HH", data[1:5])
            return w, h
        f.seek(length - 2, os.SEEK_CUR)


def image_size(path: str | os.PathLike[str]) -> ImageInfo:
    """Width, height and real format of an image, read from its header."""
    p = os.fspath(path)
    try:
        with open(p, "rb") as f:
            head = f.read(32)
            if not head:
                raise ImageError("expected an image, got a 0-byte file", path=p)
            fmt = sniff_format(head)
            if fmt == "jpeg":
                w, h = _jpeg_size(f, p)
            elif fmt == "png":
                if len(head) < 24 or head[12:16] != b"IHDR":
                    raise ImageError("truncated PNG header", path=p)
                w, h = struct.unpack(">II", head[16:24])
            elif fmt == "gif":
                w, h = struct.unpack("<HH", head[6:10])
            elif fmt == "bmp":
                if len(head) < 26:
                    raise ImageError("truncated BMP header", path=p)
                w, h = struct.unpack("<ii", head[18:26])
                h = abs(h)
            else:
                w, h, fmt = _pillow_size(p)
    except FileNotFoundError:
        raise ImageError("image file not found", path=p) from None
    except IsADirectoryError:
        raise ImageError("expected an image file, got a folder", path=p) from None
    except OSError as e:
        raise ImageError(f"cannot read image: {e.strerror or e}", path=p) from None
    if w <= 0 or h <= 0:
        raise ImageError(f"image header gives an empty size {w}x{h}", path=p)
    return ImageInfo(int(w), int(h), fmt)


def _pillow_size(p: str) -> tuple[int, int, str]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(p) as im:
            return im.size[0], im.size[1], (im.format or "unknown").lower()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageError("not a readable image (unknown or corrupt format)", path=p) from None


def extension_format(path: str | os.PathLike[str]) -> str | None:
    """The format a file name claims (``x.jpg`` -> ``jpeg``)."""
    return _EXT_FORMAT.get(os.path.splitext(os.fspath(path))[1].lower())
