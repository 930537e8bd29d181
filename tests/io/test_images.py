"""Image sizes from headers equal what Pillow decodes, and broken images give clear errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from df2kit.errors import ImageError
from df2kit.io import image_size


@pytest.mark.parametrize("fmt, ext", [("JPEG", "jpg"), ("PNG", "png"), ("GIF", "gif"), ("BMP", "bmp"), ("WEBP", "webp"), ("TIFF", "tif")])
@pytest.mark.parametrize("size", [(1, 1), (640, 480), (333, 1001)])
def test_header_size_equals_decoded_size(fmt: str, ext: str, size: tuple[int, int], tmp_path: Path) -> None:
    p = tmp_path / f"x.{ext}"
    Image.new("RGB", size, (10, 20, 30)).save(p, format=fmt)
    info = image_size(p)
    with Image.open(p) as im:
        assert (info.width, info.height) == im.size
    assert info.format == ("tiff" if fmt == "TIFF" else fmt.lower())


def test_progressive_jpeg_with_exif(tmp_path: Path) -> None:
    p = tmp_path / "p.jpg"
    im = Image.new("RGB", (123, 77))
    exif = Image.Exif()
    exif[0x010E] = "x" * 5000  # a large APP1 segment before the frame header
    im.save(p, format="JPEG", progressive=True, exif=exif)
    assert image_size(p)[:2] == (123, 77)


def test_png_named_jpg_reports_real_format(tmp_path: Path) -> None:
    p = tmp_path / "000001.jpg"
    Image.new("RGB", (20, 10)).save(p, format="PNG")
    assert image_size(p) == (20, 10, "png")


@pytest.mark.parametrize(
    "data, msg",
    [
        (b"", "0-byte"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated JPEG"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "truncated PNG"),
        (b"hello world, not an image at all", "not a readable image"),
    ],
)
def test_broken_images(data: bytes, msg: str, tmp_path: Path) -> None:
    p = tmp_path / "bad.jpg"
    p.write_bytes(data)
    with pytest.raises(ImageError, match=msg) as ei:
        image_size(p)
    assert ei.value.path == str(p)


def test_missing_image(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not found"):
        image_size(tmp_path / "none.jpg")


def test_reads_only_the_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "big.jpg"
    buf = io.BytesIO()
    Image.effect_noise((800, 600), 50).convert("RGB").save(buf, format="JPEG", quality=95)
    p.write_bytes(buf.getvalue())
    from df2kit.io import images

    monkeypatch.setattr(images, "_pillow_size", lambda p: (_ for _ in ()).throw(AssertionError("decoded")))
    assert image_size(p)[:2] == (800, 600)
