// Times millpond's append write (create table, AppendWriter::Write, PrepareCommit, Commit) and
// full scan (TableScan::Read, every column) over Parquet files loaded into memory first (not
// timed). Prints one JSON object per measurement on stdout; bench/run.sh compares them with
// pyarrow and pypaimon (bench/bench_peers.py).
//
//   table_bench --data DIR --warehouse DIR [--layouts unpartitioned,line,line-bucket4]
//               [--batch-rows 131072] [--write-repeat 1] [--scan-repeat 3] [--profile]
//
// Layouts: `unpartitioned` (bucket-unaware, the headline), `line` (partitioned by line,
// bucket-unaware), `line-bucket4` (partitioned by line, 4 buckets by sensor, as in the demo).
// Each layout is written to table bench.<layout> in a fresh folder under the warehouse; the last
// write is kept so that bench_peers.py can read the same data files with pyarrow. --profile adds
// the pieces of a write and a scan timed one by one (needs the unpartitioned layout).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <arrow/api.h>
#include <arrow/compute/api_aggregate.h>
#include <arrow/compute/initialize.h>
#include <arrow/io/file.h>
#include <arrow/util/byte_size.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include "millpond/table/catalog.h"

namespace {

using millpond::Result;
using millpond::Status;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Options {
  std::string data;
  std::string warehouse;
  std::vector<std::string> layouts = {"unpartitioned", "line", "line-bucket4"};
  int64_t batch_rows = 128 * 1024;
  int write_repeat = 1;
  int scan_repeat = 3;
  bool profile = false;
};

struct Data {
  std::shared_ptr<arrow::Schema> schema;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  int64_t rows = 0;
  int64_t bytes = 0;  // Arrow in-memory size: the MB in MB/s
};

Result<Data> LoadParquet(const std::string& dir, int64_t batch_rows) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".parquet") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return Status::Invalid("no .parquet files in ", dir);
  Data d;
  for (const auto& path : files) {
    ARROW_ASSIGN_OR_RAISE(auto in, arrow::io::ReadableFile::Open(path));
    parquet::ArrowReaderProperties props;
    props.set_batch_size(batch_rows);
    parquet::arrow::FileReaderBuilder builder;
    ARROW_RETURN_NOT_OK(builder.Open(in));
    builder.properties(props);
    std::unique_ptr<parquet::arrow::FileReader> reader;
    ARROW_ASSIGN_OR_RAISE(reader, builder.Build());
    ARROW_ASSIGN_OR_RAISE(auto rb_reader, reader->GetRecordBatchReader());
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto batch, rb_reader->Next());
      if (!batch) break;
      d.schema = batch->schema();
      d.rows += batch->num_rows();
      d.bytes += arrow::util::TotalBufferSize(*batch);
      d.batches.push_back(std::move(batch));
    }
  }
  return d;
}

Result<millpond::paimon::TableSchema> SchemaFor(const arrow::Schema& arrow_schema,
                                                const std::string& layout) {
  millpond::paimon::TableSchema schema;
  for (const auto& f : arrow_schema.fields()) {
    millpond::paimon::DataField field;
    field.name = f->name();
    ARROW_ASSIGN_OR_RAISE(field.type, millpond::paimon::FromArrowType(*f->type(), f->nullable()));
    schema.fields.push_back(std::move(field));
  }
  if (layout == "line" || layout == "line-bucket4") schema.partition_keys = {"line"};
  if (layout == "line-bucket4") {
    schema.options["bucket"] = "4";
    schema.options["bucket-key"] = "sensor";
  } else if (layout != "unpartitioned" && layout != "line") {
    return Status::Invalid("unknown layout '", layout, "'");
  }
  return schema;
}

void PrintJson(const std::string& op, const std::string& layout, const Data& d, double secs,
               const std::string& extra) {
  std::printf(
      "{\"bench\":\"millpond\",\"op\":\"%s\",\"layout\":\"%s\",\"rows\":%lld,\"arrow_bytes\":%lld,"
      "\"seconds\":%.4f,\"rows_per_s\":%.0f,\"mb_per_s\":%.1f%s}\n",
      op.c_str(), layout.c_str(), static_cast<long long>(d.rows),
      static_cast<long long>(d.bytes), secs, d.rows / secs, d.bytes / secs / 1e6, extra.c_str());
  std::fflush(stdout);
}

Status WriteOnce(const millpond::table::Catalog& catalog, const Data& d, const std::string& layout,
                 double* best) {
  std::string ident = "bench." + layout;
  std::replace(ident.begin() + 6, ident.end(), '-', '_');
  auto names = *millpond::table::Catalog::ParseIdentifier(ident);
  std::filesystem::remove_all(catalog.TablePath(names.first, names.second));
  ARROW_ASSIGN_OR_RAISE(auto schema, SchemaFor(*d.schema, layout));

  auto t0 = Clock::now();
  ARROW_ASSIGN_OR_RAISE(auto table, catalog.CreateTable(ident, schema));
  ARROW_ASSIGN_OR_RAISE(auto writer, table->NewWriter());
  auto t1 = Clock::now();
  for (const auto& b : d.batches) ARROW_RETURN_NOT_OK(writer->Write(b));
  auto t2 = Clock::now();
  ARROW_ASSIGN_OR_RAISE(auto entries, writer->PrepareCommit());
  auto t3 = Clock::now();
  ARROW_ASSIGN_OR_RAISE(int64_t snapshot, table->Commit(entries));
  auto t4 = Clock::now();

  int64_t file_bytes = 0;
  for (const auto& e : entries) file_bytes += e.file.file_size;
  double secs = Seconds(t0, t4);
  *best = std::min(*best, secs);
  char extra[512];
  std::snprintf(extra, sizeof(extra),
                ",\"table\":\"%s\",\"path\":\"%s\",\"snapshot\":%lld,\"files\":%zu,"
                "\"file_bytes\":%lld,\"phases\":{\"create\":%.4f,\"write\":%.4f,"
                "\"prepare_commit\":%.4f,\"commit\":%.4f}",
                ident.c_str(), table->path().c_str(), static_cast<long long>(snapshot),
                entries.size(), static_cast<long long>(file_bytes), Seconds(t0, t1),
                Seconds(t1, t2), Seconds(t2, t3), Seconds(t3, t4));
  PrintJson("write", layout, d, secs, extra);
  return Status::OK();
}

Status ScanOnce(const millpond::table::Catalog& catalog, const Data& d, const std::string& layout) {
  std::string ident = "bench." + layout;
  std::replace(ident.begin() + 6, ident.end(), '-', '_');
  auto t0 = Clock::now();
  ARROW_ASSIGN_OR_RAISE(auto table, catalog.GetTable(ident));
  ARROW_ASSIGN_OR_RAISE(auto scan, table->NewScan({}));
  auto t1 = Clock::now();
  int64_t rows = 0, batches = 0, bytes = 0;
  ARROW_RETURN_NOT_OK(scan->Read([&](const std::shared_ptr<arrow::RecordBatch>& b) {
    rows += b->num_rows();
    ++batches;
    for (const auto& c : b->columns()) bytes += c->data()->buffers.size();  // touch, no copy
    return Status::OK();
  }));
  auto t2 = Clock::now();
  if (rows != d.rows) {
    return Status::Invalid("scan of ", ident, " returned ", rows, " rows, wrote ", d.rows);
  }
  char extra[256];
  std::snprintf(extra, sizeof(extra),
                ",\"files\":%zu,\"batches\":%lld,\"phases\":{\"plan\":%.4f,\"read\":%.4f}",
                scan->plan().files.size(), static_cast<long long>(batches), Seconds(t0, t1),
                Seconds(t1, t2));
  PrintJson("scan", layout, d, Seconds(t0, t2), extra);
  return Status::OK();
}

// Where a millpond write and scan spend their time, measured piece by piece on the same batches:
// the steps AppendWriter does (schema conformance, per-column MinMax statistics, Parquet encoding
// with millpond's writer settings) and raw Parquet reads of the file millpond wrote.
Status Profile(const millpond::table::Catalog& catalog, const Data& d) {
  ARROW_ASSIGN_OR_RAISE(auto table, catalog.GetTable("bench.unpartitioned"));
  ARROW_ASSIGN_OR_RAISE(auto schema, table->LatestSchema());
  auto report = [&](const std::string& op, double secs, const std::string& extra = "") {
    PrintJson("profile_" + op, "unpartitioned", d, secs, extra);
  };

  auto t0 = Clock::now();
  std::vector<std::shared_ptr<arrow::RecordBatch>> conformed;
  int64_t first_row = 1;
  for (const auto& b : d.batches) {
    ARROW_ASSIGN_OR_RAISE(auto c, millpond::table::ConformToSchema(b, schema, first_row));
    first_row += b->num_rows();
    conformed.push_back(std::move(c));
  }
  report("conform_to_schema", Seconds(t0, Clock::now()));

  // StatsCollector::Update calls compute::MinMax on every column of every batch.
  for (int c = 0; c < d.schema->num_fields(); ++c) {
    t0 = Clock::now();
    for (const auto& b : d.batches) {
      ARROW_ASSIGN_OR_RAISE(auto mm, arrow::compute::MinMax(b->column(c)));
    }
    report("minmax_" + d.schema->field(c)->name(), Seconds(t0, Clock::now()));
  }
  t0 = Clock::now();
  for (const auto& b : d.batches) {
    for (const auto& col : b->columns()) {
      ARROW_ASSIGN_OR_RAISE(auto mm, arrow::compute::MinMax(col));
    }
  }
  report("minmax_all_columns", Seconds(t0, Clock::now()));

  // Raw Parquet writes of the same batches, settings as millpond's ParquetDataFileWriter.
  ARROW_ASSIGN_OR_RAISE(auto scan, table->NewScan({}));
  std::string mp_file = table->path() + "/bucket-0/" + scan->plan().files.at(0).file.file_name;
  int64_t row_group_rows;
  {
    ARROW_ASSIGN_OR_RAISE(auto in, arrow::io::ReadableFile::Open(mp_file));
    ARROW_ASSIGN_OR_RAISE(auto reader, parquet::arrow::OpenFile(in, arrow::default_memory_pool()));
    row_group_rows = reader->parquet_reader()->metadata()->RowGroup(0)->num_rows();
  }
  // variant: "buffered" as millpond writes (batches into buffered row groups cut at ~64 MB),
  // "table" as pq.write_table does (one table, fixed row groups), "threads" = buffered with
  // column-parallel encoding, "nodict" = buffered without dictionaries for ts and value (columns
  // of mostly distinct values, where the dictionary attempt is wasted work).
  auto write_raw = [&](const std::string& variant) -> Status {
    std::string path = catalog.root() + "/raw-" + variant + ".parquet";
    bool buffered = variant != "table";
    parquet::WriterProperties::Builder props;
    props.compression(arrow::Compression::ZSTD);
    props.compression_level(1);
    props.max_row_group_length(buffered ? (1 << 20) : row_group_rows);
    if (variant == "nodict") props.disable_dictionary("ts")->disable_dictionary("value");
    parquet::ArrowWriterProperties::Builder aprops;
    aprops.set_use_threads(variant == "threads");
    ARROW_ASSIGN_OR_RAISE(auto out, arrow::io::FileOutputStream::Open(path));
    auto t = Clock::now();
    ARROW_ASSIGN_OR_RAISE(auto writer,
                          parquet::arrow::FileWriter::Open(*d.schema, arrow::default_memory_pool(),
                                                           out, props.build(), aprops.build()));
    if (buffered) {
      int64_t bytes = 0;
      for (const auto& b : d.batches) {
        ARROW_RETURN_NOT_OK(writer->WriteRecordBatch(*b));
        bytes += arrow::util::TotalBufferSize(*b);
        if (bytes >= (64ll << 20)) {
          ARROW_RETURN_NOT_OK(writer->NewBufferedRowGroup());
          bytes = 0;
        }
      }
    } else {
      ARROW_ASSIGN_OR_RAISE(auto whole, arrow::Table::FromRecordBatches(d.schema, d.batches));
      ARROW_RETURN_NOT_OK(writer->WriteTable(*whole, row_group_rows));
    }
    ARROW_RETURN_NOT_OK(writer->Close());
    ARROW_RETURN_NOT_OK(out->Close());
    double secs = Seconds(t, Clock::now());
    report("parquet_write_" + variant, secs,
           ",\"file_bytes\":" + std::to_string(std::filesystem::file_size(path)));
    std::filesystem::remove(path);
    return Status::OK();
  };
  for (const char* v : {"buffered", "table", "threads", "nodict"}) {
    ARROW_RETURN_NOT_OK(write_raw(v));
  }

  // Raw Parquet reads of millpond's file: as millpond reads it (one thread, pre-buffer) and with
  // Arrow's column-parallel reader (as pyarrow reads).
  for (bool threads : {false, true}) {
    auto t = Clock::now();
    ARROW_ASSIGN_OR_RAISE(auto in, arrow::io::ReadableFile::Open(mp_file));
    parquet::ArrowReaderProperties props;
    props.set_use_threads(threads);
    props.set_pre_buffer(true);
    parquet::arrow::FileReaderBuilder builder;
    ARROW_RETURN_NOT_OK(builder.Open(in));
    builder.properties(props);
    std::unique_ptr<parquet::arrow::FileReader> reader;
    ARROW_ASSIGN_OR_RAISE(reader, builder.Build());
    ARROW_ASSIGN_OR_RAISE(auto t_out, reader->ReadTable());
    report(threads ? "parquet_read_threads" : "parquet_read_1thread", Seconds(t, Clock::now()),
           ",\"files\":" + std::to_string(scan->plan().files.size()));
  }
  return Status::OK();
}

Status Run(const Options& o) {
  ARROW_RETURN_NOT_OK(arrow::compute::Initialize());
  auto t0 = Clock::now();
  ARROW_ASSIGN_OR_RAISE(auto data, LoadParquet(o.data, o.batch_rows));
  std::fprintf(stderr, "table_bench: loaded %lld rows (%.1f MB in Arrow, %zu batches) in %.1f s\n",
               static_cast<long long>(data.rows), data.bytes / 1e6, data.batches.size(),
               Seconds(t0, Clock::now()));
  ARROW_ASSIGN_OR_RAISE(auto catalog,
                        millpond::table::Catalog::Open(o.warehouse, /*create_if_missing=*/true));
  for (const auto& layout : o.layouts) {
    double best = 1e300;
    for (int i = 0; i < o.write_repeat; ++i) ARROW_RETURN_NOT_OK(WriteOnce(*catalog, data, layout, &best));
    for (int i = 0; i < o.scan_repeat; ++i) ARROW_RETURN_NOT_OK(ScanOnce(*catalog, data, layout));
  }
  if (o.profile) ARROW_RETURN_NOT_OK(Profile(*catalog, data));
  return Status::OK();
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "table_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--data") {
      o.data = next();
    } else if (a == "--warehouse") {
      o.warehouse = next();
    } else if (a == "--layouts") {
      o.layouts = Split(next());
    } else if (a == "--batch-rows") {
      o.batch_rows = std::stoll(next());
    } else if (a == "--write-repeat") {
      o.write_repeat = std::stoi(next());
    } else if (a == "--scan-repeat") {
      o.scan_repeat = std::stoi(next());
    } else if (a == "--profile") {
      o.profile = true;
    } else {
      std::fprintf(stderr,
                   "usage: table_bench --data DIR --warehouse DIR [--layouts a,b] "
                   "[--batch-rows N] [--write-repeat N] [--scan-repeat N] [--profile]\n");
      return 2;
    }
  }
  if (o.data.empty() || o.warehouse.empty()) {
    std::fprintf(stderr, "table_bench: --data and --warehouse are required\n");
    return 2;
  }
  Status st = Run(o);
  if (!st.ok()) {
    std::fprintf(stderr, "table_bench: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}
