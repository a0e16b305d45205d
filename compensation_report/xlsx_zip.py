"""The report's zip: its large parts deflated on every core, the way pigz does it.

XlsxWriter packs the sheets' XML with zipfile at zlib's default level, on one core: 2.5 s of a large
run (183 MB of XML). Here a part of PARALLEL_BYTES or more is cut into pieces of PIECE_BYTES, each
deflated by a thread (zlib leaves Python's lock while it works), primed with the 32 KiB before it so
that it compresses as well as one stream would, and ended on a byte boundary (a sync flush) so the
pieces join into one valid deflate stream. The pieces do not depend on the number of cores, so the
file is the same on every machine. Smaller parts are packed by zipfile as before.

It relies on two internals: XlsxWriter's workbook module looks up `ZipFile` when it packs (replaced
for that moment by `ParallelZipFile`), and zipfile's writer deflates through its `_compressor`.
"""

from __future__ import annotations

import os
import shutil
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

import xlsxwriter.workbook

from compensation_report.isolation import cores

PARALLEL_BYTES = 4 << 20  # a part this large is deflated in pieces: only the long sheets
PIECE_BYTES = 1 << 20
_WINDOW = 32 << 10  # deflate looks back this far


@contextmanager
def packed_in_parallel() -> Iterator[None]:
    """While XlsxWriter packs the workbook (its `close`), large parts are deflated on every core."""
    saved = xlsxwriter.workbook.ZipFile
    xlsxwriter.workbook.ZipFile = ParallelZipFile
    try:
        yield
    finally:
        xlsxwriter.workbook.ZipFile = saved


class ParallelZipFile(ZipFile):
    """A ZipFile whose `write` deflates a large file in pieces on a pool of threads."""

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None) -> None:
        method = compress_type if compress_type is not None else self.compression
        if method != ZIP_DEFLATED or os.path.getsize(filename) < PARALLEL_BYTES:
            return super().write(filename, arcname, compress_type, compresslevel)
        zinfo = ZipInfo.from_file(filename, arcname)
        zinfo.compress_type = ZIP_DEFLATED
        level = compresslevel if compresslevel is not None else self.compresslevel
        workers = cores()
        with ThreadPoolExecutor(workers) as pool, open(filename, "rb") as src, self.open(zinfo, "w") as dest:
            dest._compressor = PieceDeflater(pool, workers, zlib.Z_DEFAULT_COMPRESSION if level is None else level)
            shutil.copyfileobj(src, dest, PIECE_BYTES)


class PieceDeflater:
    """A raw deflate compressor (zipfile's `compress` and `flush`) that deflates fixed pieces on a
    thread pool, keeping a few pieces ahead so the pool stays busy and memory stays small."""

    def __init__(self, pool: ThreadPoolExecutor, workers: int, level: int):
        self._pool, self._level = pool, level
        self._ahead = 2 * workers
        self._buffer = bytearray()
        self._before = b""  # the end of the previous piece: the next one's dictionary
        self._pending: deque[Future[bytes]] = deque()
        self._error: BaseException | None = None

    def compress(self, data: bytes) -> bytes:
        self._buffer += data
        done = []
        while len(self._buffer) > PIECE_BYTES:  # the last piece is held back: only `flush` knows it is the last
            piece = bytes(self._buffer[:PIECE_BYTES])
            del self._buffer[:PIECE_BYTES]
            self._submit(piece, final=False)
            while len(self._pending) > self._ahead:
                done.append(self._result(self._pending.popleft()))
        return b"".join(done)

    def flush(self) -> bytes:
        if self._error is not None:  # zipfile flushes even after a failed write: the part must not look finished
            raise self._error
        self._submit(bytes(self._buffer), final=True)
        self._buffer.clear()
        done = [self._result(future) for future in self._pending]
        self._pending.clear()
        return b"".join(done)

    def _result(self, future: Future[bytes]) -> bytes:
        try:
            return future.result()
        except BaseException as exc:
            self._error = exc
            raise

    def _submit(self, piece: bytes, final: bool) -> None:
        self._pending.append(self._pool.submit(deflate_piece, piece, self._before, self._level, final))
        self._before = piece[-_WINDOW:]


def deflate_piece(piece: bytes, before: bytes, level: int, final: bool) -> bytes:
    """One piece of a raw deflate stream: primed with the data before it, ended on a byte boundary
    (or, for the last piece, with the stream's end)."""
    deflater = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, **({"zdict": before} if before else {}))
    return deflater.compress(piece) + deflater.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)
