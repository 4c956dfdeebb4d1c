package millpond.interop;

import org.apache.paimon.catalog.Catalog;
import org.apache.paimon.catalog.CatalogContext;
import org.apache.paimon.catalog.CatalogFactory;
import org.apache.paimon.catalog.Identifier;
import org.apache.paimon.data.BinaryString;
import org.apache.paimon.data.Decimal;
import org.apache.paimon.data.GenericArray;
import org.apache.paimon.data.GenericMap;
import org.apache.paimon.data.GenericRow;
import org.apache.paimon.data.InternalRow;
import org.apache.paimon.data.Timestamp;
import org.apache.paimon.disk.IOManager;
import org.apache.paimon.options.Options;
import org.apache.paimon.reader.RecordReader;
import org.apache.paimon.schema.Schema;
import org.apache.paimon.shade.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.paimon.table.FileStoreTable;
import org.apache.paimon.table.Table;
import org.apache.paimon.table.sink.BatchTableCommit;
import org.apache.paimon.table.sink.BatchTableWrite;
import org.apache.paimon.table.sink.BatchWriteBuilder;
import org.apache.paimon.table.source.ReadBuilder;
import org.apache.paimon.table.source.Split;
import org.apache.paimon.table.source.StreamTableScan;
import org.apache.paimon.table.source.TableRead;
import org.apache.paimon.types.ArrayType;
import org.apache.paimon.types.DataField;
import org.apache.paimon.types.DataType;
import org.apache.paimon.types.DecimalType;
import org.apache.paimon.types.MapType;
import org.apache.paimon.types.RowKind;
import org.apache.paimon.types.RowType;
import org.apache.paimon.utils.JsonSerdeUtil;

import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes Paimon tables with Apache Paimon Java, for millpond's interop tests.
 *
 * <pre>
 *   read   WAREHOUSE DB.TABLE [--snapshot N]      rows as canonical JSON lines, sorted
 *   schema WAREHOUSE DB.TABLE                     the table's current schema as Paimon JSON
 *   write  WAREHOUSE DB.TABLE FILE.jsonl... [--schema PAIMON_SCHEMA_JSON]
 *                                                 one commit per file of its rows (canonical JSON
 *                                                 lines, an optional "_ROW_KIND": "+I"/"-U"/"+U"/"-D");
 *                                                 creates the table from --schema if absent
 *   stream WAREHOUSE DB.TABLE [--from-snapshot N] [--to-snapshot M]
 *                                                 Paimon's streaming read (DataTableStreamScan:
 *                                                 full read of the latest snapshot, or the changes
 *                                                 from snapshot N; then delta or changelog files)
 *                                                 up to snapshot M (default: the latest), one line
 *                                                 per row: {"_ROW_KIND":"+U",...canonical row}
 *   bench  WAREHOUSE DB.TABLE [--rows N --keys K --commits C --buckets B --lookups L]
 *                                                 primary-key benchmark (PkBench, bench/run.sh)
 * </pre>
 */
public final class PaimonTool {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            usage();
        }
        String cmd = args[0];
        String warehouse = args[1];
        Identifier id = Identifier.fromString(args[2]);
        Map<String, String> flags = new HashMap<>();
        List<String> positional = new ArrayList<>();
        for (int i = 3; i < args.length; i++) {
            if (args[i].startsWith("--") && i + 1 < args.length) {
                flags.put(args[i].substring(2), args[++i]);
            } else {
                positional.add(args[i]);
            }
        }
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        try (Catalog catalog = openCatalog(warehouse)) {
            switch (cmd) {
                case "read":
                    read(catalog, id, flags.get("snapshot"), out);
                    break;
                case "schema":
                    Table t = catalog.getTable(id);
                    out.println(JsonSerdeUtil.toJson(((FileStoreTable) t).schema()));
                    break;
                case "bench":
                    PkBench.run(catalog, id, flags, out);
                    break;
                case "write":
                    if (positional.isEmpty()) usage();
                    write(catalog, id, positional, flags.get("schema"));
                    break;
                case "stream":
                    stream(catalog, id, flags.get("from-snapshot"), flags.get("to-snapshot"), out);
                    break;
                default:
                    usage();
            }
        }
        out.flush();
        // Paimon may leave non-daemon executor threads behind.
        System.exit(0);
    }

    private static void usage() {
        System.err.println("usage: PaimonTool read WAREHOUSE DB.TABLE [--snapshot N]\n"
                + "       PaimonTool schema WAREHOUSE DB.TABLE\n"
                + "       PaimonTool write WAREHOUSE DB.TABLE FILE.jsonl... [--schema JSON]\n"
                + "       PaimonTool stream WAREHOUSE DB.TABLE [--from-snapshot N] [--to-snapshot M]");
        System.exit(2);
    }

    static Catalog openCatalog(String warehouse) {
        Options options = new Options();
        options.set("warehouse", warehouse);
        return CatalogFactory.createCatalog(CatalogContext.create(options));
    }

    static void read(Catalog catalog, Identifier id, String snapshot, PrintStream out) throws Exception {
        Table table = catalog.getTable(id);
        if (snapshot != null) {
            table = table.copy(Collections.singletonMap("scan.snapshot-id", snapshot));
        }
        RowType type = table.rowType();
        ReadBuilder rb = table.newReadBuilder();
        List<Split> splits = rb.newScan().plan().splits();
        List<String> lines = new ArrayList<>();
        try (RecordReader<InternalRow> reader = rb.newRead().createReader(splits)) {
            reader.forEachRemaining(row -> lines.add(Canonical.row(row, type)));
        }
        Collections.sort(lines);
        for (String line : lines) {
            out.println(line);
        }
    }

    static void write(Catalog catalog, Identifier id, List<String> files, String schemaJson)
            throws Exception {
        if (schemaJson != null) {
            catalog.createDatabase(id.getDatabaseName(), true);
            catalog.createTable(id, parseSchema(schemaJson), true);
        }
        Table table = catalog.getTable(id);
        RowType type = table.rowType();
        BatchWriteBuilder wb = table.newBatchWriteBuilder();
        for (String file : files) {
            writeOne(wb, type, file);
        }
    }

    private static void writeOne(BatchWriteBuilder wb, RowType type, String file) throws Exception {
        try (BatchTableWrite w = wb.newWrite(); BatchTableCommit c = wb.newCommit()) {
            // Lookup compaction (changelog-producer lookup, first-row) spills to local disk.
            w.withIOManager(IOManager.create(System.getProperty("java.io.tmpdir")));
            for (String line : Files.readAllLines(Paths.get(file), StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                JsonNode obj = JsonSerdeUtil.OBJECT_MAPPER_INSTANCE.readTree(line);
                GenericRow row = toRow(obj, type);
                if (obj.has("_ROW_KIND")) row.setRowKind(RowKind.fromShortString(obj.get("_ROW_KIND").asText()));
                w.write(row);
            }
            c.commit(w.prepareCommit());
        }
    }

    /**
     * Streams the table's changes with Paimon's own stream scan until snapshot `to` (default: the
     * latest) was planned, then stops; a plan that finds no new snapshot also ends the stream.
     */
    static void stream(Catalog catalog, Identifier id, String from, String to, PrintStream out)
            throws Exception {
        FileStoreTable table = (FileStoreTable) catalog.getTable(id);
        Map<String, String> options = new HashMap<>();
        if (from != null) {
            options.put("scan.mode", "from-snapshot");
            options.put("scan.snapshot-id", from);
        }
        table = table.copy(options);
        Long latest = table.snapshotManager().latestSnapshotId();
        long end = to != null ? Long.parseLong(to) : (latest == null ? 0 : latest);
        RowType type = table.rowType();
        ReadBuilder rb = table.newReadBuilder();
        StreamTableScan scan = rb.newStreamScan();
        TableRead read = rb.newRead();
        Long before = null;
        while (true) {
            List<Split> splits = scan.plan().splits();
            Long next = scan.checkpoint();
            if (!splits.isEmpty()) {
                try (RecordReader<InternalRow> reader = read.createReader(splits)) {
                    reader.forEachRemaining(row -> out.println("{\"_ROW_KIND\":\""
                            + row.getRowKind().shortString() + "\"," + Canonical.row(row, type).substring(1)));
                }
            }
            if (next != null && next > end) break;
            if (splits.isEmpty() && java.util.Objects.equals(next, before)) break;
            before = next;
        }
    }

    /**
     * {"fields":[{"name":"a","type":"INT"},{"name":"m","type":{"type":"MAP","key":"INT","value":"STRING"}}],
     *  "partitionKeys":[...], "primaryKeys":[...], "options":{...}} — field types as in Paimon's
     * schema files.
     */
    static Schema parseSchema(String json) throws Exception {
        JsonNode root = JsonSerdeUtil.OBJECT_MAPPER_INSTANCE.readTree(json);
        Schema.Builder b = Schema.newBuilder();
        for (JsonNode f : root.get("fields")) {
            b.column(f.get("name").asText(), org.apache.paimon.types.DataTypeJsonParser.parseDataType(f.get("type")));
        }
        List<String> keys = new ArrayList<>();
        if (root.has("partitionKeys")) root.get("partitionKeys").forEach(k -> keys.add(k.asText()));
        b.partitionKeys(keys);
        List<String> pks = new ArrayList<>();
        if (root.has("primaryKeys")) root.get("primaryKeys").forEach(k -> pks.add(k.asText()));
        b.primaryKey(pks);
        if (root.has("options")) {
            Iterator<Map.Entry<String, JsonNode>> it = root.get("options").fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                // "path" is added by the catalog when it loads a table (`schema` prints it); not an input.
                if (!e.getKey().equals("path")) b.option(e.getKey(), e.getValue().asText());
            }
        }
        return b.build();
    }

    private static GenericRow toRow(JsonNode obj, RowType type) {
        GenericRow row = new GenericRow(type.getFieldCount());
        List<DataField> fields = type.getFields();
        for (int i = 0; i < fields.size(); i++) {
            row.setField(i, toInternal(obj.get(fields.get(i).name()), fields.get(i).type()));
        }
        return row;
    }

    /** The inverse of the canonical form (README.md), for the types a test is likely to write. */
    private static Object toInternal(JsonNode v, DataType t) {
        if (v == null || v.isNull()) return null;
        switch (t.getTypeRoot()) {
            case BOOLEAN: return v.asBoolean();
            case TINYINT: return (byte) v.asInt();
            case SMALLINT: return (short) v.asInt();
            case INTEGER: return v.asInt();
            case BIGINT: return v.asLong();
            case FLOAT: return v.isTextual() ? Float.parseFloat(v.asText()) : (float) v.asDouble();
            case DOUBLE: return v.isTextual() ? Double.parseDouble(v.asText()) : v.asDouble();
            case DECIMAL: {
                DecimalType d = (DecimalType) t;
                return Decimal.fromBigDecimal(new BigDecimal(v.asText()), d.getPrecision(), d.getScale());
            }
            case CHAR:
            case VARCHAR: return BinaryString.fromString(v.asText());
            case BINARY:
            case VARBINARY: return Base64.getDecoder().decode(v.asText());
            case DATE: return (int) LocalDate.parse(v.asText()).toEpochDay();
            case TIME_WITHOUT_TIME_ZONE:
                return (int) (LocalTime.parse(v.asText()).toNanoOfDay() / 1_000_000L);
            case TIMESTAMP_WITHOUT_TIME_ZONE:
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE: {
                String s = v.asText();
                if (s.endsWith("Z")) s = s.substring(0, s.length() - 1);
                return Timestamp.fromLocalDateTime(LocalDateTime.parse(s));
            }
            case ARRAY: {
                DataType et = ((ArrayType) t).getElementType();
                Object[] a = new Object[v.size()];
                for (int i = 0; i < a.length; i++) a[i] = toInternal(v.get(i), et);
                return new GenericArray(a);
            }
            case MAP: {
                MapType mt = (MapType) t;
                Map<Object, Object> m = new LinkedHashMap<>();
                for (JsonNode pair : v) {
                    m.put(toInternal(pair.get(0), mt.getKeyType()), toInternal(pair.get(1), mt.getValueType()));
                }
                return new GenericMap(m);
            }
            case ROW: return toRow(v, (RowType) t);
            default:
                throw new IllegalArgumentException("write: unsupported type " + t.asSQLString());
        }
    }
}
