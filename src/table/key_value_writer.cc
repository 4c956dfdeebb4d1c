// KeyValueWriter: row kinds, per-bucket write buffers, level-0 sorted runs in Paimon's
// key-value file layout with key/value statistics.
#include "millpond/table/key_value_writer.h"

#include <algorithm>
#include <chrono>
#include <functional>

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
#include "deletion_vector.h"  // BucketPath
#include "key_sort.h"
#include "millpond/table/append_writer.h"
#include "millpond/table/changelog.h"
#include "millpond/table/compaction.h"
#include "millpond/table/file_store_commit.h"
#include "millpond/table/manifest_io.h"
#include "millpond/table/schema_manager.h"
#include "millpond/table/snapshot_manager.h"
#include "row_router.h"

namespace millpond::table {

namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool IsRetract(int8_t kind) {
  return kind == static_cast<int8_t>(RowKind::kUpdateBefore) ||
         kind == static_cast<int8_t>(RowKind::kDelete);
}

Result<paimon::DataTypePtr> SystemType(const char* text) { return paimon::ParseDataType(text); }

}  // namespace

Result<paimon::TableSchema> PrepareKeyValueTableSchema(paimon::TableSchema schema) {
  if (schema.fields.empty()) return Status::Invalid("a table needs at least one column");
  if (schema.primary_keys.empty()) return Status::Invalid("a primary-key table needs primary keys");
  ARROW_RETURN_NOT_OK(paimon::AssignFieldIds(&schema));
  for (const auto& k : schema.partition_keys) {
    if (schema.FieldIndex(k) < 0) return Status::Invalid("partition key '", k, "' is not a column");
    if (!Contains(schema.primary_keys, k)) {
      return Status::Invalid("primary key must include partition key '", k,
                             "' (Paimon requires the primary key to contain all partition keys)");
    }
  }
  std::vector<std::string> pk_seen;
  for (const auto& k : schema.primary_keys) {
    int i = schema.FieldIndex(k);
    if (i < 0) return Status::Invalid("primary key '", k, "' is not a column");
    if (Contains(pk_seen, k)) return Status::Invalid("duplicate primary key '", k, "'");
    pk_seen.push_back(k);
    if (schema.fields[i].type->IsNested()) {
      return Status::Invalid("primary key '", k, "' cannot be a nested type");
    }
    schema.fields[i].type = schema.fields[i].type->WithNullable(false);
  }
  if (schema.primary_keys.size() == schema.partition_keys.size()) {
    return Status::Invalid("primary key must have a column that is not a partition key");
  }
  if (!schema.options.count("bucket")) {
    return Status::NotImplemented(
        "primary-key tables need a fixed bucket count (bucket > 0); dynamic buckets are not "
        "supported");
  }
  int32_t buckets = schema.NumBuckets();
  if (buckets <= 0) {
    return Status::NotImplemented("primary-key tables need bucket > 0 (got ", buckets, ")");
  }
  for (const auto& k : schema.BucketKeys()) {
    if (!Contains(schema.primary_keys, k)) {
      return Status::Invalid("bucket key '", k, "' must be a primary-key column");
    }
    if (Contains(schema.partition_keys, k)) {
      return Status::Invalid("bucket key '", k, "' cannot be a partition key");
    }
  }
  std::string format = schema.Option("file.format", "parquet");
  if (format != "parquet") {
    return Status::NotImplemented("millpond writes Parquet data files only (file.format=", format,
                                  ")");
  }
  schema.options["file.format"] = "parquet";
  if (schema.Option("manifest.format", "avro") != "avro") {
    return Status::NotImplemented("millpond writes Avro manifests only");
  }
  std::string engine = schema.Option("merge-engine", "deduplicate");
  if (engine != "deduplicate" && engine != "first-row" && engine != "partial-update" &&
      engine != "aggregation") {
    return Status::Invalid("unknown merge-engine '", engine,
                           "' (deduplicate, partial-update, aggregation, first-row)");
  }
  for (const auto& f : paimon::SplitNames(schema.Option("sequence.field", ""))) {
    if (schema.FieldIndex(f) < 0) return Status::Invalid("sequence.field '", f, "' is not a column");
  }
  schema.id = 0;
  schema.time_millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  return schema;
}

struct KeyValueWriter::BucketBuffer {
  std::string partition;  // serialized BinaryRow
  std::string dir;        // <table>/<partition path>bucket-N
  int32_t bucket = 0;
  int64_t next_sequence = 0;
  std::string file_prefix;  // data-<uuid>-
  int64_t file_counter = 0;
  int64_t bytes = 0;
  // Table columns, then _VALUE_KIND (int8), then _SEQUENCE_NUMBER (int64).
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
};

KeyValueWriter::~KeyValueWriter() = default;

Result<std::unique_ptr<KeyValueWriter>> KeyValueWriter::Make(std::shared_ptr<fs::FileSystem> fs,
                                                             std::string table_path,
                                                             paimon::TableSchema schema) {
  if (schema.primary_keys.empty()) {
    return Status::Invalid("table has no primary key; use AppendWriter");
  }
  std::string format = schema.Option("file.format", "parquet");
  if (format != "parquet") {
    return Status::NotImplemented(
        "millpond writes Parquet data files only; the table has file.format=", format);
  }
  if (UsesDeletionVectors(schema)) {
    // Paimon readers skip level-0 files of such tables until compaction rewrites them, so each
    // commit is followed by a compaction that writes deletion vectors (CommitKeyValueWrite).
    ARROW_RETURN_NOT_OK(CheckCompactable(schema));
  }
  auto w = std::unique_ptr<KeyValueWriter>(new KeyValueWriter());
  w->fs_ = std::move(fs);
  w->table_path_ = std::move(table_path);
  w->schema_ = std::move(schema);
  const auto& s = w->schema_;
  std::string engine = s.Option("merge-engine", "deduplicate");
  if (engine == "deduplicate") {
    w->merge_engine_ = MergeEngine::kDeduplicate;
  } else if (engine == "first-row") {
    // Readers skip level-0 files of first-row tables; every commit compacts them up (lookup).
    w->merge_engine_ = MergeEngine::kFirstRow;
  } else if (engine == "partial-update") {
    w->merge_engine_ = MergeEngine::kPartialUpdate;
  } else if (engine == "aggregation") {
    w->merge_engine_ = MergeEngine::kAggregation;
  } else {
    return Status::Invalid("unknown merge-engine '", engine, "'");
  }
  w->ignore_delete_ = s.Option("ignore-delete", s.Option(engine + ".ignore-delete", "false")) ==
                      "true";
  w->num_buckets_ = s.NumBuckets();
  if (w->num_buckets_ <= 0) {
    return Status::NotImplemented("primary-key writes need bucket > 0; the table has bucket=",
                                  w->num_buckets_);
  }
  for (const auto& k : s.partition_keys) {
    int i = s.FieldIndex(k);
    if (i < 0) return Status::Invalid("partition key '", k, "' is not a column");
    w->partition_columns_.push_back(i);
    w->partition_types_.push_back(s.fields[i].type);
  }
  ARROW_ASSIGN_OR_RAISE(w->format_, KeyValueFileFormat::Make(s));
  w->key_columns_ = w->format_.key_columns;
  for (const auto& k : s.BucketKeys()) {
    int i = s.FieldIndex(k);
    if (i < 0) return Status::Invalid("bucket key '", k, "' is not a column");
    w->bucket_columns_.push_back(i);
    w->bucket_types_.push_back(s.fields[i].type);
  }
  if (w->bucket_columns_.empty()) return Status::Invalid("table has no bucket key");
  for (const auto& f : paimon::SplitNames(s.Option("sequence.field", ""))) {
    int i = s.FieldIndex(f);
    if (i < 0) return Status::Invalid("sequence.field '", f, "' is not a column");
    if (s.fields[i].type->IsNested()) {
      return Status::NotImplemented("sequence.field '", f, "' has a nested type");
    }
    w->sequence_columns_.push_back(i);
  }
  std::string order = s.Option("sequence.field.sort-order", "ascending");
  if (order != "ascending" && order != "descending") {
    return Status::Invalid("bad sequence.field.sort-order '", order, "'");
  }
  w->sequence_descending_ = order == "descending";
  ARROW_ASSIGN_OR_RAISE(w->write_buffer_size_,
                        ParseMemorySize(s.Option("write-buffer-size", "256 mb")));
  ARROW_ASSIGN_OR_RAISE(w->changelog_producer_, ChangelogProducerOf(s));
  ARROW_RETURN_NOT_OK(w->ReloadLevels());
  return w;
}

Result<std::shared_ptr<arrow::Array>> KeyValueWriter::RowKinds(
    const std::shared_ptr<arrow::RecordBatch>& batch, RowKind kind, int64_t first_row) const {
  const int64_t n = batch->num_rows();
  arrow::Int8Builder b;
  ARROW_RETURN_NOT_OK(b.Reserve(n));
  auto col = batch->GetColumnByName(kRowKindColumn);
  if (!col) {
    for (int64_t i = 0; i < n; ++i) b.UnsafeAppend(static_cast<int8_t>(kind));
    return b.Finish();
  }
  if (col->type_id() == arrow::Type::STRING || col->type_id() == arrow::Type::LARGE_STRING ||
      col->type_id() == arrow::Type::DICTIONARY || col->type_id() == arrow::Type::STRING_VIEW) {
    ARROW_ASSIGN_OR_RAISE(auto cast, arrow::compute::Cast(*col, arrow::utf8()));
    const auto& s = static_cast<const arrow::StringArray&>(*cast);
    for (int64_t i = 0; i < n; ++i) {
      std::string_view v = s.IsNull(i) ? std::string_view() : s.GetView(i);
      int8_t k;
      if (v == "+I") {
        k = 0;
      } else if (v == "-U") {
        k = 1;
      } else if (v == "+U") {
        k = 2;
      } else if (v == "-D") {
        k = 3;
      } else {
        return Status::Invalid("row ", first_row + i, ", column '", kRowKindColumn,
                               "': row kind '", v, "' is not +I, -U, +U or -D");
      }
      b.UnsafeAppend(k);
    }
    return b.Finish();
  }
  if (arrow::is_integer(col->type_id())) {
    ARROW_ASSIGN_OR_RAISE(auto cast, arrow::compute::Cast(*col, arrow::int64()));
    const auto& a = static_cast<const arrow::Int64Array&>(*cast);
    for (int64_t i = 0; i < n; ++i) {
      if (a.IsNull(i) || a.Value(i) < 0 || a.Value(i) > 3) {
        return Status::Invalid("row ", first_row + i, ", column '", kRowKindColumn,
                               "': row kind must be 0 (+I), 1 (-U), 2 (+U) or 3 (-D)");
      }
      b.UnsafeAppend(static_cast<int8_t>(a.Value(i)));
    }
    return b.Finish();
  }
  return Status::Invalid("column '", kRowKindColumn, "' must be a string or an integer, not ",
                         col->type()->ToString());
}

Result<KeyValueWriter::BucketBuffer*> KeyValueWriter::BufferFor(
    const std::shared_ptr<arrow::RecordBatch>& batch, int64_t row, int32_t bucket) {
  std::vector<std::shared_ptr<arrow::Scalar>> values;
  for (int c : partition_columns_) {
    ARROW_ASSIGN_OR_RAISE(auto s, batch->column(c)->GetScalar(row));
    values.push_back(std::move(s));
  }
  ARROW_ASSIGN_OR_RAISE(std::string partition,
                        paimon::SerializeBinaryRow(values, partition_types_));
  std::string key = partition + '\x01' + std::to_string(bucket);
  auto it = buffers_.find(key);
  if (it != buffers_.end()) return it->second.get();
  auto b = std::make_unique<BucketBuffer>();
  b->partition = partition;
  b->bucket = bucket;
  auto restored = restored_max_sequence_.find(key);
  b->next_sequence = restored == restored_max_sequence_.end() ? 0 : restored->second + 1;
  b->file_prefix = "data-" + NewUuid() + "-";
  ARROW_ASSIGN_OR_RAISE(b->dir, BucketPath(table_path_, schema_, partition, bucket));
  auto* raw = b.get();
  buffers_[key] = std::move(b);
  return raw;
}

Status KeyValueWriter::Append(BucketBuffer* b, const std::shared_ptr<arrow::RecordBatch>& part) {
  // Sequence numbers follow arrival order within the bucket.
  arrow::Int64Builder seq;
  ARROW_RETURN_NOT_OK(seq.Reserve(part->num_rows()));
  for (int64_t i = 0; i < part->num_rows(); ++i) seq.UnsafeAppend(b->next_sequence++);
  ARROW_ASSIGN_OR_RAISE(auto seq_arr, seq.Finish());
  ARROW_ASSIGN_OR_RAISE(auto with_seq,
                        part->AddColumn(part->num_columns(),
                                        arrow::field(kSequenceNumberField, arrow::int64(), false),
                                        seq_arr));
  int64_t bytes = static_cast<int64_t>(arrow::util::TotalBufferSize(*with_seq));
  b->bytes += bytes;
  buffered_bytes_ += bytes;
  b->batches.push_back(std::move(with_seq));
  return Status::OK();
}

Status KeyValueWriter::FlushIfFull() {
  // One memory budget for all buckets; when it is exhausted the largest buffer is flushed, as
  // Paimon's shared write-buffer pool does.
  while (buffered_bytes_ >= write_buffer_size_) {
    BucketBuffer* largest = nullptr;
    for (auto& [key, b] : buffers_) {
      if (!largest || b->bytes > largest->bytes) largest = b.get();
    }
    if (!largest || largest->bytes == 0) break;
    ARROW_RETURN_NOT_OK(Flush(largest));
  }
  return Status::OK();
}

Status KeyValueWriter::Write(const std::shared_ptr<arrow::RecordBatch>& input, RowKind kind) {
  if (input->num_rows() == 0) return Status::OK();
  const int64_t first_row = rows_seen_ + 1;
  ARROW_ASSIGN_OR_RAISE(auto kinds, RowKinds(input, kind, first_row));
  auto values_in = input;
  int kind_index = input->schema()->GetFieldIndex(kRowKindColumn);
  if (kind_index >= 0) {
    ARROW_ASSIGN_OR_RAISE(values_in, input->RemoveColumn(kind_index));
  }
  ARROW_ASSIGN_OR_RAISE(auto batch, ConformToSchema(values_in, schema_, first_row));
  rows_seen_ += batch->num_rows();
  for (const auto& k : schema_.primary_keys) {
    const auto& col = batch->column(schema_.FieldIndex(k));
    if (col->null_count() == 0) continue;
    for (int64_t r = 0; r < col->length(); ++r) {
      if (col->IsNull(r)) {
        return Status::Invalid("row ", first_row + r, ", column '", k, "': null primary key");
      }
    }
  }
  const auto& kind_arr = static_cast<const arrow::Int8Array&>(*kinds);
  bool any_retract = false;
  for (int64_t i = 0; i < kind_arr.length(); ++i) {
    if (IsRetract(kind_arr.Value(i))) {
      if (merge_engine_ == MergeEngine::kFirstRow && !ignore_delete_) {
        return Status::Invalid("row ", first_row + i,
                               ": merge-engine first-row does not accept -U/-D rows (set "
                               "ignore-delete=true to drop them)");
      }
      any_retract = true;
    }
  }
  ARROW_ASSIGN_OR_RAISE(batch, batch->AddColumn(batch->num_columns(),
                                                arrow::field(kValueKindField, arrow::int8(), false),
                                                kinds));
  if (any_retract && ignore_delete_) {
    // ignore-delete: retractions are dropped on input (Paimon's merge functions skip them).
    arrow::BooleanBuilder keep;
    ARROW_RETURN_NOT_OK(keep.Reserve(kind_arr.length()));
    for (int64_t i = 0; i < kind_arr.length(); ++i) keep.UnsafeAppend(!IsRetract(kind_arr.Value(i)));
    ARROW_ASSIGN_OR_RAISE(auto mask, keep.Finish());
    ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(batch, mask));
    batch = filtered.record_batch();
    if (batch->num_rows() == 0) return Status::OK();
  }

  ARROW_ASSIGN_OR_RAISE(auto parts, RouteRows(batch, partition_columns_, bucket_columns_,
                                              bucket_types_, num_buckets_));
  for (const auto& part : parts) {
    ARROW_ASSIGN_OR_RAISE(auto* b, BufferFor(part.rows, 0, part.bucket));
    ARROW_RETURN_NOT_OK(Append(b, part.rows));
  }
  return FlushIfFull();
}

Status KeyValueWriter::Flush(BucketBuffer* b) {
  if (b->batches.empty()) return Status::OK();
  ARROW_RETURN_NOT_OK(WriteBuffer(b));
  // Write stall (MergeTreeWriter waits for compaction when a bucket has more sorted runs than
  // num-sorted-run.stop-trigger): compact synchronously until the bucket is below it again. The
  // buffer's memory is released by now.
  const std::string key = b->partition + '\x01' + std::to_string(b->bucket);
  while (true) {
    ARROW_ASSIGN_OR_RAISE(bool compacted, CompactBucket(key, /*full=*/false, /*stalled=*/true));
    if (!compacted) break;
    ++stall_count_;
  }
  return Status::OK();
}

Status KeyValueWriter::WriteBuffer(BucketBuffer* b) {
  ARROW_ASSIGN_OR_RAISE(auto all, arrow::ConcatenateRecordBatches(b->batches));
  buffered_bytes_ -= b->bytes;
  b->bytes = 0;
  b->batches.clear();
  const int64_t n = all->num_rows();
  const int value_columns = static_cast<int>(schema_.fields.size());
  const int seq_column = value_columns + 1;

  // Sort by (key, sequence.field, sequence number), as Paimon's key comparator orders.
  ARROW_ASSIGN_OR_RAISE(auto indices, SortKeyValueIndices(*all, key_columns_, sequence_columns_,
                                                          sequence_descending_, seq_column));
  const auto& idx = static_cast<const arrow::UInt64Array&>(*indices);
  if (changelog_producer_ == ChangelogProducer::kInput) {
    // The input rows, every one with its row kind, as level-0 changelog files.
    KeyValueRunTarget log{b->partition, b->bucket, b->dir,
                          kChangelogFilePrefix + b->file_prefix.substr(5), &b->file_counter};
    ARROW_RETURN_NOT_OK(
        WriteInputChangelog(*fs_, format_, log, all, indices, &changelog_, &written_paths_));
  }

  // Equal keys share a group id.
  std::vector<arrow::TypeHolder> types;
  std::vector<arrow::Datum> values;
  for (int c : key_columns_) {
    types.emplace_back(all->column(c)->type());
    values.emplace_back(all->column(c));
  }
  ARROW_ASSIGN_OR_RAISE(auto grouper, arrow::compute::Grouper::Make(types));
  arrow::compute::ExecBatch eb(values, n);
  ARROW_ASSIGN_OR_RAISE(auto ids, grouper->Consume(arrow::compute::ExecSpan(eb)));
  auto id_arr_holder = ids.make_array();
  const auto& gid = static_cast<const arrow::UInt32Array&>(*id_arr_holder);
  auto key_of = [&](int64_t sorted_pos) {
    return gid.Value(static_cast<int64_t>(idx.Value(sorted_pos)));
  };

  // Like Paimon's MergeTreeWriter, rows with the same key are pre-merged by the merge function
  // where that is a pick (deduplicate keeps the last, first-row the first). For partial-update
  // and aggregation every row is kept: the i-th row of a key goes to the i-th sorted run, so each
  // run holds a key at most once and readers merge the runs by sequence number.
  std::vector<std::vector<int64_t>> runs(1);
  int64_t layer = 0;
  for (int64_t i = 0; i < n; ++i) {
    bool same_as_prev = i > 0 && key_of(i) == key_of(i - 1);
    bool same_as_next = i + 1 < n && key_of(i) == key_of(i + 1);
    int64_t row = static_cast<int64_t>(idx.Value(i));
    switch (merge_engine_) {
      case MergeEngine::kDeduplicate:
        if (!same_as_next) runs[0].push_back(row);
        break;
      case MergeEngine::kFirstRow:
        if (!same_as_prev) runs[0].push_back(row);
        break;
      default:
        layer = same_as_prev ? layer + 1 : 0;
        if (static_cast<int64_t>(runs.size()) <= layer) runs.emplace_back();
        runs[layer].push_back(row);
        break;
    }
  }
  for (const auto& run_rows : runs) {
    if (run_rows.empty()) continue;
    arrow::Int64Builder rb;
    ARROW_RETURN_NOT_OK(rb.AppendValues(run_rows));
    ARROW_ASSIGN_OR_RAISE(auto take_idx, rb.Finish());
    ARROW_ASSIGN_OR_RAISE(auto run, arrow::compute::Take(arrow::Datum(all), arrow::Datum(take_idx)));
    ARROW_RETURN_NOT_OK(WriteRun(b, run.record_batch()));
    ++flush_count_;
  }
  return Status::OK();
}

Result<KeyValueFileFormat> KeyValueFileFormat::Make(const paimon::TableSchema& s) {
  KeyValueFileFormat f;
  f.schema = s;
  for (const auto& k : s.primary_keys) {
    int i = s.FieldIndex(k);
    if (i < 0) return Status::Invalid("primary key '", k, "' is not a column");
    if (Contains(s.partition_keys, k)) continue;  // Paimon trims partition keys from the key
    f.key_columns.push_back(i);
    const auto& field = s.fields[i];
    f.key_types.push_back(field.type->WithNullable(false));
    paimon::DataField kf;
    kf.id = kKeyFieldIdStart + field.id;
    kf.name = std::string(kKeyFieldPrefix) + field.name;
    kf.type = f.key_types.back();
    f.file_fields.push_back(std::move(kf));
  }
  if (f.key_columns.empty()) {
    return Status::Invalid("primary key has no column besides the partition keys");
  }
  paimon::DataField seq;
  seq.id = kSequenceNumberFieldId;
  seq.name = kSequenceNumberField;
  ARROW_ASSIGN_OR_RAISE(seq.type, SystemType("BIGINT NOT NULL"));
  paimon::DataField kind;
  kind.id = kValueKindFieldId;
  kind.name = kValueKindField;
  ARROW_ASSIGN_OR_RAISE(kind.type, SystemType("TINYINT NOT NULL"));
  f.file_fields.push_back(std::move(seq));
  f.file_fields.push_back(std::move(kind));
  for (const auto& field : s.fields) f.file_fields.push_back(field);
  f.num_buckets = s.NumBuckets();
  // Paimon's default target-file-size is 128 mb for primary-key tables.
  ARROW_ASSIGN_OR_RAISE(f.target_file_size,
                        ParseMemorySize(s.Option("target-file-size", "128 mb")));
  f.compression = s.Option("file.compression", "zstd");
  std::string level = s.Option("file.compression.zstd-level", "1");
  if (level.empty() || level.size() > 3 ||
      !std::all_of(level.begin(), level.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::Invalid("bad file.compression.zstd-level '", level, "'");
  }
  f.compression_level = std::stoi(level);
  return f;
}

Status KeyValueWriter::WriteRun(BucketBuffer* b, const std::shared_ptr<arrow::RecordBatch>& run) {
  KeyValueRunTarget target;
  target.partition = b->partition;
  target.bucket = b->bucket;
  target.dir = b->dir;
  target.file_prefix = b->file_prefix;
  target.file_counter = &b->file_counter;
  target.level = 0;
  target.file_source = paimon::FileSource::kAppend;
  const size_t first = finished_.size();
  ARROW_RETURN_NOT_OK(WriteKeyValueRun(*fs_, format_, target, run, &finished_, &written_paths_));
  auto& files = levels_[b->partition + '\x01' + std::to_string(b->bucket)];
  for (size_t i = first; i < finished_.size(); ++i) files.push_back(finished_[i]);
  return Status::OK();
}

Result<std::vector<paimon::ManifestEntry>> KeyValueWriter::PrepareCommit(
    std::vector<paimon::ManifestEntry>* changelog) {
  for (auto& [key, b] : buffers_) ARROW_RETURN_NOT_OK(Flush(b.get()));
  written_paths_.clear();
  if (changelog) changelog->insert(changelog->end(), changelog_.begin(), changelog_.end());
  changelog_.clear();
  std::vector<paimon::ManifestEntry> out = std::move(finished_);
  finished_.clear();
  return out;
}

Status KeyValueWriter::ReloadLevels() {
  levels_.clear();
  SnapshotManager snapshots(fs_, table_path_);
  ARROW_ASSIGN_OR_RAISE(auto latest, snapshots.LatestSnapshotId());
  if (latest) {
    ARROW_ASSIGN_OR_RAISE(auto snap, snapshots.ReadSnapshot(*latest));
    ARROW_ASSIGN_OR_RAISE(auto codec,
                          paimon::AvroCodecFromName(schema_.Option("manifest.compression", "zstd")));
    ManifestIO manifests(fs_, table_path_, codec, PartitionTypes(schema_));
    ARROW_ASSIGN_OR_RAISE(auto live, manifests.LiveEntries(snap));
    for (const auto& e : live) {
      // Each bucket continues after the largest sequence number among its live files.
      std::string key = e.partition + '\x01' + std::to_string(e.bucket);
      auto it = restored_max_sequence_.find(key);
      if (it == restored_max_sequence_.end()) {
        restored_max_sequence_[key] = e.file.max_sequence_number;
      } else {
        it->second = std::max(it->second, e.file.max_sequence_number);
      }
      levels_[key].push_back(e);
    }
  }
  for (const auto& e : finished_) {
    levels_[e.partition + '\x01' + std::to_string(e.bucket)].push_back(e);
  }
  return Status::OK();
}

int64_t KeyValueWriter::SortedRuns(const std::string& partition, int32_t bucket) const {
  auto it = levels_.find(partition + '\x01' + std::to_string(bucket));
  return it == levels_.end() ? 0 : static_cast<int64_t>(LevelSortedRuns(it->second).size());
}

Result<bool> KeyValueWriter::CompactBucket(const std::string& key, bool full, bool stalled) {
  // Deletion-vector tables compact after each commit, against the committed snapshot
  // (CompactTable), because their compactions rewrite the bucket's deletion vectors.
  if (UsesDeletionVectors(schema_)) return false;
  ARROW_ASSIGN_OR_RAISE(auto options, CompactionOptions::FromSchema(schema_));
  auto& files = levels_[key];
  auto runs = LevelSortedRuns(files);
  if (stalled && static_cast<int64_t>(runs.size()) <= options.stop_trigger) return false;
  // Tables that need lookup compact every level-0 file up (ForceUpLevel0Compaction).
  auto unit = full                 ? PickFull(options, runs)
              : NeedsLookup(schema_) ? PickForDeletionVectors(options, runs)
                                     : PickUniversal(options, runs);
  if (!unit) return false;
  ARROW_RETURN_NOT_OK(CheckCompactable(schema_));
  if (schemas_.empty()) {
    SchemaManager manager(fs_, table_path_);
    ARROW_ASSIGN_OR_RAISE(auto ids, manager.ListIds());
    for (int64_t id : ids) {
      ARROW_ASSIGN_OR_RAISE(schemas_[id], manager.Read(id));
    }
    schemas_[schema_.id] = schema_;
  }
  std::vector<std::string> written;
  ChangelogOutput changelog;
  changelog.bucket_files = &files;
  auto rewritten = RewriteCompactUnit(*fs_, table_path_, schema_, schemas_, *unit,
                                      DropsDelete(*unit, runs), &written, nullptr, &changelog);
  if (!rewritten.ok()) {
    for (const auto& p : written) (void)fs_->DeleteFile(p);
    return rewritten.status();
  }
  compact_changelog_.insert(compact_changelog_.end(), changelog.files.begin(),
                            changelog.files.end());
  for (const auto& e : *rewritten) {
    auto same_file = [&](const paimon::ManifestEntry& x) {
      return x.partition == e.partition && x.bucket == e.bucket &&
             x.file.file_name == e.file.file_name;
    };
    if (e.kind == paimon::FileKind::kAdd) {
      files.push_back(e);
      compact_entries_.push_back(e);
      continue;
    }
    files.erase(std::remove_if(files.begin(), files.end(), same_file), files.end());
    // An input that an earlier, uncommitted compaction wrote is simply dropped.
    auto it = std::find_if(compact_entries_.begin(), compact_entries_.end(),
                           [&](const paimon::ManifestEntry& x) {
                             return x.kind == paimon::FileKind::kAdd && same_file(x);
                           });
    if (it != compact_entries_.end()) {
      ARROW_ASSIGN_OR_RAISE(auto dir, BucketPath(table_path_, schema_, e.partition, e.bucket));
      (void)fs_->DeleteFile(fs::JoinPath(dir, e.file.file_name));
      compact_entries_.erase(it);
    } else {
      compact_entries_.push_back(e);
    }
  }
  return true;
}

Result<std::vector<paimon::ManifestEntry>> KeyValueWriter::PrepareCompaction(
    bool full, std::vector<paimon::ManifestEntry>* changelog, bool compact_now) {
  for (const auto& [key, b] : buffers_) {
    if (!compact_now) break;
    ARROW_RETURN_NOT_OK(CompactBucket(key, full, /*stalled=*/false).status());
  }
  if (changelog) {
    changelog->insert(changelog->end(), compact_changelog_.begin(), compact_changelog_.end());
  }
  compact_changelog_.clear();
  // DELETEs first, then ADDs, as Paimon's CompactIncrement lists them.
  std::vector<paimon::ManifestEntry> out;
  for (auto& e : compact_entries_) {
    if (e.kind == paimon::FileKind::kDelete) out.push_back(std::move(e));
  }
  for (auto& e : compact_entries_) {
    if (e.kind == paimon::FileKind::kAdd) out.push_back(std::move(e));
  }
  compact_entries_.clear();
  return out;
}

Status KeyValueWriter::AbortCompaction(
    const std::vector<paimon::ManifestEntry>& compact_entries) {
  for (const auto& e : compact_entries) {
    if (e.kind != paimon::FileKind::kAdd) continue;
    ARROW_ASSIGN_OR_RAISE(auto dir, BucketPath(table_path_, schema_, e.partition, e.bucket));
    (void)fs_->DeleteFile(fs::JoinPath(dir, e.file.file_name));
  }
  return ReloadLevels();
}

void KeyValueWriter::Abort() {
  for (auto& [key, b] : buffers_) {
    b->batches.clear();
    b->bytes = 0;
  }
  buffered_bytes_ = 0;
  for (const auto& p : written_paths_) (void)fs_->DeleteFile(p);
  written_paths_.clear();
  finished_.clear();
  changelog_.clear();
  DeleteChangelogFiles(*fs_, table_path_, schema_, compact_changelog_);
  compact_changelog_.clear();
  std::vector<paimon::ManifestEntry> compact = std::move(compact_entries_);
  compact_entries_.clear();
  (void)AbortCompaction(compact);
}

}  // namespace millpond::table
