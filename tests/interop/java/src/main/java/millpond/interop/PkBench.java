package millpond.interop;

import org.apache.paimon.catalog.Catalog;
import org.apache.paimon.catalog.Identifier;
import org.apache.paimon.data.BinaryRow;
import org.apache.paimon.data.GenericRow;
import org.apache.paimon.data.InternalRow;
import org.apache.paimon.data.Timestamp;
import org.apache.paimon.predicate.PredicateBuilder;
import org.apache.paimon.reader.RecordReader;
import org.apache.paimon.schema.Schema;
import org.apache.paimon.table.Table;
import org.apache.paimon.table.sink.BatchTableCommit;
import org.apache.paimon.table.sink.BatchTableWrite;
import org.apache.paimon.table.sink.BatchWriteBuilder;
import org.apache.paimon.table.source.ReadBuilder;
import org.apache.paimon.types.DataTypes;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The primary-key benchmark of bench/run.sh for Paimon Java: the same rows as bench/pk_bench.cc
 * (a splitmix64 function of the row index), upserted as COMMITS commits into a table with BUCKETS
 * buckets and write-only=true (no compaction while writing, as millpond's write phase), then a
 * full compaction of every bucket, a full scan with a checksum, and point lookups by key. Run it
 * single-threaded (-XX:ActiveProcessorCount=1 -XX:+UseSerialGC); CPU time is reported too.
 */
final class PkBench {
    private PkBench() {}

    static long splitMix(long i) {
        long z = (i + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static double cpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime() / 1e9;
    }

    static double maxRssMb() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (Exception e) {
            // not Linux
        }
        return -1;
    }

    static void run(Catalog catalog, Identifier id, Map<String, String> flags, PrintStream out)
            throws Exception {
        long rows = Long.parseLong(flags.getOrDefault("rows", "10000000"));
        long keys = Long.parseLong(flags.getOrDefault("keys", "1000000"));
        int commits = Integer.parseInt(flags.getOrDefault("commits", "10"));
        int buckets = Integer.parseInt(flags.getOrDefault("buckets", "4"));
        int lookups = Integer.parseInt(flags.getOrDefault("lookups", "200"));
        double lookupBudget = Double.parseDouble(flags.getOrDefault("lookup-budget-s", "120"));

        catalog.createDatabase(id.getDatabaseName(), true);
        Schema schema = Schema.newBuilder()
                .column("id", DataTypes.BIGINT().notNull())
                .column("v", DataTypes.DOUBLE())
                .column("ts", DataTypes.TIMESTAMP(3))
                .column("quality", DataTypes.INT())
                .primaryKey("id")
                .option("bucket", String.valueOf(buckets))
                .option("write-only", "true")
                .build();
        catalog.createTable(id, schema, false);
        Table table = catalog.getTable(id);

        // Upserts.
        double cpu0 = cpuSeconds();
        long t0 = System.nanoTime();
        long perCommit = (rows + commits - 1) / commits;
        long next = 0;
        while (next < rows) {
            long end = Math.min(rows, next + perCommit);
            BatchWriteBuilder wb = table.newBatchWriteBuilder();
            try (BatchTableWrite w = wb.newWrite(); BatchTableCommit c = wb.newCommit()) {
                for (long i = next; i < end; i++) {
                    long z = splitMix(i);
                    w.write(GenericRow.of(Long.remainderUnsigned(z, keys),
                            ((z >>> 20) % 100000) / 100.0,
                            Timestamp.fromEpochMillis(1700000000000L + 10 * i),
                            (int) ((z >>> 40) % 100)));
                }
                c.commit(w.prepareCommit());
            }
            next = end;
        }
        double writeS = (System.nanoTime() - t0) / 1e9;
        double writeCpu = cpuSeconds() - cpu0;
        double writeRss = maxRssMb();

        // Full compaction of every bucket.
        cpu0 = cpuSeconds();
        t0 = System.nanoTime();
        Table compacting = table.copy(Collections.singletonMap("write-only", "false"));
        BatchWriteBuilder cb = compacting.newBatchWriteBuilder();
        try (BatchTableWrite w = cb.newWrite(); BatchTableCommit c = cb.newCommit()) {
            for (int b = 0; b < buckets; b++) {
                w.compact(BinaryRow.EMPTY_ROW, b, true);
            }
            c.commit(w.prepareCommit());
        }
        double compactS = (System.nanoTime() - t0) / 1e9;
        double compactCpu = cpuSeconds() - cpu0;
        table = catalog.getTable(id);

        // Full scan.
        cpu0 = cpuSeconds();
        t0 = System.nanoTime();
        ReadBuilder rb = table.newReadBuilder();
        long[] acc = new long[3];
        try (RecordReader<InternalRow> reader = rb.newRead().createReader(rb.newScan().plan().splits())) {
            reader.forEachRemaining(r -> {
                acc[0]++;
                if (!r.isNullAt(1)) acc[1] += Math.round(r.getDouble(1) * 100);
                if (!r.isNullAt(3)) acc[2] += r.getInt(3);
            });
        }
        double scanS = (System.nanoTime() - t0) / 1e9;
        double scanCpu = cpuSeconds() - cpu0;

        // Point lookups by key (same keys as pk_bench: not required, the distribution matters).
        Random rnd = new Random(42);
        PredicateBuilder pb = new PredicateBuilder(table.rowType());
        List<Double> lat = new ArrayList<>();
        long found = 0;
        long lt0 = System.nanoTime();
        for (int i = 0; i < lookups && (System.nanoTime() - lt0) / 1e9 < lookupBudget; i++) {
            long k = Math.floorMod(rnd.nextLong(), keys);
            long l0 = System.nanoTime();
            ReadBuilder lb = table.newReadBuilder().withFilter(pb.equal(0, k));
            try (RecordReader<InternalRow> reader = lb.newRead().createReader(lb.newScan().plan().splits())) {
                long[] f = new long[1];
                reader.forEachRemaining(r -> {
                    if (r.getLong(0) == k) f[0]++;
                });
                found += f[0];
            }
            lat.add((System.nanoTime() - l0) / 1e6);
        }
        Collections.sort(lat);
        double p50 = lat.isEmpty() ? 0 : lat.get(Math.max(0, (int) Math.ceil(0.50 * lat.size()) - 1));
        double p99 = lat.isEmpty() ? 0 : lat.get(Math.max(0, (int) Math.ceil(0.99 * lat.size()) - 1));
        out.printf("{\"engine\":\"paimon-java\",\"rows\":%d,\"keys\":%d,\"commits\":%d,\"buckets\":%d,"
                        + "\"processors\":%d,\"write_seconds\":%.3f,\"write_rows_per_s\":%.0f,"
                        + "\"write_cpu_seconds\":%.3f,\"write_rows_per_cpu_s\":%.0f,\"write_max_rss_mb\":%.1f,"
                        + "\"compact_seconds\":%.3f,\"compact_cpu_seconds\":%.3f,"
                        + "\"scan_rows\":%d,\"checksum\":[%d,%d,%d],\"scan_seconds\":%.3f,"
                        + "\"scan_rows_per_s\":%.0f,\"scan_cpu_seconds\":%.3f,\"scan_rows_per_cpu_s\":%.0f,"
                        + "\"lookups\":%d,\"lookups_found\":%d,\"lookup_p50_ms\":%.3f,\"lookup_p99_ms\":%.3f,"
                        + "\"max_rss_mb\":%.1f}%n",
                rows, keys, commits, buckets, Runtime.getRuntime().availableProcessors(),
                writeS, rows / writeS, writeCpu, rows / writeCpu, writeRss, compactS, compactCpu,
                acc[0], acc[0], acc[1], acc[2], scanS, acc[0] / scanS, scanCpu, acc[0] / scanCpu,
                lat.size(), found, p50, p99, maxRssMb());
    }
}
