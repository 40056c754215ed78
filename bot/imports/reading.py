"""Opening an import file as a plant has it: CSV in whatever encoding Excel saved (UTF-8, GB18030, UTF-16) or
XLSX, read in chunks of text rows so a 400,000-row file streams; every unusable file gets one readable line."""
from __future__ import annotations

import codecs
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from xml.etree.ElementTree import ParseError

import pandas as pd

from bot.imports.parsing import FIRST_DATA_ROW, ImportFileError

DEFAULT_MAX_BYTES = 100 * 2**20  # a 400,000-row report file is about 16 MiB as CSV, 13 MiB as XLSX
UNZIPPED_RATIO = 10  # an XLSX may unpack to this many times the cap (its XML), not more (a zip bomb)
CHUNK_ROWS = 20_000  # the text of one chunk is what is in memory at a time (~8 MB for reports)
_BLOCK = 2**20
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"


@dataclass
class TableFile:
    """Header known up front; `chunks` yields text frames (cells stripped, '' when empty) indexed by the row
    number a spreadsheet shows, blank rows left out. `encoding` says how the file was read, for the summary."""

    name: str
    encoding: str
    columns: list[str]
    chunks: Iterator[pd.DataFrame]


def open_table(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, chunk_rows: int = CHUNK_ROWS) -> TableFile:
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"file not found: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise ImportFileError(f"{path.name}: {_mib(size)} is over the import limit of {_mib(max_bytes)}; "
                              f"split the file, or raise the limit with --max-bytes")
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _open_xlsx(path, head, max_bytes, chunk_rows)
    if suffix in (".csv", ".txt"):
        return _open_csv(path, head, chunk_rows)
    if suffix == ".xls" or head.startswith(_OLE):
        raise ImportFileError(f"{path.name}: an Excel 97-2003 .xls workbook; save it as .xlsx or CSV")
    raise ImportFileError(f"{path.name}: use a .csv or .xlsx file")


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


# ---- CSV
def detect_encoding(path: Path, head: bytes) -> tuple[str, str]:
    """(codec, label): a BOM decides; else the whole file must decode as UTF-8, else as GB18030 (GBK's superset,
    what Excel in China saves as "CSV"). UTF-8 goes first: GBK text is practically never valid UTF-8."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "UTF-8 with BOM"
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16", "UTF-16 LE"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", "UTF-16 BE"
    sample = head[:4096]
    if len(sample) >= 4 and sample.count(0) * 4 >= len(sample):  # ASCII in UTF-16 is every other byte NUL
        odd_nuls = sample[1::2].count(0)
        return ("utf-16-le", "UTF-16 LE") if odd_nuls >= sample[0::2].count(0) else ("utf-16-be", "UTF-16 BE")
    failures = []
    for codec, label in (("utf-8", "UTF-8"), ("gb18030", "GB18030")):
        line = _first_bad_line(path, codec)
        if line is None:
            return codec, label
        failures.append(f"{label} (line {line})")
    raise ImportFileError(f"{path.name}: not text in {' or '.join(failures)}; save it as \"CSV UTF-8\" or .xlsx")


def _first_bad_line(path: Path, codec: str) -> int | None:
    """Line of the first byte that does not decode, reading in blocks so a big file costs no memory."""
    decoder = codecs.getincrementaldecoder(codec)()
    newlines = 0
    with path.open("rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                return newlines + block[:max(exc.start, 0)].count(b"\n") + 1
            if not block:
                return None
            newlines += block.count(b"\n")


def _open_csv(path: Path, head: bytes, chunk_rows: int) -> TableFile:
    if head.startswith(_ZIP):
        raise ImportFileError(f"{path.name}: this is an Excel workbook, not CSV text; name it .xlsx")
    if head.startswith(_OLE):
        raise ImportFileError(f"{path.name}: an Excel 97-2003 .xls workbook; save it as .xlsx or CSV")
    codec, label = detect_encoding(path, head)
    with path.open(encoding=codec, newline="") as handle:
        first_line = handle.readline()
    if not first_line.strip():
        raise ImportFileError(f"{path.name}: empty file (the first row must be the header)")
    sep = "\t" if first_line.count("\t") > first_line.count(",") else ","  # Excel's "Unicode text" is tabbed
    try:
        columns = [str(c).strip().lower() for c in _header(path, codec, sep)]
        reader = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=codec, sep=sep,
                             skipinitialspace=True, skip_blank_lines=False, chunksize=chunk_rows)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ImportFileError(f"{path.name}: cannot be read as CSV: {exc}") from None
    return TableFile(path.name, label, columns, _csv_chunks(path.name, reader, columns))


def _header(path: Path, codec: str, sep: str) -> list[str]:
    return list(pd.read_csv(path, dtype=str, encoding=codec, sep=sep, nrows=0).columns)


def _csv_chunks(name: str, reader: pd.io.parsers.TextFileReader, columns: list[str]) -> Iterator[pd.DataFrame]:
    yielded = False
    try:
        with reader:
            for chunk in reader:
                chunk.columns = columns
                chunk.index = chunk.index + FIRST_DATA_ROW
                text = chunk.fillna("").apply(lambda column: column.astype(str).str.strip())
                yield text[(text != "").any(axis=1)]
                yielded = True
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise ImportFileError(f"{name}: cannot be read as CSV: {exc}") from None
    if not yielded:
        yield pd.DataFrame(columns=columns, dtype=object)


# ---- XLSX
_XLSX_ERRORS = (zipfile.BadZipFile, zlib.error, KeyError, OSError, EOFError, ValueError, TypeError, ParseError)


def _open_xlsx(path: Path, head: bytes, max_bytes: int, chunk_rows: int) -> TableFile:
    from openpyxl import load_workbook

    if head.startswith(_OLE):
        raise ImportFileError(f"{path.name}: an Excel 97-2003 .xls workbook renamed .xlsx; save it as .xlsx")
    if not zipfile.is_zipfile(path):
        raise ImportFileError(f"{path.name}: not a complete .xlsx workbook (truncated, or another format "
                              f"renamed .xlsx); save it again from Excel")
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > max_bytes * UNZIPPED_RATIO:
            raise ImportFileError(f"{path.name}: unpacks to {_mib(unpacked)}, over {UNZIPPED_RATIO} x the import "
                                  f"limit of {_mib(max_bytes)}")
        book = load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers store a wrong size; read what is there
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
    except ImportFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises anything from a damaged archive
        raise ImportFileError(f"{path.name}: cannot be read as an .xlsx workbook ({type(exc).__name__}: "
                              f"{str(exc)[:120]}); save it again from Excel") from None
    if header is None or all(_text(v) == "" for v in header):
        book.close()
        raise ImportFileError(f"{path.name}: the first sheet is empty (its first row must be the header)")
    columns = [_text(v).lower() or f"unnamed: {i}" for i, v in enumerate(header)]
    return TableFile(path.name, "XLSX", columns, _xlsx_chunks(path.name, book, rows, columns, chunk_rows))


def _text(value: object) -> str:
    """The text a CSV would hold for an Excel cell: dates in ISO 8601 (plant time), 12.0 as 12."""
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _xlsx_chunks(name: str, book: object, rows: Iterator[tuple[object, ...]], columns: list[str],
                 chunk_rows: int) -> Iterator[pd.DataFrame]:
    width = len(columns)
    batch: list[list[str]] = []
    numbers: list[int] = []
    yielded = False
    try:
        for number, row in enumerate(rows, start=FIRST_DATA_ROW):
            cells = [_text(v) for v in row[:width]]
            if not any(cells):
                continue
            batch.append(cells + [""] * (width - len(cells)))
            numbers.append(number)
            if len(batch) >= chunk_rows:
                yield pd.DataFrame(batch, columns=columns, index=numbers, dtype=str)
                batch, numbers, yielded = [], [], True
    except _XLSX_ERRORS as exc:
        raise ImportFileError(f"{name}: the workbook is damaged after row {numbers[-1] if numbers else 1} "
                              f"({type(exc).__name__}); save it again from Excel") from None
    finally:
        book.close()  # type: ignore[attr-defined]
    if batch or not yielded:
        yield pd.DataFrame(batch, columns=columns, index=numbers, dtype=str)
