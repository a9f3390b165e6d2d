"""Several source manifests as one archive: a nightly batch over the catalogs of several collections
(or several exports of one catalogue) into one OUT.

Each manifest's `path` column is resolved against its own folder (or the `root` given for all), and
the rows are concatenated into one Parquet manifest whose root is the folder the manifests' roots
share, so every source path stays relative to one archive root and the catalog snapshot, the plan
and the quality records work as for a single source. Columns of different manifests are unified by
name; a `source_manifest` column says which manifest listed each row.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from acetate.catalog.scan import _read_manifest


def combine_manifests(manifests: Sequence[str | Path], dest: str | Path,
                      root: str | Path | None = None) -> tuple[Path, Path]:
    """Write one manifest at `dest` listing every row of `manifests`; returns (dest, archive root)."""
    tables, roots = [], []
    for m in map(Path, manifests):
        if not m.is_file():
            raise ValueError(f"{m} is not a manifest file (several sources must all be manifests)")
        table = _read_manifest(m)
        base = os.path.abspath(root if root is not None else m.parent)
        roots.append(base)
        given = table["path"].to_pylist()
        resolved = [p if p is None or not str(p).strip() else os.path.normpath(os.path.join(base, str(p).strip()))
                    for p in given]
        table = table.set_column(table.schema.get_field_index("path"), "path", pa.array(resolved, pa.string()))
        tables.append(table.append_column("source_manifest", pa.array([str(m)] * table.num_rows, pa.string())))
    if not tables:
        raise ValueError("no source given")
    try:
        combined = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"the manifests' columns do not agree: {exc}") from exc
    archive_root = Path(os.path.abspath(root)) if root is not None else Path(os.path.commonpath(roots))
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    pq.write_table(combined, tmp)
    tmp.replace(dest)
    return dest, archive_root
