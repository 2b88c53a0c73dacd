"""Marking images as AI-generated in their own metadata (XMP), as Google Merchant Center requires.

The IPTC ``DigitalSourceType`` goes into an XMP packet inserted into the file's bytes without
re-encoding the pixels: an ``iTXt`` chunk in PNG, an ``APP1`` segment in JPEG (after its JFIF
``APP0``), an ``XMP`` chunk in WebP (adding the extended ``VP8X`` header, with its alpha flag,
when the file is a simple one). An image that already carries XMP keeps it untouched, so nothing
is ever stripped. ``tests/test_provenance.py`` checks every format with exiftool.
"""

from __future__ import annotations

import struct
import zlib

IPTC_SOURCE_TYPES = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED_ALGORITHMIC_MEDIA = "trainedAlgorithmicMedia"  # made by a generative AI model
ALGORITHMIC_MEDIA = "algorithmicMedia"  # made by a plain algorithm (the offline previews)
_XMP_NAMESPACE_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def xmp_packet(source_type: str) -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
        f"<Iptc4xmpExt:DigitalSourceType>{IPTC_SOURCE_TYPES}{source_type}"
        "</Iptc4xmpExt:DigitalSourceType>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def mark_source_type(data: bytes, fmt: str, source_type: str, size: tuple[int, int]) -> bytes:
    """``data`` with an XMP packet naming its digital source type; unchanged if it has XMP."""
    packet = xmp_packet(source_type)
    if fmt == "png":
        return _png_with_xmp(data, packet)
    if fmt == "jpeg":
        return _jpeg_with_xmp(data, packet)
    if fmt == "webp":
        return _webp_with_xmp(data, packet, size)
    return data


def source_type_of(data: bytes) -> str | None:
    """The DigitalSourceType an image declares, read back from its XMP."""
    marker = b"<Iptc4xmpExt:DigitalSourceType>"
    start = data.find(marker)
    if start < 0:
        return None
    end = data.find(b"</Iptc4xmpExt:DigitalSourceType>", start)
    return data[start + len(marker) : end].decode().rsplit("/", 1)[-1]


def _png_with_xmp(data: bytes, packet: bytes) -> bytes:
    if not data.startswith(_PNG_SIGNATURE) or b"iTXtXML:com.adobe.xmp" in data:
        return data
    body = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + packet
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"iTXt" + body) & 0xFFFFFFFF)
    header_end = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR data, CRC
    return data[:header_end] + chunk + data[header_end:]


def _jpeg_with_xmp(data: bytes, packet: bytes) -> bytes:
    if not data.startswith(b"\xff\xd8") or _XMP_NAMESPACE_JPEG in data[:65536]:
        return data
    payload = _XMP_NAMESPACE_JPEG + packet
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    at = _after_leading_headers(data)
    return data[:at] + segment + data[at:]


def _after_leading_headers(data: bytes) -> int:
    """Where XMP goes: after the JFIF APP0 and Exif APP1 that readers expect right after SOI."""
    at = 2
    while data[at : at + 2] == b"\xff\xe0" or (
        data[at : at + 2] == b"\xff\xe1" and data[at + 4 : at + 10] == b"Exif\x00\x00"
    ):
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return at


def _webp_with_xmp(data: bytes, packet: bytes, size: tuple[int, int]) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return data
    chunks = data[12:]
    if chunks[:4] == b"VP8X":
        flags = chunks[8]
        if flags & 0x04:
            return data
        chunks = chunks[:8] + bytes([flags | 0x04]) + chunks[9:]
    else:
        width, height = size
        vp8x = bytes([0x04 | _alpha_flag(chunks), 0, 0, 0]) + (width - 1).to_bytes(3, "little")
        vp8x += (height - 1).to_bytes(3, "little")
        chunks = b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x + chunks
    xmp = b"XMP " + struct.pack("<I", len(packet)) + packet + (b"\x00" if len(packet) % 2 else b"")
    chunks += xmp
    return b"RIFF" + struct.pack("<I", len(chunks) + 4) + b"WEBP" + chunks


def _alpha_flag(simple: bytes) -> int:
    """VP8X's alpha bit for a simple file: a lossless (VP8L) bitstream says whether it uses alpha
    (bit 28 after its signature byte); a simple lossy (VP8) file has none."""
    if simple[:4] != b"VP8L":
        return 0
    return 0x10 if int.from_bytes(simple[9:13], "little") >> 28 & 1 else 0
