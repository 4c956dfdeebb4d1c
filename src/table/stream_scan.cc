// StreamScan: full read of a starting snapshot, then the delta (or changelog) of every later one.
#include "millpond/table/stream_scan.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <thread>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/cast.h>
#include <arrow/record_batch.h>
#include <arrow/scalar.h>
#include <arrow/table.h>
#include <nlohmann/json.hpp>

#include "millpond/paimon/data_file.h"
#include "millpond/table/compaction.h"
#include "millpond/table/file_store_commit.h"
#include "millpond/table/manifest_io.h"
#include "millpond/table/merge_read.h"
#include "millpond/table/schema_manager.h"
#include "millpond/table/snapshot_manager.h"
#include "blob_columns.h"
#include "data_evolution_read.h"
#include "deletion_vector.h"
#include "file_reader.h"

namespace millpond::table {

namespace {

class SteadyClock : public Clock {
 public:
  int64_t NowMillis() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void SleepMillis(int64_t millis) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(millis));
  }
};

paimon::AvroCodec Codec(const paimon::TableSchema& schema) {
  auto c = paimon::AvroCodecFromName(schema.Option("manifest.compression", "zstd"));
  return c.ok() ? *c : paimon::AvroCodec::kZstd;
}

// The longest single sleep, so Stop() and signals are noticed promptly.
constexpr int64_t kSleepSliceMillis = 100;

}  // namespace

Clock* Clock::Default() {
  static SteadyClock clock;
  return &clock;
}

// ---------------------------------------------------------------------------------------------
// ConsumerManager

Status ConsumerManager::ValidateId(const std::string& id) {
  if (id.empty()) return Status::Invalid("consumer id is empty");
  if (id[0] == '.') return Status::Invalid("consumer id '", id, "' must not start with '.'");
  for (unsigned char c : id) {
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') {
      return Status::Invalid("consumer id '", id,
                             "' may hold only letters, digits, '-', '_' and '.'");
    }
  }
  return Status::OK();
}

std::string ConsumerManager::ConsumerPath(const std::string& id) const {
  return fs::JoinPath(fs::JoinPath(table_path_, kConsumerDir), std::string(kConsumerPrefix) + id);
}

Result<std::optional<int64_t>> ConsumerManager::NextSnapshot(const std::string& id) const {
  ARROW_RETURN_NOT_OK(ValidateId(id));
  std::string path = ConsumerPath(id);
  ARROW_ASSIGN_OR_RAISE(bool exists, fs_->Exists(path));
  if (!exists) return std::optional<int64_t>();
  ARROW_ASSIGN_OR_RAISE(std::string text, fs_->ReadFile(path));
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("nextSnapshot") || !j["nextSnapshot"].is_number_integer()) {
    return Status::Invalid("consumer file ", path, ": expected {\"nextSnapshot\": N}");
  }
  return std::optional<int64_t>(j["nextSnapshot"].get<int64_t>());
}

Status ConsumerManager::Reset(const std::string& id, int64_t next_snapshot) const {
  ARROW_RETURN_NOT_OK(ValidateId(id));
  nlohmann::json j = {{"nextSnapshot", next_snapshot}};
  return fs_->WriteFileAtomic(ConsumerPath(id), j.dump());
}

Status ConsumerManager::Delete(const std::string& id) const {
  ARROW_RETURN_NOT_OK(ValidateId(id));
  return fs_->DeleteFile(ConsumerPath(id));
}

// ---------------------------------------------------------------------------------------------
// StreamScan

Result<std::unique_ptr<StreamScan>> StreamScan::Make(std::shared_ptr<fs::FileSystem> fs,
                                                     std::string table_path, StreamOptions options,
                                                     Clock* clock) {
  auto scan = std::unique_ptr<StreamScan>(new StreamScan());
  scan->fs_ = std::move(fs);
  scan->table_path_ = std::move(table_path);
  scan->options_ = std::move(options);
  scan->clock_ = clock ? clock : Clock::Default();
  const auto& o = scan->options_;
  if (o.interval_millis < 0) return Status::Invalid("--interval must not be negative");
  if (o.until_idle_millis && *o.until_idle_millis < 0) {
    return Status::Invalid("--until-idle must not be negative");
  }
  if (!o.consumer_id.empty()) ARROW_RETURN_NOT_OK(ConsumerManager::ValidateId(o.consumer_id));

  SchemaManager schemas(scan->fs_, scan->table_path_);
  ARROW_ASSIGN_OR_RAISE(scan->schema_, schemas.Latest());
  scan->schemas_[scan->schema_.id] = scan->schema_;
  const auto& schema = scan->schema_;
  ARROW_ASSIGN_OR_RAISE(scan->producer_, ChangelogProducerOf(schema));
  scan->row_id_merge_ = HasBlobFields(schema) || IsDataEvolution(schema);
  if (scan->row_id_merge_ && !schema.primary_keys.empty()) {
    return Status::NotImplemented("table ", scan->table_path_, " has a primary key and BLOB "
                                  "columns or data evolution; it cannot be streamed");
  }
  scan->blobs_ = std::make_shared<BlobResolver>(scan->fs_, scan->table_path_);

  // Projection and filter, bound against the latest schema (as TableScan does).
  const auto& fields = schema.fields;
  if (o.columns.empty()) {
    for (size_t i = 0; i < fields.size(); ++i) scan->output_fields_.push_back(static_cast<int>(i));
  } else {
    for (const auto& c : o.columns) {
      int i = schema.FieldIndex(c);
      if (i < 0) {
        std::string names;
        for (const auto& f : fields) names += (names.empty() ? "" : ", ") + f.name;
        return Status::Invalid("--columns: unknown column '", c, "' (columns: ", names, ")");
      }
      scan->output_fields_.push_back(i);
    }
  }
  scan->read_fields_ = scan->output_fields_;
  auto full_schema = paimon::ToArrowSchema(fields);
  if (!o.where.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto pred, ParseAndBindPredicate(o.where, *full_schema));
    for (const auto& c : ReferencedColumns(pred)) {
      int i = schema.FieldIndex(c);
      if (i >= 0 && std::find(scan->read_fields_.begin(), scan->read_fields_.end(), i) ==
                        scan->read_fields_.end()) {
        scan->read_fields_.push_back(i);
      }
    }
    scan->predicate_ = std::move(pred);
  }
  arrow::FieldVector out{arrow::field(kRowKindColumn, arrow::utf8(), /*nullable=*/false)};
  for (int i : scan->output_fields_) out.push_back(full_schema->field(i)->WithNullable(true));
  scan->output_schema_ = arrow::schema(out);

  // Where to start: a consumer's position, then --from-snapshot, then a full read of the latest.
  SnapshotManager snapshots(scan->fs_, scan->table_path_);
  ConsumerManager consumers(scan->fs_, scan->table_path_);
  std::optional<int64_t> resume;
  if (!o.consumer_id.empty()) {
    ARROW_ASSIGN_OR_RAISE(resume, consumers.NextSnapshot(o.consumer_id));
  }
  ARROW_ASSIGN_OR_RAISE(auto latest, snapshots.LatestSnapshotId());
  auto check_not_expired = [&](int64_t id, const char* what) -> Status {
    if (id < 1) return Status::Invalid(what, " ", id, " is not a snapshot id");
    ARROW_ASSIGN_OR_RAISE(bool exists, scan->fs_->Exists(snapshots.SnapshotPath(id)));
    if (!exists && latest && id <= *latest) {
      return Status::Invalid(what, " ", id, " of table ", scan->table_path_,
                             " no longer exists (expired); the stream cannot continue without "
                             "losing changes");
    }
    return Status::OK();
  };
  if (resume) {
    ARROW_RETURN_NOT_OK(check_not_expired(*resume, "consumer position: snapshot"));
    scan->next_snapshot_ = *resume;
  } else if (o.from_snapshot) {
    ARROW_RETURN_NOT_OK(check_not_expired(*o.from_snapshot, "--from-snapshot"));
    scan->next_snapshot_ = *o.from_snapshot;
  } else if (latest) {
    scan->full_read_snapshot_ = *latest;
    scan->next_snapshot_ = *latest;
  } else {
    scan->next_snapshot_ = 1;  // empty table: the first commit is the first change
  }
  // Pin the start at once, so expiration keeps it while the first read runs.
  if (!o.consumer_id.empty() && resume != scan->next_snapshot_) {
    ARROW_RETURN_NOT_OK(consumers.Reset(o.consumer_id, scan->next_snapshot_));
  }
  return scan;
}

Result<const paimon::TableSchema*> StreamScan::SchemaOf(int64_t id) {
  auto it = schemas_.find(id);
  if (it == schemas_.end()) {
    ARROW_ASSIGN_OR_RAISE(auto s, SchemaManager(fs_, table_path_).Read(id));
    it = schemas_.emplace(id, std::move(s)).first;
  }
  return &it->second;
}

Result<std::vector<StreamChange>> StreamScan::PlanSnapshot(const paimon::Snapshot& s) const {
  std::vector<StreamChange> changes;
  ManifestIO manifests(fs_, table_path_, Codec(schema_), PartitionTypes(schema_));
  if (!schema_.primary_keys.empty()) {
    // ChangelogFollowUpScanner reads the changelog files of every snapshot that has them;
    // DeltaFollowUpScanner (changelog-producer none) the new data files of APPEND snapshots.
    std::string list;
    if (producer_ != ChangelogProducer::kNone) {
      list = s.changelog_manifest_list.value_or("");
    } else if (s.commit_kind == "APPEND") {
      list = s.delta_manifest_list;
    }
    if (list.empty()) return changes;
    ARROW_ASSIGN_OR_RAISE(auto metas, manifests.ReadManifestList(list));
    for (const auto& m : metas) {
      ARROW_ASSIGN_OR_RAISE(auto entries, manifests.ReadManifest(m.file_name));
      for (auto& e : entries) {
        if (e.kind != paimon::FileKind::kAdd) continue;
        StreamChange c;
        c.entry = std::move(e);
        c.kind_from_file = true;
        changes.push_back(std::move(c));
      }
    }
    return changes;
  }
  bool overwrite = s.commit_kind == "OVERWRITE" &&
                   schema_.Option("streaming-read-overwrite", "false") == "true";
  // COMPACT and ANALYZE snapshots rewrite or describe existing rows; OVERWRITE is skipped by
  // default, as Paimon does (streaming-read-overwrite = false).
  if (s.commit_kind != "APPEND" && !overwrite) return changes;
  if (s.delta_manifest_list.empty()) return changes;
  ARROW_ASSIGN_OR_RAISE(auto metas, manifests.ReadManifestList(s.delta_manifest_list));
  for (const auto& m : metas) {
    ARROW_ASSIGN_OR_RAISE(auto entries, manifests.ReadManifest(m.file_name));
    for (auto& e : entries) {
      StreamChange c;
      if (e.kind == paimon::FileKind::kAdd) {
        c.row_kind = "+I";
      } else if (overwrite) {
        c.row_kind = "-D";  // the rows an overwrite replaced
      } else {
        continue;
      }
      c.entry = std::move(e);
      changes.push_back(std::move(c));
    }
  }
  // Deletions before insertions, so a consumer applying the stream ends with the new rows.
  std::stable_partition(changes.begin(), changes.end(),
                        [](const StreamChange& c) { return c.row_kind == "-D"; });
  return changes;
}

Result<std::shared_ptr<arrow::RecordBatch>> StreamScan::ReadFile(const StreamChange& change) {
  const auto& e = change.entry;
  if (change.kind_from_file) return ReadKeyValueFile(change);
  ARROW_ASSIGN_OR_RAISE(const paimon::TableSchema* file_schema, SchemaOf(e.file.schema_id));
  if (e.file.write_cols && e.file.write_cols->size() < file_schema->fields.size()) {
    return Status::NotImplemented("table ", table_path_, ": data file ", e.file.file_name,
                                  " holds a subset of columns (data evolution)");
  }
  ARROW_ASSIGN_OR_RAISE(auto batches,
                        ReadMappedFile(*fs_, table_path_, schema_, *file_schema, read_fields_,
                                       predicate_ ? &*predicate_ : nullptr, e));
  ARROW_ASSIGN_OR_RAISE(auto table,
                        arrow::Table::FromRecordBatches(
                            batches.empty() ? ReadSchema() : batches[0]->schema(), batches));
  ARROW_ASSIGN_OR_RAISE(auto batch, table->CombineChunksToBatch());
  ARROW_ASSIGN_OR_RAISE(auto kinds, arrow::MakeArrayFromScalar(
                                        arrow::StringScalar(change.row_kind), batch->num_rows()));
  arrow::ArrayVector out{kinds};
  for (size_t k = 0; k < output_fields_.size(); ++k) out.push_back(batch->column(static_cast<int>(k)));
  return arrow::RecordBatch::Make(output_schema_, batch->num_rows(), std::move(out));
}

Result<std::shared_ptr<arrow::RecordBatch>> StreamScan::ToOutput(
    std::shared_ptr<arrow::RecordBatch> values, std::shared_ptr<arrow::Array> kinds) {
  // The kinds travel as an extra column through the filter (after the merge, never before).
  ARROW_ASSIGN_OR_RAISE(values, values->AddColumn(values->num_columns(),
                                                  arrow::field(kRowKindColumn, arrow::utf8()),
                                                  std::move(kinds)));
  if (predicate_) {
    ARROW_ASSIGN_OR_RAISE(values, Filter(*predicate_, values));
  }
  arrow::ArrayVector out{values->column(values->num_columns() - 1)};
  for (int i : output_fields_) out.push_back(values->column(i));
  return arrow::RecordBatch::Make(output_schema_, values->num_rows(), std::move(out));
}

Result<std::shared_ptr<arrow::RecordBatch>> StreamScan::ReadKeyValueFile(
    const StreamChange& change) {
  const auto& e = change.entry;
  ARROW_RETURN_NOT_OK(SchemaOf(e.file.schema_id).status());
  ARROW_ASSIGN_OR_RAISE(auto rows,
                        ReadKeyValueRows(*fs_, table_path_, schema_, schemas_, e, nullptr));
  ARROW_ASSIGN_OR_RAISE(auto values, rows.values->CombineChunksToBatch());
  arrow::StringBuilder kinds;
  static constexpr const char* kNames[] = {"+I", "-U", "+U", "-D"};
  for (RowKind k : rows.kinds) ARROW_RETURN_NOT_OK(kinds.Append(kNames[static_cast<int>(k)]));
  ARROW_ASSIGN_OR_RAISE(auto kind_arr, kinds.Finish());
  return ToOutput(std::move(values), std::move(kind_arr));
}

Status StreamScan::ReadMergedSnapshot(const paimon::Snapshot& s, const StreamSink& sink) {
  ManifestIO manifests(fs_, table_path_, Codec(schema_), PartitionTypes(schema_));
  ARROW_ASSIGN_OR_RAISE(auto live, manifests.LiveEntries(s));
  ARROW_ASSIGN_OR_RAISE(auto options, CompactionOptions::FromSchema(schema_));
  std::vector<paimon::ManifestEntry> files;
  for (auto& e : live) {
    if (producer_ == ChangelogProducer::kLookup && e.file.level == 0) continue;
    if (producer_ == ChangelogProducer::kFullCompaction && e.file.level != options.max_level()) {
      continue;
    }
    ARROW_RETURN_NOT_OK(SchemaOf(e.file.schema_id).status());
    files.push_back(std::move(e));
  }
  std::shared_ptr<DeletionVectors> dvs;
  if (UsesDeletionVectors(schema_)) {
    ARROW_ASSIGN_OR_RAISE(dvs, DeletionVectors::Load(*fs_, table_path_, schema_, s));
  }
  for (const auto& group : GroupByBucket(files)) {
    ARROW_ASSIGN_OR_RAISE(auto batches, ReadPrimaryKeyBucket(*fs_, table_path_, schema_, schemas_,
                                                             group, dvs.get()));
    for (auto& batch : batches) {
      ARROW_ASSIGN_OR_RAISE(auto kinds, arrow::MakeArrayFromScalar(arrow::StringScalar("+I"),
                                                                   batch->num_rows()));
      ARROW_ASSIGN_OR_RAISE(auto out, ToOutput(std::move(batch), std::move(kinds)));
      if (out->num_rows() > 0) ARROW_RETURN_NOT_OK(sink.write(out));
    }
  }
  return Status::OK();
}

std::shared_ptr<arrow::Schema> StreamScan::ReadSchema() const {
  auto full = paimon::ToArrowSchema(schema_.fields);
  arrow::FieldVector fields;
  for (int i : read_fields_) fields.push_back(full->field(i)->WithNullable(true));
  return arrow::schema(fields);
}

Status StreamScan::ReadRowIdChanges(const std::vector<paimon::ManifestEntry>& group,
                                    const std::string& row_kind, const StreamSink& sink) {
  // A group must hold whole rows: new rows with their .blob files. Files that rewrite some
  // columns of older rows (data evolution) are not inserts and have no row kind to stream as.
  std::set<std::string> written, needed;
  int64_t newest_schema = -1;
  for (const auto& e : group) {
    ARROW_ASSIGN_OR_RAISE(const paimon::TableSchema* fs, SchemaOf(e.file.schema_id));
    if (e.file.write_cols) {
      written.insert(e.file.write_cols->begin(), e.file.write_cols->end());
    } else {
      for (const auto& f : fs->fields) written.insert(f.name);
    }
    newest_schema = std::max(newest_schema, e.file.schema_id);
  }
  ARROW_ASSIGN_OR_RAISE(const paimon::TableSchema* newest, SchemaOf(newest_schema));
  for (const auto& f : newest->fields) {
    if (!written.count(f.name)) {
      return Status::NotImplemented("table ", table_path_, ": snapshot files from ",
                                    group.front().file.file_name, " rewrite some columns of "
                                    "existing rows (data evolution) and cannot be streamed");
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto batches,
                        ReadRowIdGroup(*fs_, table_path_, schema_, schemas_, read_fields_,
                                       predicate_ ? &*predicate_ : nullptr, group, blobs_.get()));
  for (const auto& b : batches) {
    if (b->num_rows() == 0) continue;
    ARROW_ASSIGN_OR_RAISE(auto kinds, arrow::MakeArrayFromScalar(arrow::StringScalar(row_kind),
                                                                 b->num_rows()));
    arrow::ArrayVector out{kinds};
    for (size_t k = 0; k < output_fields_.size(); ++k) out.push_back(b->column(static_cast<int>(k)));
    ARROW_RETURN_NOT_OK(
        sink.write(arrow::RecordBatch::Make(output_schema_, b->num_rows(), std::move(out))));
  }
  return Status::OK();
}

Status StreamScan::ReadChanges(const std::vector<StreamChange>& changes, const StreamSink& sink) {
  if (row_id_merge_) {
    for (const char* kind : {"-D", "+I"}) {  // deletions first, as PlanSnapshot orders them
      std::vector<paimon::ManifestEntry> files;
      for (const auto& c : changes) {
        if (c.row_kind == kind) files.push_back(c.entry);
      }
      for (const auto& group : GroupByRowIdRange(files)) {
        ARROW_RETURN_NOT_OK(ReadRowIdChanges(group, kind, sink));
      }
    }
    return Status::OK();
  }
  for (const auto& c : changes) {
    ARROW_ASSIGN_OR_RAISE(auto batch, ReadFile(c));
    if (batch->num_rows() > 0) ARROW_RETURN_NOT_OK(sink.write(batch));
  }
  return Status::OK();
}

Status StreamScan::Advance(int64_t snapshot_id, const StreamSink& sink) {
  if (sink.end_snapshot) ARROW_RETURN_NOT_OK(sink.end_snapshot(snapshot_id));
  next_snapshot_ = snapshot_id + 1;
  if (!options_.consumer_id.empty()) {
    ARROW_RETURN_NOT_OK(
        ConsumerManager(fs_, table_path_).Reset(options_.consumer_id, next_snapshot_));
  }
  return Status::OK();
}

Result<bool> StreamScan::PollOnce(const StreamSink& sink) {
  SnapshotManager snapshots(fs_, table_path_);
  if (full_read_snapshot_ && !schema_.primary_keys.empty()) {
    int64_t id = *full_read_snapshot_;
    ARROW_ASSIGN_OR_RAISE(auto s, snapshots.ReadSnapshot(id));
    ARROW_RETURN_NOT_OK(ReadMergedSnapshot(s, sink));
    full_read_snapshot_.reset();
    ARROW_RETURN_NOT_OK(Advance(id, sink));
    return true;
  }
  if (full_read_snapshot_) {
    int64_t id = *full_read_snapshot_;
    ARROW_ASSIGN_OR_RAISE(auto s, snapshots.ReadSnapshot(id));
    ManifestIO manifests(fs_, table_path_, Codec(schema_), PartitionTypes(schema_));
    ARROW_ASSIGN_OR_RAISE(auto live, manifests.LiveEntries(s));
    std::vector<StreamChange> changes;
    for (auto& e : live) {
      StreamChange c;
      c.entry = std::move(e);
      changes.push_back(std::move(c));
    }
    ARROW_RETURN_NOT_OK(ReadChanges(changes, sink));
    full_read_snapshot_.reset();
    ARROW_RETURN_NOT_OK(Advance(id, sink));
    return true;
  }
  ARROW_ASSIGN_OR_RAISE(bool exists, fs_->Exists(snapshots.SnapshotPath(next_snapshot_)));
  if (!exists) {
    // Expired only if older snapshots are gone past it; a snapshot that appears between the two
    // checks (a commit in flight) is simply read on the next poll.
    ARROW_ASSIGN_OR_RAISE(auto earliest, snapshots.EarliestSnapshotId());
    if (earliest && *earliest > next_snapshot_) {
      return Status::Invalid("snapshot ", next_snapshot_, " of table ", table_path_,
                             " was expired before it was read (earliest is ", *earliest,
                             "); use --consumer-id so expiration keeps what a stream needs");
    }
    return false;
  }
  ARROW_ASSIGN_OR_RAISE(auto s, snapshots.ReadSnapshot(next_snapshot_));
  ARROW_ASSIGN_OR_RAISE(auto changes, PlanSnapshot(s));
  ARROW_RETURN_NOT_OK(ReadChanges(changes, sink));
  ARROW_RETURN_NOT_OK(Advance(s.id, sink));
  return true;
}

Status StreamScan::Run(const StreamSink& sink, const std::atomic<bool>* stop) {
  auto stopping = [&] { return stopped_.load() || (stop && stop->load()); };
  int64_t last_progress = clock_->NowMillis();
  while (!stopping()) {
    ARROW_ASSIGN_OR_RAISE(bool progressed, PollOnce(sink));
    if (progressed) {
      last_progress = clock_->NowMillis();
      continue;
    }
    if (options_.until_idle_millis &&
        clock_->NowMillis() - last_progress >= *options_.until_idle_millis) {
      break;
    }
    for (int64_t slept = 0; slept < options_.interval_millis && !stopping();) {
      int64_t step = std::min(kSleepSliceMillis, options_.interval_millis - slept);
      clock_->SleepMillis(step);
      slept += step;
    }
    if (options_.interval_millis == 0) clock_->SleepMillis(0);
  }
  return Status::OK();
}

}  // namespace millpond::table
