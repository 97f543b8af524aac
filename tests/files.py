"""Sample files for tests, made on the fly: real photos, PDFs, CSVs and bad inputs."""

import io
import os
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw


def photo_bytes(width=1200, height=800, fmt="JPEG", seed=1, exif_gps=False, orientation=None) -> bytes:
    """A photo-like image: a gradient with shapes and a little noise (so it compresses like a photo)."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for i in range(12):
        x, y = (seed * 97 + i * 131) % width, (seed * 53 + i * 71) % height
        draw.ellipse([x, y, x + width // 6, y + height // 6], fill=((seed * 40 + i * 20) % 255, 120, (i * 30) % 255))
    noise = Image.frombytes("L", (width, height), os.urandom(width * height)).convert("RGB")
    image = Image.blend(image, noise, 0.08)
    buffer = io.BytesIO()
    kwargs = {}
    if (exif_gps or orientation) and fmt == "JPEG":
        exif = Image.Exif()
        if exif_gps:
            exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)}
            exif[0x010F] = "PhoneMaker"  # camera make
        if orientation:
            exif[0x0112] = orientation
        kwargs["exif"] = exif
    image.save(buffer, fmt, quality=88, **kwargs) if fmt in ("JPEG", "WEBP") else image.save(buffer, fmt)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def jpeg(name="photo.jpg", **kwargs) -> SimpleUploadedFile:
    return upload(name, photo_bytes(**kwargs), "image/jpeg")


def pdf_document(objects: list[bytes]) -> bytes:
    """A well-formed PDF of the given objects (numbered from 1; object 1 is the catalogue)."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def pdf_bytes() -> bytes:
    """A minimal, well-formed one-page PDF."""
    return pdf_document([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ])


def noise_png_bytes(megabytes: float) -> bytes:
    """A PNG of random pixels, uncompressed: its size is about `megabytes`."""
    side = int((megabytes * 1024 * 1024 / 3) ** 0.5)
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


def large_canvas_png_bytes(width: int, height: int) -> bytes:
    """A real, small PNG with many pixels (one colour compresses to almost nothing)."""
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def png_bomb_bytes(width=100_000, height=100_000) -> bytes:
    """A PNG whose header claims a huge size (a decompression bomb): only the header is forged."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    ihdr_start = 8 + 8  # signature, then length + "IHDR"
    data[ihdr_start:ihdr_start + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:ihdr_start + 13])) & 0xFFFFFFFF
    data[ihdr_start + 13:ihdr_start + 17] = struct.pack(">I", crc)
    return bytes(data)


def elf_executable_bytes() -> bytes:
    """The start of a Linux executable: what a renamed program looks like to a content sniffer."""
    header = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\x3e\x00\x01\x00\x00\x00"
    return header + os.urandom(4096)


def truncated_jpeg_bytes() -> bytes:
    data = photo_bytes(400, 300)
    return data[: len(data) // 3]


def polyglot_jpeg_html_bytes() -> bytes:
    """A valid JPEG with an HTML page appended: a browser sniffing it could run the script."""
    return photo_bytes(300, 200) + b"<html><body><script>alert(document.cookie)</script></body></html>"


def polyglot_jpeg_zip_bytes() -> bytes:
    """A valid JPEG with a ZIP archive appended (it opens as either)."""
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("payload.html", "<script>alert(1)</script>")
    return photo_bytes(300, 200) + archive.getvalue()


def pdf_with_javascript_bytes(obfuscated: bool = False) -> bytes:
    """A PDF that runs JavaScript when opened. Obfuscated: the name is written with a #-escape, so
    only a structural parse (not a byte search) sees it."""
    name = b"/J#61vaScript" if obfuscated else b"/JavaScript"
    return pdf_document([
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /Type /Action /S " + name + b" /" + (b"J#53" if obfuscated else b"JS") + b" (app.alert(1)) >>",
    ])


def many_rows_records_csv_bytes(rows: int = 130_000, kind: str = "device") -> bytes:
    """A records CSV of `rows` short valid rows (130,000 login-device rows fit under the 2 MB limit)."""
    if kind == "recharge":
        header, row = b"order_number,amount,currency,paid_at\n", b"A,1,CNY,2026-10-01\n"
    else:
        header, row = b"seen_at,device_model\n", b"2026-10-01,A\n"
    return header + row * rows
def png_with_corrupt_pixel_data_bytes(width=64, height=48) -> bytes:
    """A PNG whose chunks and checksums are intact but whose compressed pixels are garbage: it passes the upload checks and processing refuses it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * (width * 3) for _row in range(height)))
    garbage = pixels[:2] + bytes(b ^ 0x5A for b in pixels[2:])
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", garbage) + chunk(b"IEND", b"")
