package millpond.interop;

import org.apache.paimon.data.Decimal;
import org.apache.paimon.data.InternalArray;
import org.apache.paimon.data.InternalMap;
import org.apache.paimon.data.InternalRow;
import org.apache.paimon.data.Timestamp;
import org.apache.paimon.types.ArrayType;
import org.apache.paimon.types.DataField;
import org.apache.paimon.types.DataType;
import org.apache.paimon.types.DecimalType;
import org.apache.paimon.types.LocalZonedTimestampType;
import org.apache.paimon.types.MapType;
import org.apache.paimon.types.MultisetType;
import org.apache.paimon.types.RowType;
import org.apache.paimon.types.TimestampType;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;

/**
 * Canonical JSON-lines form of Paimon rows; the same form as tests/interop/canonical.py produces
 * from a pyarrow Table. The spec lives in tests/interop/README.md; keep the three in step.
 */
final class Canonical {
    private Canonical() {}

    /** One row as one compact JSON object, fields in schema order. */
    static String row(InternalRow row, RowType type) {
        StringBuilder sb = new StringBuilder();
        appendRow(sb, row, type);
        return sb.toString();
    }

    private static void appendRow(StringBuilder sb, InternalRow row, RowType type) {
        sb.append('{');
        List<DataField> fields = type.getFields();
        for (int i = 0; i < fields.size(); i++) {
            if (i > 0) sb.append(',');
            appendString(sb, fields.get(i).name());
            sb.append(':');
            appendValue(sb, InternalRow.createFieldGetter(fields.get(i).type(), i).getFieldOrNull(row),
                    fields.get(i).type());
        }
        sb.append('}');
    }

    private static void appendValue(StringBuilder sb, Object v, DataType t) {
        if (v == null) {
            sb.append("null");
            return;
        }
        switch (t.getTypeRoot()) {
            case BOOLEAN:
                sb.append(((Boolean) v) ? "true" : "false");
                return;
            case TINYINT:
            case SMALLINT:
            case INTEGER:
            case BIGINT:
                sb.append(((Number) v).longValue());
                return;
            case FLOAT:
                sb.append(floatRepr((Float) v));
                return;
            case DOUBLE:
                sb.append(doubleRepr((Double) v));
                return;
            case DECIMAL:
                appendString(sb, ((Decimal) v).toBigDecimal()
                        .setScale(((DecimalType) t).getScale()).toPlainString());
                return;
            case CHAR:
            case VARCHAR:
                appendString(sb, v.toString());
                return;
            case BINARY:
            case VARBINARY:
                appendString(sb, Base64.getEncoder().encodeToString((byte[]) v));
                return;
            case BLOB:
                appendString(sb, Base64.getEncoder().encodeToString(
                        ((org.apache.paimon.data.Blob) v).toData()));
                return;
            case DATE:
                appendString(sb, LocalDate.ofEpochDay((Integer) v).toString());
                return;
            case TIME_WITHOUT_TIME_ZONE:
                appendString(sb, time((Integer) v));
                return;
            case TIMESTAMP_WITHOUT_TIME_ZONE:
                appendString(sb, timestamp((Timestamp) v, ((TimestampType) t).getPrecision() > 6 ? 9 : 6, false));
                return;
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                appendString(sb, timestamp((Timestamp) v,
                        ((LocalZonedTimestampType) t).getPrecision() > 6 ? 9 : 6, true));
                return;
            case ARRAY: {
                DataType et = ((ArrayType) t).getElementType();
                InternalArray a = (InternalArray) v;
                InternalArray.ElementGetter g = InternalArray.createElementGetter(et);
                sb.append('[');
                for (int i = 0; i < a.size(); i++) {
                    if (i > 0) sb.append(',');
                    appendValue(sb, g.getElementOrNull(a, i), et);
                }
                sb.append(']');
                return;
            }
            case MAP:
                appendMap(sb, (InternalMap) v, ((MapType) t).getKeyType(), ((MapType) t).getValueType());
                return;
            case MULTISET:
                appendMap(sb, (InternalMap) v, ((MultisetType) t).getElementType(),
                        new org.apache.paimon.types.IntType(false));
                return;
            case ROW:
                appendRow(sb, (InternalRow) v, (RowType) t);
                return;
            default:
                // VARIANT, VECTOR, ...: not in the canonical form yet.
                appendString(sb, "<unsupported " + t.asSQLString() + ">");
        }
    }

    /** MAP: a JSON array of [key, value] pairs, sorted by the key's canonical text. */
    private static void appendMap(StringBuilder sb, InternalMap m, DataType kt, DataType vt) {
        InternalArray ks = m.keyArray();
        InternalArray vs = m.valueArray();
        InternalArray.ElementGetter kg = InternalArray.createElementGetter(kt);
        InternalArray.ElementGetter vg = InternalArray.createElementGetter(vt);
        List<String[]> pairs = new ArrayList<>();
        for (int i = 0; i < m.size(); i++) {
            StringBuilder k = new StringBuilder();
            appendValue(k, kg.getElementOrNull(ks, i), kt);
            StringBuilder val = new StringBuilder();
            appendValue(val, vg.getElementOrNull(vs, i), vt);
            pairs.add(new String[] {k.toString(), val.toString()});
        }
        pairs.sort(Comparator.comparing((String[] p) -> p[0]).thenComparing(p -> p[1]));
        sb.append('[');
        for (int i = 0; i < pairs.size(); i++) {
            if (i > 0) sb.append(',');
            sb.append('[').append(pairs.get(i)[0]).append(',').append(pairs.get(i)[1]).append(']');
        }
        sb.append(']');
    }

    /** TIME: milliseconds of the day as HH:mm:ss.SSS. */
    static String time(int millisOfDay) {
        int ms = millisOfDay % 1000;
        int s = millisOfDay / 1000;
        return String.format("%02d:%02d:%02d.%03d", s / 3600, (s / 60) % 60, s % 60, ms);
    }

    /**
     * TIMESTAMP: yyyy-MM-ddTHH:mm:ss.ffffff (precision 0-6) or .fffffffff (7-9), the wall clock
     * of the stored value read as UTC; with a "Z" suffix for TIMESTAMP_WITH_LOCAL_TIME_ZONE (the
     * stored value is the UTC instant). Never depends on the JVM's time zone.
     */
    static String timestamp(Timestamp ts, int digits, boolean utc) {
        long millis = ts.getMillisecond();
        long sec = Math.floorDiv(millis, 1000L);
        long nanos = Math.floorMod(millis, 1000L) * 1_000_000L + ts.getNanoOfMillisecond();
        long day = Math.floorDiv(sec, 86400L);
        long sod = Math.floorMod(sec, 86400L);
        StringBuilder sb = new StringBuilder();
        sb.append(LocalDate.ofEpochDay(day).toString());
        sb.append(String.format("T%02d:%02d:%02d.", sod / 3600, (sod / 60) % 60, sod % 60));
        String frac = String.format("%09d", nanos);
        sb.append(digits == 9 ? frac : frac.substring(0, 6));
        if (utc) sb.append('Z');
        return sb.toString();
    }

    // ---- floating point: the shortest round-tripping digits, laid out as Python's repr(float).

    static String floatRepr(float f) {
        if (Float.isNaN(f)) return "\"NaN\"";
        if (Float.isInfinite(f)) return f > 0 ? "\"Infinity\"" : "\"-Infinity\"";
        if (f == 0.0f) return (Float.floatToRawIntBits(f) < 0) ? "-0.0" : "0.0";
        BigDecimal exact = new BigDecimal((double) f);
        for (int p = 1; p <= 9; p++) {
            BigDecimal r = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
            if (Float.parseFloat(r.toString()) == f) return pyRepr(r);
        }
        return pyRepr(exact.round(new MathContext(9, RoundingMode.HALF_EVEN)));
    }

    static String doubleRepr(double d) {
        if (Double.isNaN(d)) return "\"NaN\"";
        if (Double.isInfinite(d)) return d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
        if (d == 0.0) return (Double.doubleToRawLongBits(d) < 0) ? "-0.0" : "0.0";
        BigDecimal exact = new BigDecimal(d);
        for (int p = 1; p <= 17; p++) {
            BigDecimal r = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
            if (Double.parseDouble(r.toString()) == d) return pyRepr(r);
        }
        return pyRepr(exact.round(new MathContext(17, RoundingMode.HALF_EVEN)));
    }

    /** Python's repr layout: fixed notation when -4 < decpt <= 16, else d.ddde[+-]XX. */
    private static String pyRepr(BigDecimal v) {
        BigDecimal s = v.stripTrailingZeros();
        String sign = s.signum() < 0 ? "-" : "";
        String digits = s.unscaledValue().abs().toString();
        int decpt = digits.length() - s.scale(); // value = 0.digits * 10^decpt
        StringBuilder sb = new StringBuilder(sign);
        if (decpt > -4 && decpt <= 16) {
            if (decpt <= 0) {
                sb.append("0.");
                for (int i = 0; i < -decpt; i++) sb.append('0');
                sb.append(digits);
            } else if (decpt >= digits.length()) {
                sb.append(digits);
                for (int i = digits.length(); i < decpt; i++) sb.append('0');
                sb.append(".0");
            } else {
                sb.append(digits, 0, decpt).append('.').append(digits.substring(decpt));
            }
        } else {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) sb.append('.').append(digits.substring(1));
            int e = decpt - 1;
            sb.append('e').append(e < 0 ? '-' : '+');
            int ae = Math.abs(e);
            if (ae < 10) sb.append('0');
            sb.append(ae);
        }
        return sb.toString();
    }

    /** A JSON string as Python's json.dumps(ensure_ascii=True) writes it. */
    static void appendString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                case '\b': sb.append("\\b"); break;
                case '\f': sb.append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }
}
