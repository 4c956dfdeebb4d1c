// AppendWriter: schema conformance, partition/bucket routing, rolling Parquet files.
#include "millpond/table/append_writer.h"

#include <algorithm>
#include <cctype>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api_scalar.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/cast.h>
#include <arrow/compute/exec.h>
#include <arrow/compute/row/grouper.h>
#include <arrow/record_batch.h>
#include <arrow/scalar.h>
#include <arrow/util/byte_size.h>

#include "millpond/paimon/binary_row.h"
#include "millpond/paimon/data_file.h"
#include "millpond/table/manifest_io.h"
#include "blob_columns.h"
#include "row_router.h"
#include "stats_collector.h"

namespace millpond::table {

Result<int64_t> ParseMemorySize(const std::string& text) {
  std::string s;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) s += static_cast<char>(std::tolower(c));
  }
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0 || i > 15) return Status::Invalid("bad memory size '", text, "'");
  int64_t n = std::stoll(s.substr(0, i));
  std::string unit = s.substr(i);
  int64_t mul = 1;
  if (unit.empty() || unit == "b" || unit == "bytes") {
    mul = 1;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    mul = 1ll << 10;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    mul = 1ll << 20;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    mul = 1ll << 30;
  } else if (unit == "t" || unit == "tb" || unit == "tib") {
    mul = 1ll << 40;
  } else {
    return Status::Invalid("bad memory size unit in '", text, "'");
  }
  return n * mul;
}

namespace {

std::string ScalarText(const arrow::Array& arr, int64_t row) {
  auto s = arr.GetScalar(row);
  if (!s.ok()) return "?";
  std::string t = (*s)->ToString();
  if (t.size() > 40) t = t.substr(0, 40) + "...";
  return t;
}

}  // namespace

Result<std::shared_ptr<arrow::RecordBatch>> ConformToSchema(
    const std::shared_ptr<arrow::RecordBatch>& batch, const paimon::TableSchema& schema,
    int64_t first_row) {
  for (const auto& f : batch->schema()->fields()) {
    if (schema.FieldIndex(f->name()) < 0) {
      std::string names;
      for (const auto& sf : schema.fields) names += (names.empty() ? "" : ", ") + sf.name;
      return Status::Invalid("input column '", f->name(), "' is not in the table (columns: ",
                             names, ")");
    }
  }
  arrow::ArrayVector columns;
  for (const auto& field : schema.fields) {
    auto target = paimon::ToArrowType(*field.type);
    auto col = batch->GetColumnByName(field.name);
    if (!col) {
      if (!field.type->nullable) {
        return Status::Invalid("input lacks column '", field.name, "', which is NOT NULL");
      }
      ARROW_ASSIGN_OR_RAISE(col, arrow::MakeArrayOfNull(target, batch->num_rows()));
    } else if (!col->type()->Equals(*target)) {
      auto cast = arrow::compute::Cast(*col, target, arrow::compute::CastOptions::Safe());
      if (!cast.ok()) {
        // Find the first value that does not convert, to name its row.
        for (int64_t r = 0; r < col->length(); ++r) {
          if (col->IsNull(r)) continue;
          auto one = arrow::compute::Cast(*col->Slice(r, 1), target,
                                          arrow::compute::CastOptions::Safe());
          if (!one.ok()) {
            return Status::Invalid("row ", first_row + r, ", column '", field.name, "': value ",
                                   ScalarText(*col, r), " does not fit ",
                                   field.type->ToString());
          }
        }
        return Status::Invalid("column '", field.name, "': cannot convert ",
                               col->type()->ToString(), " to ", field.type->ToString(), ": ",
                               cast.status().message());
      }
      col = *cast;
    }
    if (!field.type->nullable && col->null_count() > 0) {
      for (int64_t r = 0; r < col->length(); ++r) {
        if (col->IsNull(r)) {
          return Status::Invalid("row ", first_row + r, ", column '", field.name,
                                 "': null in a NOT NULL column");
        }
      }
    }
    columns.push_back(std::move(col));
  }
  return arrow::RecordBatch::Make(paimon::ToArrowSchema(schema.fields), batch->num_rows(),
                                  std::move(columns));
}

struct AppendWriter::BucketWriter {
  std::string partition;  // serialized BinaryRow
  std::string dir;        // <table>/<partition path>bucket-N
  int32_t bucket = 0;
  std::unique_ptr<paimon::ParquetDataFileWriter> file;
  std::unique_ptr<StatsCollector> stats;
  std::string file_name;
  int64_t first_sequence = 0;
  std::unique_ptr<BlobFileSetWriter> blobs;  // `.blob` files beside the open data file
};

AppendWriter::~AppendWriter() = default;

Result<std::unique_ptr<AppendWriter>> AppendWriter::Make(std::shared_ptr<fs::FileSystem> fs,
                                                         std::string table_path,
                                                         paimon::TableSchema schema,
                                                         int64_t first_sequence_number) {
  if (!schema.primary_keys.empty()) {
    return Status::NotImplemented("table has a primary key; primary-key writes are not supported");
  }
  std::string format = schema.Option("file.format", "parquet");
  if (format != "parquet") {
    return Status::NotImplemented("millpond writes Parquet data files only; the table has file.format=",
                                  format);
  }
  auto w = std::unique_ptr<AppendWriter>(new AppendWriter());
  w->fs_ = std::move(fs);
  w->table_path_ = std::move(table_path);
  w->schema_ = std::move(schema);
  w->next_sequence_ = first_sequence_number;
  for (const auto& k : w->schema_.partition_keys) {
    int i = w->schema_.FieldIndex(k);
    if (i < 0) return Status::Invalid("partition key '", k, "' is not a column");
    w->partition_columns_.push_back(i);
    w->partition_types_.push_back(w->schema_.fields[i].type);
  }
  w->num_buckets_ = w->schema_.NumBuckets();
  if (w->num_buckets_ == 0 || w->num_buckets_ < -1) {
    return Status::Invalid("bad bucket count ", w->num_buckets_);
  }
  if (w->num_buckets_ > 0) {
    for (const auto& k : w->schema_.BucketKeys()) {
      int i = w->schema_.FieldIndex(k);
      if (i < 0) return Status::Invalid("bucket key '", k, "' is not a column");
      w->bucket_columns_.push_back(i);
      w->bucket_types_.push_back(w->schema_.fields[i].type);
    }
    if (w->bucket_columns_.empty()) {
      return Status::Invalid("a table with bucket=", w->num_buckets_, " needs a bucket-key");
    }
  }
  ARROW_ASSIGN_OR_RAISE(w->target_file_size_,
                        ParseMemorySize(w->schema_.Option("target-file-size", "256 mb")));
  ARROW_ASSIGN_OR_RAISE(w->blob_target_file_size_,
                        ParseMemorySize(w->schema_.Option(paimon::kBlobTargetFileSizeOption,
                                                          std::to_string(w->target_file_size_))));
  w->data_evolution_ = IsDataEvolution(w->schema_);
  const auto descriptor_names = DescriptorBlobFields(w->schema_);
  for (size_t i = 0; i < w->schema_.fields.size(); ++i) {
    const auto& f = w->schema_.fields[i];
    if (f.type->root == paimon::TypeRoot::kBlob && !w->data_evolution_) {
      return Status::Invalid("BLOB column ", f.name, " needs data-evolution.enabled=true");
    }
    if (IsBlobFileField(w->schema_, static_cast<int>(i))) {
      w->blob_file_fields_.push_back(static_cast<int>(i));
      continue;
    }
    if (descriptor_names.count(f.name)) w->descriptor_fields_.push_back(static_cast<int>(i));
    w->file_fields_.push_back(f);
    w->file_columns_.push_back(static_cast<int>(i));
  }
  w->compression_ = w->schema_.Option("file.compression", "zstd");
  try {
    w->compression_level_ = std::stoi(w->schema_.Option("file.compression.zstd-level", "1"));
  } catch (...) {
    return Status::Invalid("bad file.compression.zstd-level");
  }
  return w;
}

Result<AppendWriter::BucketWriter*> AppendWriter::WriterFor(
    const std::shared_ptr<arrow::RecordBatch>& batch, int64_t row, int32_t bucket) {
  std::vector<std::shared_ptr<arrow::Scalar>> values;
  for (int c : partition_columns_) {
    ARROW_ASSIGN_OR_RAISE(auto s, batch->column(c)->GetScalar(row));
    values.push_back(std::move(s));
  }
  ARROW_ASSIGN_OR_RAISE(std::string partition,
                        paimon::SerializeBinaryRow(values, partition_types_));
  std::string key = partition + '\x01' + std::to_string(bucket);
  auto it = writers_.find(key);
  if (it != writers_.end()) return it->second.get();
  auto w = std::make_unique<BucketWriter>();
  w->partition = partition;
  w->bucket = bucket;
  ARROW_ASSIGN_OR_RAISE(w->dir, BucketPath(table_path_, schema_, partition, bucket));
  auto* raw = w.get();
  writers_[key] = std::move(w);
  return raw;
}

Status AppendWriter::WriteToBucket(BucketWriter* w,
                                   const std::shared_ptr<arrow::RecordBatch>& all_columns) {
  // BLOB columns kept in `.blob` files are not part of the data file.
  std::shared_ptr<arrow::RecordBatch> batch = all_columns;
  if (!blob_file_fields_.empty()) {
    ARROW_ASSIGN_OR_RAISE(batch, all_columns->SelectColumns(file_columns_));
  }
  // Rows are written in slices sized to what still fits the open file, so files roll close to
  // target-file-size however large the incoming batches are.
  const int64_t bytes = std::max<int64_t>(1, arrow::util::TotalBufferSize(*batch));
  const double est_bytes_per_row = static_cast<double>(bytes) / 4.0 / batch->num_rows();
  int64_t offset = 0;
  while (offset < batch->num_rows()) {
    if (!w->file) {
      std::string base = "data-" + NewUuid() + "-";
      w->file_name = base + "0.parquet";
      std::string path = fs::JoinPath(w->dir, w->file_name);
      if (!blob_file_fields_.empty()) {
        w->blobs = std::make_unique<BlobFileSetWriter>(fs_.get(), w->dir, base, &schema_,
                                                       blob_file_fields_, blob_target_file_size_);
      }
      paimon::ParquetWriteOptions opts;
      opts.compression = compression_;
      opts.compression_level = compression_level_;
      opts.row_group_bytes = std::clamp<int64_t>(target_file_size_ / 2, 1, 64ll << 20);
      ARROW_ASSIGN_OR_RAISE(w->file,
                            paimon::ParquetDataFileWriter::Open(*fs_, path, file_fields_, opts));
      written_paths_.push_back(path);
      w->stats = std::make_unique<StatsCollector>(file_fields_);
      w->first_sequence = next_sequence_;
    }
    int64_t room = target_file_size_ - w->file->EstimatedSize();
    int64_t fit = std::max<int64_t>(1024, static_cast<int64_t>(room / est_bytes_per_row));
    int64_t len = std::min(fit, batch->num_rows() - offset);
    auto part = len == batch->num_rows() ? batch : batch->Slice(offset, len);
    ARROW_RETURN_NOT_OK(w->file->Write(*part));
    ARROW_RETURN_NOT_OK(w->stats->Update(*part));
    if (w->blobs) {
      ARROW_RETURN_NOT_OK(w->blobs->Write(*all_columns->Slice(offset, len)));
    }
    next_sequence_ += len;
    offset += len;
    if (w->file->EstimatedSize() >= target_file_size_ || offset < batch->num_rows()) {
      ARROW_RETURN_NOT_OK(RollFile(w));
    }
  }
  return Status::OK();
}

Status AppendWriter::RollFile(BucketWriter* w) {
  if (!w->file) return Status::OK();
  int64_t rows = w->file->row_count();
  ARROW_ASSIGN_OR_RAISE(int64_t size, w->file->Finish());
  paimon::ManifestEntry e;
  e.kind = paimon::FileKind::kAdd;
  e.partition = w->partition;
  e.bucket = w->bucket;
  e.total_buckets = num_buckets_;
  auto& f = e.file;
  f.file_name = w->file_name;
  f.file_size = size;
  f.row_count = rows;
  f.min_key = paimon::EmptySerializedBinaryRow();
  f.max_key = paimon::EmptySerializedBinaryRow();
  f.key_stats = paimon::SimpleStats::Empty();
  ARROW_ASSIGN_OR_RAISE(auto min_max, w->file->FooterMinMax());
  ARROW_ASSIGN_OR_RAISE(f.value_stats, w->stats->Finish(min_max));
  f.min_sequence_number = w->first_sequence;
  f.max_sequence_number = w->first_sequence + rows - 1;
  f.schema_id = schema_.id;
  f.level = 0;
  f.creation_time_millis = CreationTimeMillis();
  f.delete_row_count = 0;
  f.file_source = static_cast<int32_t>(paimon::FileSource::kAppend);
  if (data_evolution_) {
    // Data-evolution files name the columns they hold; the statistics cover those columns.
    std::vector<std::string> names;
    for (const auto& field : file_fields_) names.push_back(field.name);
    f.write_cols = names;
    if (file_fields_.size() != schema_.fields.size()) f.value_stats_cols = names;
  }
  // The data file's `.blob` files follow it: commit numbers their rows from its first row id.
  std::vector<paimon::ManifestEntry> blob_entries;
  if (w->blobs) {
    ARROW_ASSIGN_OR_RAISE(auto metas, w->blobs->Finish());
    for (auto& meta : metas) {
      paimon::ManifestEntry be = e;
      be.file = std::move(meta);
      auto& bf = be.file;
      bf.min_key = f.min_key;
      bf.max_key = f.max_key;
      bf.key_stats = f.key_stats;
      bf.value_stats = paimon::SimpleStats::Empty();
      bf.value_stats_cols = std::vector<std::string>{};
      bf.min_sequence_number = f.min_sequence_number;
      bf.max_sequence_number = f.max_sequence_number;
      bf.schema_id = f.schema_id;
      bf.creation_time_millis = f.creation_time_millis;
      bf.delete_row_count = 0;
      bf.file_source = f.file_source;
      written_paths_.push_back(fs::JoinPath(w->dir, bf.file_name));
      blob_entries.push_back(std::move(be));
    }
    w->blobs.reset();
  }
  finished_.push_back(std::move(e));
  for (auto& be : blob_entries) finished_.push_back(std::move(be));
  w->file.reset();
  w->stats.reset();
  return Status::OK();
}

Status AppendWriter::Write(const std::shared_ptr<arrow::RecordBatch>& input) {
  if (input->num_rows() == 0) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto batch, ConformToSchema(input, schema_, rows_seen_ + 1));
  for (int i : descriptor_fields_) {
    ARROW_RETURN_NOT_OK(
        CheckDescriptorColumn(*batch, i, schema_.fields[i].name, rows_seen_ + 1));
  }
  rows_seen_ += batch->num_rows();
  ARROW_ASSIGN_OR_RAISE(auto parts, RouteRows(batch, partition_columns_, bucket_columns_,
                                              bucket_types_, num_buckets_));
  for (const auto& part : parts) {
    ARROW_ASSIGN_OR_RAISE(auto* w, WriterFor(part.rows, 0, part.bucket));
    ARROW_RETURN_NOT_OK(WriteToBucket(w, part.rows));
  }
  return Status::OK();
}

Result<std::vector<paimon::ManifestEntry>> AppendWriter::PrepareCommit() {
  for (auto& [key, w] : writers_) ARROW_RETURN_NOT_OK(RollFile(w.get()));
  writers_.clear();
  written_paths_.clear();
  std::vector<paimon::ManifestEntry> out = std::move(finished_);
  finished_.clear();
  return out;
}

void AppendWriter::Abort() {
  for (auto& [key, w] : writers_) {
    if (w->file) (void)w->file->Finish();
    if (w->blobs) {
      for (const auto& p : w->blobs->paths()) written_paths_.push_back(p);
      w->blobs.reset();
    }
  }
  writers_.clear();
  for (const auto& p : written_paths_) (void)fs_->DeleteFile(p);
  written_paths_.clear();
  finished_.clear();
}

}  // namespace millpond::table
