"""Rack labels: an Odette/VDA-style transport label as a one-page PDF with a Code 128 barcode
of the rack id, written with the standard library only.

The label carries what a transport label carries for a sequence rack: receiver (plant and
unloading point), supplier, the rack id (as text and as barcode), rack type and family, the
sequence range, the number of parts and the part list slot by slot.

Code 128 is drawn from the symbology's table (ISO/IEC 15417): code set B, a modulo-103 check
symbol, the stop pattern, and quiet zones of ten modules on both sides.
"""

from __future__ import annotations

from jisflow.domain.errors import ValidationError
from jisflow.domain.racks import Rack

# Bar/space widths of symbol values 0..106 (bar first); 106 is the stop pattern.
CODE128_PATTERNS = (
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
    "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
    "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
    "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
    "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
    "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
    "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
    "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
    "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
    "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
)
START_B, STOP = 104, 106
QUIET = 10


def code128_values(text: str) -> list[int]:
    """The symbol values of ``text`` in code set B: start, data, check symbol, stop."""
    bad = sorted({ch for ch in text if not 32 <= ord(ch) <= 126})
    if not text or bad:
        raise ValidationError(f"Code 128 set B encodes printable ASCII only: {text!r}" + (f" holds {bad}" if bad else " is empty"))
    data = [ord(ch) - 32 for ch in text]
    check = (START_B + sum(i * v for i, v in enumerate(data, start=1))) % 103
    return [START_B, *data, check, STOP]


def code128_modules(text: str) -> list[bool]:
    """The barcode as modules (True = bar), quiet zones included."""
    modules = [False] * QUIET
    for value in code128_values(text):
        for i, width in enumerate(CODE128_PATTERNS[value]):
            modules.extend([i % 2 == 0] * int(width))
    return modules + [False] * QUIET


def _pdf_text(text: str) -> str:
    safe = text.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def render_rack_label(rack: Rack, supplier_name: str, plant_name: str = "") -> bytes:
    """The rack's transport label as PDF bytes (A5 landscape)."""
    width, height = 595, 420
    ops: list[str] = ["0.8 w", f"20 20 {width - 40} {height - 40} re S"]

    def text(x: float, y: float, size: int, value: str, bold: bool = False) -> None:
        ops.append(f"BT /{'F2' if bold else 'F1'} {size} Tf {x} {y} Td ({_pdf_text(value)}) Tj ET")

    top = height - 45
    text(30, top, 8, "(1) RECEIVER / UNLOADING POINT")
    text(30, top - 16, 13, f"{plant_name or rack.line} - {rack.unloading_point}", bold=True)
    text(310, top, 8, "(2) SUPPLIER")
    text(310, top - 16, 13, f"{supplier_name} ({rack.supplier})", bold=True)
    ops.append(f"20 {top - 26} m {width - 20} {top - 26} l S")
    text(30, top - 42, 8, "(3) RACK ID")
    text(30, top - 62, 18, rack.id, bold=True)
    modules = code128_modules(rack.id)
    module = min(1.5, (width - 60) / len(modules))
    x0, y0, bar_h = 30.0, top - 125, 50
    run_start = None
    for i, bar in enumerate([*modules, False]):
        if bar and run_start is None:
            run_start = i
        elif not bar and run_start is not None:
            ops.append(f"{x0 + run_start * module:.2f} {y0} {(i - run_start) * module:.2f} {bar_h} re f")
            run_start = None
    first, last = rack.first_seq, rack.last_seq
    text(310, top - 42, 8, "(4) RACK TYPE / FAMILY")
    text(310, top - 58, 12, f"{rack.rack_type} / {rack.family}", bold=True)
    text(310, top - 78, 8, "(5) SEQUENCE RANGE / PARTS")
    text(310, top - 94, 12, f"{first}-{last} / {len(rack.slots)} of {rack.capacity}" + (" PARTIAL" if rack.partial else ""), bold=True)
    text(310, top - 114, 8, f"line {rack.line}   closed {rack.closed_at:%Y-%m-%d %H:%M}Z" if rack.closed_at else f"line {rack.line}   open")
    ops.append(f"20 {top - 135} m {width - 20} {top - 135} l S")
    text(30, top - 150, 8, "(6) SLOT   SEQ     VEHICLE          PART NUMBER              SERIAL")
    y = top - 164
    for slot in rack.slots[:16]:
        text(30, y, 9, f"{slot.position:>4}   {slot.seq_no:<7} {slot.order_id:<16} {slot.part_number:<24} {slot.serial or ''}")
        y -= 11
    if len(rack.slots) > 16:
        text(30, y, 9, f"... and {len(rack.slots) - 16} more")
    return _pdf(width, height, "\n".join(ops).encode("latin-1"))


def _pdf(width: int, height: int, content: bytes) -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
