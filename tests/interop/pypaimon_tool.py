"""Reads and writes Paimon tables with pypaimon, for millpond's interop tests.

Run with the pypaimon environment (it pins its own pyarrow):

    .venv-paimon/bin/python tests/interop/pypaimon_tool.py read   WAREHOUSE DB.TABLE [--snapshot N]
    .venv-paimon/bin/python tests/interop/pypaimon_tool.py schema WAREHOUSE DB.TABLE
    .venv-paimon/bin/python tests/interop/pypaimon_tool.py write  WAREHOUSE DB.TABLE --input FILE.parquet
        [--schema JSON] [--partition K1,K2] [--primary-key K1,K2] [--bucket N --bucket-key K1,K2]
        [--option KEY=VALUE ...]

`read` prints the rows in the canonical JSON-lines form (canonical.py, README.md), sorted.
`write` creates the database and table if absent and commits the Parquet file's rows as one
snapshot; call it again for another commit. The table's schema is --schema if given (Paimon's
schema-file JSON: {"fields":[{"name":..,"type":"INT"}, ...], "partitionKeys":[..],
"primaryKeys":[..], "options":{..}}; ids are assigned), else the Parquet file's Arrow schema.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import canonical  # noqa: E402


def _catalog(warehouse):
    from pypaimon import CatalogFactory
    return CatalogFactory.create({"warehouse": warehouse})


def read_table(warehouse, name, snapshot=None):
    """The table (at `snapshot`, else the latest) as a pyarrow Table."""
    table = _catalog(warehouse).get_table(name)
    if snapshot is not None:
        table = table.copy({"scan.snapshot-id": str(snapshot)})
    rb = table.new_read_builder()
    splits = rb.new_scan().plan().splits()
    return rb.new_read().to_arrow(splits)


def _schema_from_json(text):
    from pypaimon.schema.data_types import DataField
    from pypaimon.schema.schema import Schema
    spec = json.loads(text)
    fields = []
    for i, f in enumerate(spec["fields"]):
        d = dict(f)
        d.setdefault("id", i)
        fields.append(DataField.from_dict(d))
    return Schema(fields=fields, partition_keys=spec.get("partitionKeys", []),
                  primary_keys=spec.get("primaryKeys", []), options=spec.get("options", {}))


def write_table(warehouse, name, data, schema_json=None, partition=None, primary_key=None,
                bucket=None, bucket_key=None, options=None):
    from pypaimon.schema.schema import Schema
    catalog = _catalog(warehouse)
    db = name.split(".", 1)[0]
    catalog.create_database(db, True)
    if schema_json:
        schema = _schema_from_json(schema_json)
    else:
        schema = Schema.from_pyarrow_schema(data.schema, partition_keys=partition or [],
                                            primary_keys=primary_key or [], options={})
    if partition and schema_json:
        schema.partition_keys = partition
    if primary_key and schema_json:
        schema.primary_keys = primary_key
    opts = dict(schema.options)
    if bucket is not None:
        opts["bucket"] = str(bucket)
    if bucket_key:
        opts["bucket-key"] = ",".join(bucket_key)
    opts.update(options or {})
    schema.options = opts
    catalog.create_table(name, schema, True)
    table = catalog.get_table(name)
    wb = table.new_batch_write_builder()
    write = wb.new_write()
    commit = wb.new_commit()
    try:
        # Match the table's Arrow schema (field order, nullability) before writing.
        write.write_arrow(data)
        commit.commit(write.prepare_commit())
    finally:
        write.close()
        commit.close()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="pypaimon_tool.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("read")
    r.add_argument("warehouse")
    r.add_argument("table")
    r.add_argument("--snapshot", type=int)
    s = sub.add_parser("schema")
    s.add_argument("warehouse")
    s.add_argument("table")
    w = sub.add_parser("write")
    w.add_argument("warehouse")
    w.add_argument("table")
    w.add_argument("--input", required=True, help="Parquet file with the rows")
    w.add_argument("--schema", help="Paimon schema JSON (default: the Parquet file's schema)")
    w.add_argument("--partition", help="comma-separated partition keys")
    w.add_argument("--primary-key", help="comma-separated primary keys")
    w.add_argument("--bucket", type=int)
    w.add_argument("--bucket-key", help="comma-separated bucket keys")
    w.add_argument("--option", action="append", default=[], help="KEY=VALUE table option")
    a = ap.parse_args(argv)

    split = (lambda v: [x for x in v.split(",") if x] if v else None)
    if a.cmd == "read":
        sys.stdout.write(canonical.dumps(read_table(a.warehouse, a.table, a.snapshot)))
    elif a.cmd == "schema":
        table = _catalog(a.warehouse).get_table(a.table)
        print(table.table_schema.to_json() if hasattr(table.table_schema, "to_json")
              else json.dumps(table.table_schema.__dict__, default=str))
    else:
        data = pq.read_table(a.input)
        opts = dict(o.split("=", 1) for o in a.option)
        write_table(a.warehouse, a.table, data, a.schema, split(a.partition), split(a.primary_key),
                    a.bucket, split(a.bucket_key), opts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
