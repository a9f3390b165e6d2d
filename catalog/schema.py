"""Arrow schemas of a catalog entry and a quality record: the single definition every engine,
query and report imports. Versioned; readers unify schemas so older partitions stay readable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = 3  # 2: <kind>_severity, dropouts_s and wow_pct measures, coding_history; 3: rumble

KINDS: tuple[str, ...] = ("noise", "hum", "clicks", "clipping", "bandwidth", "dropouts", "wow", "dc_offset",
                          "rumble")
STATUSES: tuple[str, ...] = ("restored", "clean", "needs_review", "failed", "skipped")
TERMINAL_STATUSES: tuple[str, ...] = STATUSES
CONTENTS: tuple[str, ...] = ("speech", "music", "mixed", "silence")

# Before/after measures: name -> unit. Each becomes `<name>_before` and `<name>_after`.
MEASURES: dict[str, str] = {
    "snr_db": "dB",
    "hum_db": "dB relative to signal power",
    "clicks_per_min": "1/min",
    "clipped_fraction": "fraction of samples",
    "bandwidth_hz": "Hz",
    "loudness_lufs": "LUFS (BS.1770)",
    "true_peak_dbtp": "dBTP",
    "dc_offset": "fraction of full scale",
    "dropouts_s": "s (total length of dropouts)",
    "wow_pct": "% (peak speed deviation, wow and flutter)",
    "rumble_db": "dB (1-20 Hz power re the programme)",
}

# The physical unit of each detector's severity (`<kind>_severity`), so readers need not guess.
SEVERITY_UNITS: dict[str, str] = {
    "noise": "dB SNR",
    "hum": "dB relative to signal power",
    "clicks": "clicks per minute",
    "clipping": "fraction of samples",
    "bandwidth": "Hz (effective bandwidth)",
    "dropouts": "s (total length)",
    "wow": "% (peak speed deviation)",
    "dc_offset": "fraction of full scale",
    "rumble": "dB (1-20 Hz power re the programme)",
}

TIMINGS: tuple[str, ...] = ("analyze_s", "restore_s", "total_s")

UTC_TS = pa.timestamp("us", tz="UTC")

CATALOG_SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("source_path", pa.string()),  # relative to the archive root, POSIX separators
        ("collection", pa.string()),
        ("size_bytes", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("sha256", pa.string()),
        ("sample_rate", pa.int32()),
        ("channels", pa.int32()),
        ("frames", pa.int64()),
        ("duration_s", pa.float64()),
        ("format", pa.string()),
        ("subtype", pa.string()),
        ("error", pa.string()),  # why the entry cannot be processed (unreadable, outside root, ...)
        ("scanned_at", UTC_TS),
    ],
    metadata={"acetate.schema": "catalog", "acetate.schema_version": str(SCHEMA_VERSION)},
)

CHAIN_STEP = pa.struct(
    [
        ("op", pa.string()),
        ("fixes", pa.string()),
        ("version", pa.string()),
        ("model", pa.string()),
        ("model_version", pa.string()),
        ("params", pa.string()),  # JSON: ops take different parameters
    ]
)


def _quality_fields() -> list[pa.Field]:
    fields = [
        pa.field("schema_version", pa.int16()),
        pa.field("item_id", pa.string()),
        pa.field("source_path", pa.string()),
        pa.field("source_sha256", pa.string()),
        pa.field("collection", pa.string()),
        pa.field("processed_at", UTC_TS),
        pa.field("status", pa.string()),
        pa.field("output_path", pa.string()),
        pa.field("output_sha256", pa.string()),
        pa.field("error", pa.string()),
        pa.field("review_reason", pa.string()),
        pa.field("sample_rate", pa.int32()),
        pa.field("channels", pa.int32()),
        pa.field("frames", pa.int64()),
        pa.field("duration_s", pa.float64()),
        pa.field("content", pa.string()),
        pa.field("content_score", pa.float64()),
    ]
    for kind in KINDS:
        fields += [pa.field(f"has_{kind}", pa.bool_()), pa.field(f"{kind}_score", pa.float64()),
                   pa.field(f"{kind}_severity", pa.float64())]
    fields.append(pa.field("chain", pa.list_(CHAIN_STEP)))
    for name in MEASURES:
        fields += [pa.field(f"{name}_before", pa.float64()), pa.field(f"{name}_after", pa.float64())]
    fields += [pa.field(t, pa.float64()) for t in TIMINGS]
    fields += [
        pa.field("pipeline_fingerprint", pa.string()),
        pa.field("acetate_version", pa.string()),
        pa.field("engine", pa.string()),
        pa.field("worker", pa.string()),
        # the CodingHistory text written into the access copy (FLAC tag / BWF bext); null without one
        pa.field("coding_history", pa.string()),
    ]
    return fields


# batch_id is the hive partition key (OUT/quality/batch_id=<id>/), so it is not stored in the files.
QUALITY_SCHEMA = pa.schema(
    _quality_fields(),
    metadata={"acetate.schema": "quality", "acetate.schema_version": str(SCHEMA_VERSION)},
)
PARTITION_SCHEMA = pa.schema([("batch_id", pa.string())])


def quality_record(**values: Any) -> dict[str, Any]:
    """A quality row with every schema column present (missing ones null); unknown keys are refused."""
    unknown = set(values) - set(QUALITY_SCHEMA.names) - {"batch_id"}
    if unknown:
        raise KeyError(f"not quality columns: {sorted(unknown)}")
    row = {name: None for name in QUALITY_SCHEMA.names}
    row["schema_version"] = SCHEMA_VERSION
    row.update(values)
    if row["status"] not in STATUSES:
        raise ValueError(f"status {row['status']!r} not one of {STATUSES}")
    return row


def records_to_table(records: list[Mapping[str, Any]]) -> pa.Table:
    """Quality rows -> an Arrow table of QUALITY_SCHEMA (batch_id dropped: it is the partition)."""
    columns = {name: [r.get(name) for r in records] for name in QUALITY_SCHEMA.names}
    return pa.table(columns, schema=QUALITY_SCHEMA)
