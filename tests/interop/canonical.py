"""Canonical JSON-lines form of table rows, shared by every interop tool.

The Paimon Java tool (tests/interop/java, Canonical.java) prints the same form from Paimon's
InternalRow; this module prints it from a pyarrow Table (millpond's `scan --format parquet`
output, pypaimon's read result). Two readers agree on a table exactly when their sorted lines are
equal. The spec is in tests/interop/README.md; keep the three in step.

Pure Python + pyarrow (no numpy), so it imports in both .venv (pyarrow 26) and .venv-paimon
(pypaimon's older pyarrow).

    rows(table)  -> sorted list of lines
    python canonical.py FILE.parquet   # prints the sorted lines
"""

import base64
import datetime
import json
import math
import struct
import sys

import pyarrow as pa

_EPOCH = datetime.date(1970, 1, 1)


def rows(table):
    """The table's rows as canonical JSON lines (str), sorted."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    names = table.column_names
    columns = []
    for col in table.columns:
        texts = []
        for chunk in col.chunks:
            texts.extend(_texts(chunk))
        columns.append(texts)
    keys = [json.dumps(n) for n in names]
    lines = []
    for i in range(table.num_rows):
        lines.append("{" + ",".join(k + ":" + c[i] for k, c in zip(keys, columns)) + "}")
    lines.sort()
    return lines


def dumps(table):
    """rows(table) joined, one line each, newline-terminated."""
    return "".join(line + "\n" for line in rows(table))


def float32_repr(x):
    """The shortest decimal that round-trips through float32, laid out as Python's repr."""
    if x != x:
        return '"NaN"'
    if math.isinf(x):
        return '"Infinity"' if x > 0 else '"-Infinity"'
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    for p in range(1, 10):
        s = "%.*e" % (p - 1, x)
        try:
            if struct.unpack("<f", struct.pack("<f", float(s)))[0] == x:
                return repr(float(s))
        except OverflowError:  # rounded past FLT_MAX
            continue
    return repr(x)


def float64_repr(x):
    if x != x:
        return '"NaN"'
    if math.isinf(x):
        return '"Infinity"' if x > 0 else '"-Infinity"'
    return repr(float(x))


def _ts_text(value, unit, tz):
    """value in `unit` since the epoch -> yyyy-mm-ddTHH:MM:SS.ffffff[fff][Z], read as UTC."""
    per_sec = {"s": 1, "ms": 1000, "us": 1000000, "ns": 1000000000}[unit]
    sec, frac = divmod(value, per_sec)
    nanos = frac * (1000000000 // per_sec)
    days, sod = divmod(sec, 86400)
    date = _EPOCH + datetime.timedelta(days=days)
    digits = "%09d" % nanos
    if unit != "ns":
        digits = digits[:6]
    text = "%sT%02d:%02d:%02d.%s" % (date.isoformat(), sod // 3600, sod // 60 % 60, sod % 60, digits)
    return text + ("Z" if tz is not None else "")


def _time_text(value, unit):
    ms = {"s": value * 1000, "ms": value, "us": value // 1000, "ns": value // 1000000}[unit]
    sec, ms = divmod(ms, 1000)
    return "%02d:%02d:%02d.%03d" % (sec // 3600, sec // 60 % 60, sec % 60, ms)


def _ints(arr):
    if pa.types.is_time32(arr.type):  # pyarrow has no time32 -> int64 cast; go through int32
        return arr.cast(pa.int32()).cast(pa.int64()).to_pylist()
    return arr.cast(pa.int64()).to_pylist()


def _texts(arr):
    """Canonical JSON text of every element of a pyarrow Array."""
    t = arr.type
    n = len(arr)
    if pa.types.is_dictionary(t):
        return _texts(arr.dictionary_decode())
    if pa.types.is_null(t):
        return ["null"] * n
    valid = arr.is_valid().to_pylist()

    def each(fn, values):
        return [fn(v) if ok else "null" for v, ok in zip(values, valid)]

    if pa.types.is_boolean(t):
        return each(lambda v: "true" if v else "false", arr.to_pylist())
    if pa.types.is_integer(t):
        return each(str, arr.to_pylist())
    if pa.types.is_float32(t) or pa.types.is_float16(t):
        return each(float32_repr, arr.cast(pa.float64()).to_pylist())
    if pa.types.is_float64(t):
        return each(float64_repr, arr.to_pylist())
    if pa.types.is_decimal(t):
        return each(lambda v: json.dumps("{:f}".format(v)), arr.to_pylist())
    if pa.types.is_string(t) or pa.types.is_large_string(t) or _is(t, "is_string_view"):
        return each(json.dumps, arr.to_pylist())
    if (pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)
            or _is(t, "is_binary_view")):
        return each(lambda v: json.dumps(base64.b64encode(v).decode("ascii")), arr.to_pylist())
    if pa.types.is_date(t):
        return each(lambda v: json.dumps(v.isoformat()), arr.to_pylist())
    if pa.types.is_time(t):
        return each(lambda v: json.dumps(_time_text(v, t.unit)), _ints(arr))
    if pa.types.is_timestamp(t):
        return each(lambda v: json.dumps(_ts_text(v, t.unit, t.tz)), _ints(arr))
    if pa.types.is_struct(t):
        names = [json.dumps(t.field(i).name) for i in range(t.num_fields)]
        children = [_texts(c) for c in arr.flatten()]
        out = []
        for i in range(n):
            if not valid[i]:
                out.append("null")
            else:
                out.append("{" + ",".join(k + ":" + c[i] for k, c in zip(names, children)) + "}")
        return out
    if pa.types.is_map(t):
        # Unsliced children addressed through the (sliced) offsets.
        entries = arr.values
        key_arr, item_arr = entries.flatten()
        keys, items = _texts(key_arr), _texts(item_arr)
        offsets = arr.offsets.to_pylist()
        out = []
        for i in range(n):
            if not valid[i]:
                out.append("null")
                continue
            pairs = sorted((keys[j], items[j]) for j in range(offsets[i], offsets[i + 1]))
            out.append("[" + ",".join("[" + k + "," + v + "]" for k, v in pairs) + "]")
        return out
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        values = _texts(arr.values)
        offsets = arr.offsets.to_pylist()
        return [("[" + ",".join(values[offsets[i]:offsets[i + 1]]) + "]") if valid[i] else "null"
                for i in range(n)]
    if pa.types.is_fixed_size_list(t):
        values = _texts(arr.flatten())
        size = t.list_size
        # flatten() drops null lists' slots only in some versions; index by the non-null count.
        out, pos = [], 0
        for i in range(n):
            if not valid[i]:
                out.append("null")
                if len(values) == n * size:
                    pos += size
                continue
            out.append("[" + ",".join(values[pos:pos + size]) + "]")
            pos += size
        return out
    raise TypeError("canonical: unsupported arrow type %s" % t)


def _is(t, predicate):
    fn = getattr(pa.types, predicate, None)
    return bool(fn and fn(t))


def main(argv):
    import pyarrow.parquet as pq
    if len(argv) != 2:
        sys.stderr.write("usage: canonical.py FILE.parquet\n")
        return 2
    sys.stdout.write(dumps(pq.read_table(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
