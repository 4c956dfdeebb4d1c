// pk_bench: millpond's primary-key table benchmark (issue 3, point 10), driven by bench/run.sh.
//
//   pk_bench write --warehouse WH [--rows 10000000] [--keys 1000000] [--commits 10]
//                  [--batch 100000] [--buckets 4] [--buffer 256mb] [--option K=V ...]
//       creates WH/bench.db/pk and upserts ROWS sensor-like rows over KEYS distinct keys as
//       COMMITS commits (a stream: Write() per BATCH rows, then CommitKeyValueWrite per commit: the
//       APPEND snapshot, then the COMPACT one of the writer's compactions, as `millpond write` and
//       Paimon's writers commit them).
//   pk_bench compact --warehouse WH
//       full compaction (CompactTable(full=true)): one COMPACT snapshot, one run per bucket.
//   pk_bench read --warehouse WH [--keys 1000000] [--lookups 200]
//       full scan (merge-on-read, or after compaction when the table is compacted), then point
//       lookups by full key (`id = K`, a fresh TableScan each, planning included).
//
// Each prints one JSON line. Max RSS is getrusage(RUSAGE_SELF).ru_maxrss of this process, so
// run each phase (and each write-buffer-size) in its own process.
//
// The rows are a pure function of their index i (bench/pk_peers.py and the Java tool use the same
// splitmix64 formula, so every engine upserts the same data):
//   z = splitmix64(i); id = z % KEYS; v = ((z >> 20) % 100000) / 100.0;
//   ts = 1700000000000 + 10 * i (TIMESTAMP(3)); quality = (z >> 40) % 100
// The final table holds, per key, the row with the largest i. A checksum (rows, sum(v * 100),
// sum(quality)) of the scan lets the runs of all engines be compared.
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <arrow/api.h>
#include <arrow/compute/initialize.h>

#include "millpond/paimon/schema.h"
#include "millpond/table/catalog.h"
#include "millpond/table/compaction.h"
#include "millpond/table/key_value_writer.h"

namespace mp = millpond;
using mp::Result;
using mp::Status;

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string cmd, warehouse;
  int64_t rows = 10'000'000, keys = 1'000'000, commits = 10, batch = 100'000, lookups = 200;
  int buckets = 4;
  std::string buffer;  // write-buffer-size; empty: the table default (256mb)
  std::vector<std::pair<std::string, std::string>> options;  // --option K=V: table options
};

uint64_t SplitMix(uint64_t i) {
  uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

double MaxRssMb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;  // Linux: KiB
}

std::shared_ptr<arrow::Schema> InputSchema() {
  return arrow::schema({arrow::field("id", arrow::int64(), false),
                        arrow::field("v", arrow::float64()),
                        arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MILLI)),
                        arrow::field("quality", arrow::int32())});
}

Result<std::shared_ptr<arrow::RecordBatch>> MakeBatch(int64_t first, int64_t n, int64_t keys) {
  arrow::Int64Builder id;
  arrow::DoubleBuilder v;
  arrow::TimestampBuilder ts(arrow::timestamp(arrow::TimeUnit::MILLI),
                             arrow::default_memory_pool());
  arrow::Int32Builder q;
  ARROW_RETURN_NOT_OK(id.Reserve(n));
  ARROW_RETURN_NOT_OK(v.Reserve(n));
  ARROW_RETURN_NOT_OK(ts.Reserve(n));
  ARROW_RETURN_NOT_OK(q.Reserve(n));
  for (int64_t i = first; i < first + n; ++i) {
    uint64_t z = SplitMix(static_cast<uint64_t>(i));
    id.UnsafeAppend(static_cast<int64_t>(z % static_cast<uint64_t>(keys)));
    v.UnsafeAppend(static_cast<double>((z >> 20) % 100000) / 100.0);
    ts.UnsafeAppend(1700000000000ll + 10 * i);
    q.UnsafeAppend(static_cast<int32_t>((z >> 40) % 100));
  }
  std::vector<std::shared_ptr<arrow::Array>> cols(4);
  ARROW_RETURN_NOT_OK(id.Finish(&cols[0]));
  ARROW_RETURN_NOT_OK(v.Finish(&cols[1]));
  ARROW_RETURN_NOT_OK(ts.Finish(&cols[2]));
  ARROW_RETURN_NOT_OK(q.Finish(&cols[3]));
  return arrow::RecordBatch::Make(InputSchema(), n, std::move(cols));
}

Status Write(const Args& a) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, mp::table::Catalog::Open(a.warehouse, true));
  mp::paimon::TableSchema schema;
  for (auto [name, type] : std::vector<std::pair<std::string, std::string>>{
           {"id", "BIGINT NOT NULL"}, {"v", "DOUBLE"}, {"ts", "TIMESTAMP(3)"}, {"quality", "INT"}}) {
    mp::paimon::DataField f;
    f.name = name;
    ARROW_ASSIGN_OR_RAISE(f.type, mp::paimon::ParseDataType(type));
    schema.fields.push_back(std::move(f));
  }
  schema.primary_keys = {"id"};
  schema.options["bucket"] = std::to_string(a.buckets);
  if (!a.buffer.empty()) schema.options["write-buffer-size"] = a.buffer;
  for (const auto& [k, v] : a.options) schema.options[k] = v;
  ARROW_ASSIGN_OR_RAISE(schema, mp::table::PrepareKeyValueTableSchema(std::move(schema)));
  ARROW_ASSIGN_OR_RAISE(auto table, catalog->CreateTable("bench.pk", schema));

  const double rss0 = MaxRssMb();
  const double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  double gen_s = 0;
  int64_t flushes = 0, files = 0, max_buffered = 0;
  const int64_t per_commit = (a.rows + a.commits - 1) / a.commits;
  int64_t next = 0;
  for (int64_t c = 0; c < a.commits && next < a.rows; ++c) {
    ARROW_ASSIGN_OR_RAISE(auto writer, table->NewKeyValueWriter());
    const int64_t end = std::min(a.rows, next + per_commit);
    while (next < end) {
      const int64_t n = std::min(a.batch, end - next);
      const auto g0 = Clock::now();
      ARROW_ASSIGN_OR_RAISE(auto batch, MakeBatch(next, n, a.keys));
      gen_s += Seconds(g0, Clock::now());
      ARROW_RETURN_NOT_OK(writer->Write(batch));
      max_buffered = std::max(max_buffered, writer->buffered_bytes());
      next += n;
    }
    ARROW_RETURN_NOT_OK(mp::table::CommitKeyValueWrite(*table, *writer).status());
    flushes += writer->flush_count();
  }
  const double s = Seconds(t0, Clock::now());
  const double cpu = CpuSeconds() - cpu0;
  {  // live data files after the last commit (not timed)
    ARROW_ASSIGN_OR_RAISE(auto scan, table->NewScan({}));
    files = static_cast<int64_t>(scan->plan().files.size());
  }
  std::printf(
      "{\"engine\":\"millpond\",\"phase\":\"write\",\"rows\":%lld,\"keys\":%lld,\"commits\":%lld,"
      "\"buckets\":%d,\"write_buffer_size\":\"%s\",\"seconds\":%.3f,\"gen_seconds\":%.3f,"
      "\"rows_per_s\":%.0f,\"cpu_seconds\":%.3f,\"rows_per_cpu_s\":%.0f,\"flushes\":%lld,"
      "\"files\":%lld,\"max_buffered_mb\":%.1f,\"rss_before_mb\":%.1f,\"max_rss_mb\":%.1f}\n",
      static_cast<long long>(a.rows), static_cast<long long>(a.keys),
      static_cast<long long>(a.commits), a.buckets, a.buffer.empty() ? "default" : a.buffer.c_str(),
      s, gen_s, a.rows / s, cpu, a.rows / cpu, static_cast<long long>(flushes),
      static_cast<long long>(files), max_buffered / 1048576.0, rss0, MaxRssMb());
  return Status::OK();
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * v.size())) - 1;
  return v[std::min(i, v.size() - 1)];
}

Status Read(const Args& a) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, mp::table::Catalog::Open(a.warehouse, false));
  ARROW_ASSIGN_OR_RAISE(auto table, catalog->GetTable("bench.pk"));
  ARROW_ASSIGN_OR_RAISE(auto latest, table->snapshots().LatestSnapshotId());
  std::string kind;
  if (latest) {
    ARROW_ASSIGN_OR_RAISE(auto snap, table->snapshots().ReadSnapshot(*latest));
    kind = snap.commit_kind;
  }

  // Full scan.
  const double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  ARROW_ASSIGN_OR_RAISE(auto scan, table->NewScan({}));
  const int64_t files = static_cast<int64_t>(scan->plan().files.size());
  int64_t rows = 0, vsum = 0, qsum = 0;
  ARROW_RETURN_NOT_OK(scan->Read([&](const std::shared_ptr<arrow::RecordBatch>& b) {
    rows += b->num_rows();
    auto v = std::static_pointer_cast<arrow::DoubleArray>(b->GetColumnByName("v"));
    auto q = std::static_pointer_cast<arrow::Int32Array>(b->GetColumnByName("quality"));
    for (int64_t i = 0; i < b->num_rows(); ++i) {
      if (v->IsValid(i)) vsum += std::llround(v->Value(i) * 100);
      if (q->IsValid(i)) qsum += q->Value(i);
    }
    return Status::OK();
  }));
  const double scan_s = Seconds(t0, Clock::now());
  const double scan_cpu = CpuSeconds() - cpu0;

  // Point lookups.
  std::mt19937_64 rnd(42);
  std::vector<double> lat;
  int64_t found = 0;
  for (int64_t i = 0; i < a.lookups; ++i) {
    const int64_t k = static_cast<int64_t>(rnd() % static_cast<uint64_t>(a.keys));
    const auto l0 = Clock::now();
    mp::table::ScanOptions o;
    o.where = "id = " + std::to_string(k);
    ARROW_ASSIGN_OR_RAISE(auto s, table->NewScan(o));
    ARROW_ASSIGN_OR_RAISE(auto t, s->ReadAll());
    lat.push_back(Seconds(l0, Clock::now()) * 1000);
    found += t->num_rows();
  }
  std::printf(
      "{\"engine\":\"millpond\",\"phase\":\"read\",\"snapshot_kind\":\"%s\",\"compacted\":%s,"
      "\"files\":%lld,\"rows\":%lld,\"checksum\":[%lld,%lld,%lld],\"scan_seconds\":%.3f,"
      "\"scan_rows_per_s\":%.0f,\"scan_cpu_seconds\":%.3f,\"scan_rows_per_cpu_s\":%.0f,"
      "\"lookups\":%lld,\"lookups_found\":%lld,\"lookup_p50_ms\":%.3f,\"lookup_p99_ms\":%.3f,"
      "\"max_rss_mb\":%.1f}\n",
      kind.c_str(), kind == "COMPACT" ? "true" : "false", static_cast<long long>(files),
      static_cast<long long>(rows), static_cast<long long>(rows), static_cast<long long>(vsum),
      static_cast<long long>(qsum), scan_s, rows / scan_s, scan_cpu, rows / scan_cpu,
      static_cast<long long>(a.lookups), static_cast<long long>(found), Percentile(lat, 50),
      Percentile(lat, 99), MaxRssMb());
  return Status::OK();
}

Status Compact(const Args& a) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, mp::table::Catalog::Open(a.warehouse, false));
  ARROW_ASSIGN_OR_RAISE(auto table, catalog->GetTable("bench.pk"));
  const double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  ARROW_RETURN_NOT_OK(mp::table::CompactTable(*table, /*full=*/true).status());
  const double s = Seconds(t0, Clock::now());
  std::printf("{\"engine\":\"millpond\",\"phase\":\"compact\",\"full\":true,"
              "\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"max_rss_mb\":%.1f}\n",
              s, CpuSeconds() - cpu0, MaxRssMb());
  return Status::OK();
}

Result<Args> Parse(int argc, char** argv) {
  Args a;
  if (argc < 2) return Status::Invalid("usage: pk_bench write|read --warehouse WH [...]");
  a.cmd = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) return Status::Invalid(k, " needs a value");
    std::string v = argv[++i];
    if (k == "--warehouse") a.warehouse = v;
    else if (k == "--rows") a.rows = std::stoll(v);
    else if (k == "--keys") a.keys = std::stoll(v);
    else if (k == "--commits") a.commits = std::stoll(v);
    else if (k == "--batch") a.batch = std::stoll(v);
    else if (k == "--lookups") a.lookups = std::stoll(v);
    else if (k == "--buckets") a.buckets = std::stoi(v);
    else if (k == "--buffer") a.buffer = v;
    else if (k == "--option" && v.find('=') != std::string::npos && v.find('=') > 0)
      a.options.emplace_back(v.substr(0, v.find('=')), v.substr(v.find('=') + 1));
    else return Status::Invalid("unknown option ", k);
  }
  if (a.warehouse.empty()) return Status::Invalid("--warehouse is required");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  setenv("ARROW_DEFAULT_MEMORY_POOL", "jemalloc", /*overwrite=*/0);  // as the millpond CLI does
  auto run = [&]() -> Status {
    ARROW_RETURN_NOT_OK(arrow::compute::Initialize());
    ARROW_ASSIGN_OR_RAISE(Args a, Parse(argc, argv));
    if (a.cmd == "write") return Write(a);
    if (a.cmd == "read") return Read(a);
    if (a.cmd == "compact") return Compact(a);
    return Status::Invalid("unknown command ", a.cmd);
  };
  Status st = run();
  if (!st.ok()) {
    std::cerr << "pk_bench: " << st.ToString() << std::endl;
    return 1;
  }
  return 0;
}
