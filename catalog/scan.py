"""Scan an archive (a folder tree or a manifest) into a catalog table of CATALOG_SCHEMA.

Sources are opened read-only and never written, moved or re-encoded. Every entry that cannot be
processed still gets a row, with the reason in `error`, so nothing silently drops out of the catalog:

- a path that resolves (also through symlinks) outside the archive root is never opened:
  `error = "path escapes the archive root: <path as given>"`, no stat, no hash, no audio info;
- a manifest path that does not exist: `error = "file not found"`;
- a file libsndfile cannot read: `error = "unreadable audio: <libsndfile message>"`, hash kept;
- a file or folder the scan may not read: `error = "unreadable file: Permission denied"` /
  `"unreadable folder: ..."` (one row for the folder: its files cannot even be named);
- an empty file: `error = "empty file (0 bytes)"`;
- a WAV whose header promises more audio than the file holds (a transfer cut short), or declares
  none before audio that follows: `error = "truncated file: ..."` / `"unfinalized WAV header: ..."`,
  hash and audio info kept (catalog/wav_header.py);
- given OUT (`exclude`, as `rescan` does), the folder walk never enters OUT, and an entry that
  resolves inside it is an error row (`"path is inside OUT: <path>"`): outputs are never taken for
  sources. An archive root inside OUT is refused.

Incremental re-scan: given the previous catalog, a file whose (source_path, size_bytes, mtime_ns) is
unchanged reuses the previous sha256 and audio info without being opened.

How much work a scan did is recorded in the returned table's schema metadata (bytes -> bytes, as
Arrow stores it); `scan_stats(table)` reads it back as a `ScanStats`:

    acetate.hashed      files opened and hashed in this scan
    acetate.reused      files whose hash and audio info came from `previous`
    acetate.duplicates  manifest entries dropped because their path was already listed
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import soundfile as sf

from acetate.catalog import store
from acetate.catalog.fixity import sha256_stream
from acetate.catalog.schema import CATALOG_SCHEMA
from acetate.catalog.wav_header import wav_data_problem

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20  # sha256 read size
_BATCH = 2048  # files handed to the thread pool at a time (bounds in-flight futures)

# Extensions taken as audio. libsndfile formats map to their usual extensions; RAW (headerless, cannot
# be opened without being told its layout) and MAT4/MAT5 (`.mat` is far more often numeric data than
# audio) are left out on purpose.
_FORMAT_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "WAV": ("wav", "wave", "bwf"),
    "WAVEX": ("wav",),
    "RF64": ("rf64",),
    "W64": ("w64",),
    "AIFF": ("aiff", "aif", "aifc"),
    "AU": ("au", "snd"),
    "CAF": ("caf",),
    "FLAC": ("flac",),
    "OGG": ("ogg", "oga", "opus"),
    "MP3": ("mp3",),
    "AVR": ("avr",),
    "HTK": ("htk",),
    "SVX": ("svx", "8svx", "iff"),
    "PAF": ("paf",),
    "PVF": ("pvf",),
    "SD2": ("sd2",),
    "SDS": ("sds",),
    "IRCAM": ("sf", "ircam"),
    "VOC": ("voc",),
    "NIST": ("nist", "sph"),
    "WVE": ("wve",),
    "XI": ("xi",),
    "MPC2K": ("mpc2k",),
}
_ALWAYS = ("wav", "flac", "aiff", "aif", "ogg", "mp3", "au", "caf", "w64", "rf64", "opus", "bwf")


def _audio_extensions() -> frozenset[str]:
    exts = set(_ALWAYS)
    for fmt in sf.available_formats():
        exts.update(_FORMAT_EXTENSIONS.get(fmt.upper(), ()))
    return frozenset("." + e for e in exts)


AUDIO_EXTENSIONS: frozenset[str] = _audio_extensions()

_TEMP_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".swp", "~")


def is_audio_name(name: str) -> bool:
    """Whether a file name looks like a source audio file (not hidden, not a temp file)."""
    if is_hidden_or_temp(name):
        return False
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def is_hidden_or_temp(name: str) -> bool:
    low = name.lower()
    return (
        name.startswith((".", "~$", "#"))
        or low.endswith(_TEMP_SUFFIXES)
        or name in ("__MACOSX", "$RECYCLE.BIN", "System Volume Information")
    )


def item_id_for(source_path: str) -> str:
    """Stable id of an entry: the first 16 hex characters of sha1 of its POSIX relative path."""
    return hashlib.sha1(source_path.encode("utf-8", "surrogateescape")).hexdigest()[:16]


@dataclass(frozen=True)
class ScanStats:
    hashed: int
    reused: int
    duplicates: int


def scan_stats(table: pa.Table) -> ScanStats:
    """How much work the scan that produced `table` did (read from its schema metadata)."""
    meta = table.schema.metadata or {}

    def get(key: str) -> int:
        return int(meta.get(key.encode(), b"0"))

    return ScanStats(get("acetate.hashed"), get("acetate.reused"), get("acetate.duplicates"))


# ---------------------------------------------------------------------------------------------------
# Entries: what to look at, before anything is opened


@dataclass
class _Entries:
    """Column-wise list of catalog entries (one row per file to be catalogued)."""

    source_path: list[str]
    real_path: list[str | None]  # resolved path to open; None when the entry must not be opened
    error: list[str | None]
    manifest_rows: list[int] | None = None  # row of the manifest each entry came from
    duplicates: int = 0

    def add(self, source_path: str, real_path: str | None, error: str | None = None) -> None:
        self.source_path.append(source_path)
        self.real_path.append(real_path)
        self.error.append(error)


def _inside(real: str, real_root: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _escape_error(given: str) -> str:
    return f"path escapes the archive root: {given}"


def _in_out_error(given: str) -> str:
    return f"path is inside OUT: {given}"


def _walk(root: Path, real_out: str | None = None) -> _Entries:
    """Walk a folder tree (sorted, deterministic). Symlinks are followed only while they stay inside
    the root; one that leads outside becomes an error row. Each real directory is walked once;
    `real_out` (OUT, resolved) is never entered, and a file link into it is an error row."""
    real_root = os.path.realpath(root)
    out = _Entries([], [], [])
    seen_dirs = {real_root}

    def visit(folder: str, rel: str) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            if not rel:
                raise ValueError(f"cannot list the archive root {folder}: {exc.strerror or exc}") from exc
            log.warning("cannot list %s: %s", folder, exc)  # recorded, so its files do not silently vanish
            out.add(rel, None, f"unreadable folder: {exc.strerror or exc}")
            return
        for e in entries:
            if is_hidden_or_temp(e.name):
                continue
            relpath = f"{rel}/{e.name}" if rel else e.name
            try:
                is_link = e.is_symlink()
                is_dir = e.is_dir(follow_symlinks=True)
            except OSError as exc:  # e.g. a symlink loop
                if is_audio_name(e.name):
                    out.add(relpath, None, f"unreadable entry: {exc.strerror or exc}")
                continue
            if is_link:
                real = os.path.realpath(e.path)
                if not _inside(real, real_root):
                    if is_dir or is_audio_name(e.name):
                        out.add(relpath, None, _escape_error(relpath))
                    continue
            else:
                real = None
            if is_dir:
                real = real or os.path.realpath(e.path)
                if real in seen_dirs or (real_out is not None and _inside(real, real_out)):
                    continue
                seen_dirs.add(real)
                visit(e.path, relpath)
            elif is_link and is_audio_name(e.name) and not os.path.exists(real):
                out.add(relpath, None, "broken symbolic link (its target does not exist, or it loops)")
            elif is_audio_name(e.name) and e.is_file(follow_symlinks=True):
                if real is not None and real_out is not None and _inside(real, real_out):  # a link into OUT
                    out.add(relpath, None, _in_out_error(relpath))
                    continue
                out.add(relpath, real or e.path, None)

    visit(str(root), "")
    return out


def _read_manifest(path: Path) -> pa.Table:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        table = pq.read_table(path)
    elif suffix == ".csv":
        # Every column as text, so values are carried through verbatim ("007" stays "007").
        header = pacsv.open_csv(path).schema.names
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in header}, strings_can_be_null=True
            ),
        )
    else:
        raise ValueError(f"manifest must be .csv or .parquet, got {path.name}")
    if "path" not in table.column_names:
        raise ValueError(
            f"manifest {path} has no 'path' column (columns: {', '.join(table.column_names)})"
        )
    names = table.column_names
    if doubled := sorted({n for n in names if names.count(n) > 1}):
        raise ValueError(f"manifest {path} names columns more than once: {', '.join(map(repr, doubled))}")
    return table


def _manifest_entries(paths: pa.ChunkedArray, root: Path, real_out: str | None = None) -> _Entries:
    real_root = os.path.realpath(root)
    out = _Entries([], [], [], manifest_rows=[])
    seen: set[str] = set()
    for row, given in enumerate(paths.to_pylist()):
        given = "" if given is None else str(given).strip()
        if not given:
            key, real, error = f"<empty path, manifest row {row}>", None, "empty path in manifest"
        elif "\0" in given:
            key, real, error = given.replace("\0", "\\0"), None, "invalid path in manifest (a NUL byte)"
        else:
            joined = os.path.normpath(os.path.join(root, given))  # absolute `given` wins the join
            real = os.path.realpath(joined)
            if not _inside(real, real_root):
                key, real, error = given, None, _escape_error(given)
            else:
                # Named through the root as given, or (an absolute path through the root's own
                # symlink target) through the resolved root.
                base, rel_to = (joined, root) if _inside(joined, str(root)) else (real, real_root)
                key = Path(os.path.relpath(base, rel_to)).as_posix()
                if real_out is not None and _inside(real, real_out):
                    real, error = None, _in_out_error(given)
                elif not os.path.exists(real):
                    real, error = None, "file not found"
                elif not os.path.isfile(real):
                    real, error = None, "not a regular file"
                else:
                    error = None
        if key in seen:
            out.duplicates += 1
            log.warning("manifest lists %s more than once; kept the first entry (row %d dropped)", key, row)
            continue
        seen.add(key)
        out.add(key, real, error)
        out.manifest_rows.append(row)
    return out


# ---------------------------------------------------------------------------------------------------
# Per-file work


@dataclass
class _FileInfo:
    size: int | None = None
    mtime_ns: int | None = None
    sha256: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    frames: int | None = None
    duration_s: float | None = None
    format: str | None = None
    subtype: str | None = None
    error: str | None = None


def _hash_and_probe(real: str) -> _FileInfo:
    """Hash a file (read-only, streamed) and read its audio header. Never raises."""
    info = _FileInfo()
    try:
        with open(real, "rb", buffering=0) as f:
            st = os.fstat(f.fileno())
            info.size, info.mtime_ns = st.st_size, st.st_mtime_ns
            digest = sha256_stream(f, CHUNK_BYTES)
    except FileNotFoundError:
        info.error = "file not found"
        return info
    except OSError as exc:
        info.error = f"unreadable file: {exc.strerror or exc}"
        return info
    info.sha256 = digest
    if info.size == 0:
        info.error = "empty file (0 bytes)"
        return info
    try:
        ai = sf.info(real)
    except Exception as exc:  # libsndfile reports every failure as a RuntimeError/LibsndfileError
        info.error = f"unreadable audio: {sndfile_message(exc)}"
        return info
    info.sample_rate, info.channels, info.frames = int(ai.samplerate), int(ai.channels), int(ai.frames)
    info.duration_s = info.frames / info.sample_rate if info.sample_rate else None
    info.format, info.subtype = ai.format, ai.subtype
    if ai.format in ("WAV", "WAVEX"):
        try:
            with open(real, "rb") as f:
                info.error = wav_data_problem(f, info.size)
        except OSError as exc:
            info.error = f"unreadable file: {exc.strerror or exc}"
    return info


def sndfile_message(exc: Exception) -> str:
    """libsndfile's own words for a failure, on one line."""
    msg = getattr(exc, "error_string", None) or str(exc)
    return " ".join(str(msg).split())


def _stat(real: str | None) -> tuple[int | None, int | None]:
    if real is None:
        return None, None
    try:
        st = os.stat(real)
    except OSError:
        return None, None
    return st.st_size, st.st_mtime_ns


def _reuse_index(
    entries: _Entries, sizes: np.ndarray, mtimes: np.ndarray, previous: pa.Table | None
) -> np.ndarray:
    """For each entry, the row of `previous` whose hash and audio info can be reused, or -1."""
    n = len(entries.source_path)
    reuse = np.full(n, -1, dtype=np.int64)
    if previous is None or previous.num_rows == 0 or n == 0:
        return reuse
    missing = set(CATALOG_SCHEMA.names) - set(previous.column_names)
    if missing:
        log.warning("previous catalog lacks %s; every file is rehashed", sorted(missing))
        return reuse
    prev = pa.table(
        {
            "source_path": previous["source_path"],
            "p_size": previous["size_bytes"],
            "p_mtime": previous["mtime_ns"],
            "p_row": pa.array(np.arange(previous.num_rows, dtype=np.int64)),
        }
    ).filter(pc.is_valid(previous["sha256"]))
    cur = pa.table(
        {
            "source_path": pa.array(entries.source_path, pa.string()),
            "c_size": pa.array(sizes, pa.int64(), mask=sizes < 0),
            "c_mtime": pa.array(mtimes, pa.int64(), mask=sizes < 0),
            "c_row": pa.array(np.arange(n, dtype=np.int64)),
        }
    )
    joined = cur.join(prev, "source_path", join_type="inner", use_threads=True)
    same = pc.and_(pc.equal(joined["c_size"], joined["p_size"]), pc.equal(joined["c_mtime"], joined["p_mtime"]))
    joined = joined.filter(pc.fill_null(same, False))
    reuse[joined["c_row"].to_numpy()] = joined["p_row"].to_numpy()
    # An entry that must not be opened never reuses anything.
    for i, real in enumerate(entries.real_path):
        if real is None:
            reuse[i] = -1
    return reuse


def _batches(indices: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(indices), _BATCH):
        yield indices[start : start + _BATCH]


# ---------------------------------------------------------------------------------------------------
# The scan


def scan(
    source: str | Path,
    *,
    root: Path | None = None,
    previous: pa.Table | None = None,
    workers: int = 4,
    progress: Callable[[int, int], None] | None = None,
    exclude: str | Path | None = None,
) -> tuple[Path, pa.Table]:
    """Catalog an archive.

    source: a folder (walked recursively; root = the folder) or a manifest (.csv or .parquet with a
    `path` column; root = the manifest's folder unless `root` is given).
    previous: the last catalog of the same archive; unchanged files reuse its hash and audio info.
    progress: called as progress(done, total) after each batch of files.
    exclude: OUT, whose files are never taken for sources (ValueError if the root lies inside it).

    Returns (archive root, table). The table has CATALOG_SCHEMA's columns followed, for a manifest,
    by the manifest's other columns carried through verbatim (CSV values as text). A manifest column
    whose name is a catalog column other than `collection` is kept as `manifest_<name>`. Row order is
    the walk order (sorted) for a folder, the manifest order for a manifest. See `scan_stats`.
    """
    source = Path(source)
    manifest: pa.Table | None = None
    real_out = None if exclude is None else os.path.realpath(exclude)
    if source.is_dir():
        if root is not None and Path(os.path.abspath(root)) != Path(os.path.abspath(source)):
            raise ValueError("root can only be given for a manifest source")
        root = Path(os.path.abspath(source))
        _check_apart(root, real_out)
        entries = _walk(root, real_out)
    elif source.is_file():
        manifest = _read_manifest(source)
        root = Path(os.path.abspath(root if root is not None else source.parent))
        if not root.is_dir():
            raise ValueError(f"archive root {root} is not a folder")
        _check_apart(root, real_out)
        entries = _manifest_entries(manifest["path"], root, real_out)
    else:
        raise ValueError(f"source {source} is neither a folder nor a manifest file")

    n = len(entries.source_path)
    sizes = np.full(n, -1, dtype=np.int64)
    mtimes = np.zeros(n, dtype=np.int64)
    for i, real in enumerate(entries.real_path):
        s, m = _stat(real)
        if s is not None:
            sizes[i], mtimes[i] = s, m
        elif real is not None:  # vanished since listing
            entries.real_path[i], entries.error[i] = None, "file not found"

    reuse = _reuse_index(entries, sizes, mtimes, previous)
    infos: list[_FileInfo | None] = [None] * n
    to_hash = [i for i in range(n) if entries.real_path[i] is not None and reuse[i] < 0]
    done = n - len(to_hash)
    if progress:
        progress(done, n)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="acetate-scan") as pool:
        for batch in _batches(to_hash):
            for i, info in zip(batch, pool.map(_hash_and_probe, [entries.real_path[i] for i in batch]), strict=True):
                infos[i] = info
            done += len(batch)
            if progress:
                progress(done, n)

    table = _build_table(entries, sizes, mtimes, reuse, infos, previous, manifest)
    meta = dict(table.schema.metadata or {})
    meta.update(
        {
            b"acetate.hashed": str(len(to_hash)).encode(),
            b"acetate.reused": str(int((reuse >= 0).sum())).encode(),
            b"acetate.duplicates": str(entries.duplicates).encode(),
            b"acetate.root": str(root).encode(),
        }
    )
    return root, table.replace_schema_metadata(meta)


def _check_apart(root: Path, real_out: str | None) -> None:
    if real_out is not None and _inside(os.path.realpath(root), real_out):
        raise ValueError(f"the archive root {root} is inside OUT {real_out} (or is OUT): sources and "
                         "outputs must not mix; choose an OUT outside the archive or in a folder of its own")


def _build_table(
    entries: _Entries,
    sizes: np.ndarray,
    mtimes: np.ndarray,
    reuse: np.ndarray,
    infos: list[_FileInfo | None],
    previous: pa.Table | None,
    manifest: pa.Table | None,
) -> pa.Table:
    n = len(entries.source_path)
    probed = ("sha256", "sample_rate", "channels", "frames", "duration_s", "format", "subtype", "error")
    cols: dict[str, list] = {name: [None] * n for name in probed}
    size_col: list[int | None] = [None] * n
    mtime_col: list[int | None] = [None] * n
    for i in range(n):
        if sizes[i] >= 0:
            size_col[i], mtime_col[i] = int(sizes[i]), int(mtimes[i])
        info = infos[i]
        if info is not None:
            for name in probed:
                cols[name][i] = getattr(info, name)
            if info.size is not None:  # what was actually hashed
                size_col[i], mtime_col[i] = info.size, info.mtime_ns
        elif reuse[i] < 0:
            cols["error"][i] = entries.error[i]

    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in probed:
        columns[name] = pa.array(cols[name], CATALOG_SCHEMA.field(name).type)
    if previous is not None and (reuse >= 0).any():
        # Reused rows take the previous values in one vectorised pass per column.
        mask = pa.array(reuse >= 0)
        take = pa.array(np.where(reuse >= 0, reuse, 0))
        for name in probed:
            prev_vals = previous[name].take(take).cast(CATALOG_SCHEMA.field(name).type)
            columns[name] = pc.if_else(mask, prev_vals, columns[name])

    if manifest is not None and "collection" in manifest.column_names:
        rows = pa.array(entries.manifest_rows, pa.int64())
        collection = manifest["collection"].take(rows).cast(pa.string())
    else:
        collection = pa.array([_first_folder(p) for p in entries.source_path], pa.string())

    now = datetime.now(UTC)
    columns.update(
        {
            "item_id": pa.array([item_id_for(p) for p in entries.source_path], pa.string()),
            "source_path": pa.array(entries.source_path, pa.string()),
            "collection": collection,
            "size_bytes": pa.array(size_col, pa.int64()),
            "mtime_ns": pa.array(mtime_col, pa.int64()),
            "scanned_at": pa.array([now] * n, CATALOG_SCHEMA.field("scanned_at").type),
        }
    )
    table = pa.table([columns[name] for name in CATALOG_SCHEMA.names], schema=CATALOG_SCHEMA)

    if manifest is not None:
        rows = pa.array(entries.manifest_rows, pa.int64())
        for name in manifest.column_names:
            if name in ("path", "collection"):
                continue
            out_name = f"manifest_{name}" if name in CATALOG_SCHEMA.names else name
            table = table.append_column(out_name, manifest[name].take(rows))
    return table


def _first_folder(source_path: str) -> str | None:
    head, sep, _ = source_path.partition("/")
    return head if sep and head not in ("", "..") and not posixpath.isabs(source_path) else None


def rescan(source: str | Path, out: str | Path, *, root: Path | None = None,
           progress: Callable[[int, int], None] | None = None) -> tuple[Path, pa.Table]:
    """Scan SOURCE against OUT's last catalog snapshot (rehashing only what changed) and store the new one."""
    root_path, table = scan(source, root=root, previous=store.read_catalog(out), progress=progress, exclude=out)
    store.write_catalog(out, table)
    return root_path, table
