// TableScan: planning with pruning, schema-evolution-aware reading.
#include "millpond/table/table_scan.h"

#include <algorithm>
#include <future>
#include <thread>

#include <arrow/array.h>
#include <arrow/compute/cast.h>
#include <arrow/record_batch.h>
#include <arrow/scalar.h>
#include <arrow/table.h>

#include "millpond/paimon/binary_row.h"
#include "millpond/paimon/data_file.h"
#include "millpond/table/file_store_commit.h"
#include "millpond/table/manifest_io.h"
#include "millpond/table/schema_manager.h"
#include "millpond/table/snapshot_manager.h"
#include "blob_columns.h"
#include "data_evolution_read.h"
#include "deletion_vector.h"
#include "file_reader.h"
#include "millpond/table/merge_read.h"

namespace millpond::table {

Result<std::unique_ptr<TableScan>> TableScan::Make(std::shared_ptr<fs::FileSystem> fs,
                                                   std::string table_path, ScanOptions options) {
  auto scan = std::unique_ptr<TableScan>(new TableScan());
  scan->fs_ = std::move(fs);
  scan->table_path_ = std::move(table_path);
  scan->options_ = std::move(options);
  ARROW_ASSIGN_OR_RAISE(scan->metadata_path_,
                        BranchMetadataPath(scan->table_path_, scan->options_.branch));
  SnapshotManager snapshots(scan->fs_, scan->metadata_path_);
  SchemaManager schemas(scan->fs_, scan->metadata_path_);
  if (!IsMainBranch(scan->options_.branch)) {
    ARROW_ASSIGN_OR_RAISE(auto ids, schemas.ListIds());
    if (ids.empty()) return Status::KeyError("branch '", scan->options_.branch, "' does not exist");
  }
  const auto& o = scan->options_;
  int selectors = o.snapshot_id.has_value() + o.tag.has_value() + o.as_of_millis.has_value();
  if (selectors > 1) return Status::Invalid("give at most one of --snapshot, --tag, --as-of");
  if (o.snapshot_id) {
    ARROW_ASSIGN_OR_RAISE(auto s, snapshots.ReadSnapshot(*o.snapshot_id));
    scan->plan_.snapshot = std::move(s);
  } else if (o.tag) {
    ARROW_ASSIGN_OR_RAISE(auto s, snapshots.ReadTag(*o.tag));
    scan->plan_.snapshot = std::move(s);
  } else if (o.as_of_millis) {
    ARROW_ASSIGN_OR_RAISE(auto s, snapshots.SnapshotAsOf(*o.as_of_millis));
    scan->plan_.snapshot = std::move(s);
  } else {
    ARROW_ASSIGN_OR_RAISE(auto latest, snapshots.LatestSnapshotId());
    if (latest) {
      ARROW_ASSIGN_OR_RAISE(auto s, snapshots.ReadSnapshot(*latest));
      scan->plan_.snapshot = std::move(s);
    }
  }
  if (scan->plan_.snapshot && !o.snapshot_id && !o.tag && !o.as_of_millis) {
    // Reading the latest state: use the newest schema (it may be newer than the snapshot's).
    ARROW_ASSIGN_OR_RAISE(scan->schema_, schemas.Latest());
  } else if (scan->plan_.snapshot) {
    ARROW_ASSIGN_OR_RAISE(scan->schema_, schemas.Read(scan->plan_.snapshot->schema_id));
  } else {
    ARROW_ASSIGN_OR_RAISE(scan->schema_, schemas.Latest());
  }
  scan->schemas_[scan->schema_.id] = scan->schema_;
  // BLOB columns and files holding a subset of columns are read by row id (data evolution).
  scan->row_id_merge_ = IsDataEvolution(scan->schema_) || HasBlobFields(scan->schema_);
  scan->blobs_ = std::make_shared<BlobResolver>(scan->fs_, scan->table_path_);

  const auto& fields = scan->schema_.fields;
  if (o.columns.empty()) {
    for (size_t i = 0; i < fields.size(); ++i) scan->output_fields_.push_back(static_cast<int>(i));
  } else {
    for (const auto& c : o.columns) {
      int i = scan->schema_.FieldIndex(c);
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
      int i = scan->schema_.FieldIndex(c);
      if (i >= 0 && std::find(scan->read_fields_.begin(), scan->read_fields_.end(), i) ==
                        scan->read_fields_.end()) {
        scan->read_fields_.push_back(i);
      }
    }
    scan->predicate_ = std::move(pred);
  }
  arrow::FieldVector out;
  for (int i : scan->output_fields_) out.push_back(full_schema->field(i));
  scan->output_schema_ = arrow::schema(out);
  ARROW_RETURN_NOT_OK(scan->Plan());
  // scan.fallback-branch (Paimon's FallbackReadFileStoreTable): partitions the main branch lacks
  // are read from the fallback branch.
  // The option is the table's current one, whatever snapshot is read.
  ARROW_ASSIGN_OR_RAISE(auto current, SchemaManager(scan->fs_, scan->metadata_path_).Latest());
  std::string fallback = current.Option("scan.fallback-branch", "");
  // Time travel applies to both, as Paimon passes the table's scan options to the fallback.
  if (!fallback.empty() && IsMainBranch(scan->options_.branch)) {
    ScanOptions fo = scan->options_;
    fo.branch = fallback;
    fo.limit = -1;
    ARROW_ASSIGN_OR_RAISE(scan->fallback_, TableScan::Make(scan->fs_, scan->table_path_, fo));
    const auto& fs = *scan->fallback_->output_schema();
    if (fs.num_fields() != scan->output_schema_->num_fields()) {
      return Status::Invalid("fallback branch '", fallback, "' has other columns than main");
    }
    for (int i = 0; i < fs.num_fields(); ++i) {
      if (fs.field(i)->name() != scan->output_schema_->field(i)->name() ||
          !fs.field(i)->type()->Equals(*scan->output_schema_->field(i)->type())) {
        return Status::Invalid("fallback branch '", fallback, "' column ", fs.field(i)->name(),
                               " differs from main's");
      }
    }
    auto& files = scan->fallback_->plan_.files;
    files.erase(std::remove_if(files.begin(), files.end(),
                               [&](const paimon::ManifestEntry& e) {
                                 return scan->main_partitions_.count(e.partition) > 0;
                               }),
                files.end());
  }
  return scan;
}

Result<const paimon::TableSchema*> TableScan::SchemaOf(int64_t id) const {
  auto it = schemas_.find(id);
  if (it != schemas_.end()) return &it->second;
  return Status::IOError("schema ", id, " not loaded");
}

Status TableScan::Plan() {
  if (!plan_.snapshot) return Status::OK();
  auto partition_types = PartitionTypes(schema_);
  ManifestIO manifests(fs_, table_path_, paimon::AvroCodec::kZstd, partition_types);
  ARROW_ASSIGN_OR_RAISE(auto live, manifests.LiveEntries(*plan_.snapshot));
  plan_.total_files = static_cast<int64_t>(live.size());
  for (const auto& e : live) main_partitions_.insert(e.partition);
  if (!schema_.primary_keys.empty()) {
    ARROW_ASSIGN_OR_RAISE(dvs_, DeletionVectors::Load(*fs_, table_path_, schema_, *plan_.snapshot));
  }
  SchemaManager schemas(fs_, metadata_path_);
  for (const auto& e : live) {
    if (!schemas_.count(e.file.schema_id)) {
      ARROW_ASSIGN_OR_RAISE(auto s, schemas.Read(e.file.schema_id));
      schemas_[s.id] = std::move(s);
    }
  }
  for (auto& e : live) {
    auto fs_it = schemas_.find(e.file.schema_id);
    if (!row_id_merge_ && e.file.write_cols && fs_it != schemas_.end() &&
        e.file.write_cols->size() < fs_it->second.fields.size()) {
      return Status::NotImplemented("table ", table_path_, ": data file ", e.file.file_name,
                                    " holds a subset of columns (data evolution); merging by row id "
                                    "is not supported yet");
    }
    // Statistics of one file say nothing about the merged rows of a data-evolution table.
    if (!predicate_ || row_id_merge_ || FileMayMatch(e)) plan_.files.push_back(std::move(e));
  }
  return Status::OK();
}

bool TableScan::FileMayMatch(const paimon::ManifestEntry& e) const {
  // Partition values: constant columns.
  std::map<std::string, ColumnStats> known;
  auto partition_types = PartitionTypes(schema_);
  if (!partition_types.empty()) {
    auto values = paimon::DeserializeBinaryRow(e.partition, partition_types);
    if (values.ok()) {
      for (size_t i = 0; i < schema_.partition_keys.size() && i < values->size(); ++i) {
        known[schema_.partition_keys[i]] = ColumnStats::Constant((*values)[i]);
      }
    }
  }
  // Value statistics, in the file's own schema, mapped by field id. For primary-key tables only
  // when the filter reads key columns alone: a file whose key range misses the filter holds no
  // version of a matching key, while dropping a run by a value column would change the merge.
  auto file_schema_r = SchemaOf(e.file.schema_id);
  bool key_only = true;
  for (const auto& c : ReferencedColumns(*predicate_)) {
    key_only &= std::find(schema_.primary_keys.begin(), schema_.primary_keys.end(), c) !=
                schema_.primary_keys.end();
  }
  if (file_schema_r.ok() && (schema_.primary_keys.empty() || key_only)) {
    const paimon::TableSchema& fs = **file_schema_r;
    std::vector<const paimon::DataField*> stat_fields;
    if (e.file.value_stats_cols) {
      for (const auto& name : *e.file.value_stats_cols) {
        int i = fs.FieldIndex(name);
        stat_fields.push_back(i >= 0 ? &fs.fields[i] : nullptr);
      }
    } else {
      for (const auto& f : fs.fields) stat_fields.push_back(&f);
    }
    std::vector<paimon::DataTypePtr> types;
    bool ok = true;
    for (const auto* f : stat_fields) {
      if (!f) {
        ok = false;
        break;
      }
      types.push_back(f->type);
    }
    if (ok && !e.file.value_stats.min_values.empty()) {
      auto mins = paimon::DeserializeBinaryRow(e.file.value_stats.min_values, types);
      auto maxs = paimon::DeserializeBinaryRow(e.file.value_stats.max_values, types);
      if (mins.ok() && maxs.ok()) {
        for (size_t i = 0; i < stat_fields.size() && i < mins->size() && i < maxs->size(); ++i) {
          int cur = schema_.FieldIndexById(stat_fields[i]->id);
          if (cur < 0) continue;
          const auto& cf = schema_.fields[cur];
          if (cf.type->ToString() != stat_fields[i]->type->ToString()) continue;  // type changed
          if (known.count(cf.name)) continue;
          ColumnStats cs;
          if ((*mins)[i] && (*mins)[i]->is_valid) cs.min = (*mins)[i];
          if ((*maxs)[i] && (*maxs)[i]->is_valid) cs.max = (*maxs)[i];
          if (e.file.value_stats.null_counts_present &&
              i < e.file.value_stats.null_counts.size()) {
            cs.null_count = e.file.value_stats.null_counts[i];
          }
          cs.row_count = e.file.row_count;
          known[cf.name] = std::move(cs);
        }
      }
    }
  }
  StatsView view = [&](const std::string& column) -> std::optional<ColumnStats> {
    auto it = known.find(column);
    if (it == known.end()) return std::nullopt;
    return it->second;
  };
  return MayMatch(*predicate_, view);
}

Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> TableScan::ReadFile(
    const paimon::ManifestEntry& e) const {
  ARROW_ASSIGN_OR_RAISE(const paimon::TableSchema* file_schema, SchemaOf(e.file.schema_id));
  ARROW_ASSIGN_OR_RAISE(auto batches,
                        ReadMappedFile(*fs_, table_path_, schema_, *file_schema, read_fields_,
                                       predicate_ ? &*predicate_ : nullptr, e));
  if (read_fields_.size() != output_fields_.size()) {
    std::vector<int> keep;
    for (size_t k = 0; k < output_fields_.size(); ++k) keep.push_back(static_cast<int>(k));
    for (auto& b : batches) {
      ARROW_ASSIGN_OR_RAISE(b, b->SelectColumns(keep));
    }
  }
  return batches;
}

Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> TableScan::ReadRowIdGroup(
    const std::vector<paimon::ManifestEntry>& group) const {
  ARROW_ASSIGN_OR_RAISE(auto batches,
                        table::ReadRowIdGroup(*fs_, table_path_, schema_, schemas_, read_fields_,
                                              predicate_ ? &*predicate_ : nullptr, group,
                                              blobs_.get()));
  if (read_fields_.size() != output_fields_.size()) {
    std::vector<int> keep;  // the output columns lead; filter-only columns follow
    for (size_t k = 0; k < output_fields_.size(); ++k) keep.push_back(static_cast<int>(k));
    for (auto& b : batches) {
      ARROW_ASSIGN_OR_RAISE(b, b->SelectColumns(keep));
    }
  }
  return batches;
}

Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> TableScan::ReadBucket(
    const std::vector<paimon::ManifestEntry>& files) const {
  // A filter on key columns alone also prunes row groups and rows before the merge.
  bool key_only = predicate_.has_value();
  if (predicate_) {
    for (const auto& c : ReferencedColumns(*predicate_)) {
      key_only &= std::find(schema_.primary_keys.begin(), schema_.primary_keys.end(), c) !=
                  schema_.primary_keys.end();
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto merged,
                        ReadPrimaryKeyBucket(*fs_, table_path_, schema_, schemas_, files, dvs_.get(),
                                             key_only ? &*predicate_ : nullptr));
  std::vector<std::shared_ptr<arrow::RecordBatch>> out;
  for (auto batch : merged) {
    // Filter after the merge, never before: a filtered-out old version must still be superseded.
    if (predicate_) {
      ARROW_ASSIGN_OR_RAISE(batch, Filter(*predicate_, batch));
    }
    ARROW_ASSIGN_OR_RAISE(batch, batch->SelectColumns(output_fields_));
    if (batch->num_rows() > 0) out.push_back(std::move(batch));
  }
  return out;
}

Status TableScan::Read(
    const std::function<Status(const std::shared_ptr<arrow::RecordBatch>&)>& sink) const {
  int64_t produced = 0;
  const int64_t limit = options_.limit;
  // Main's files (primary-key tables: whole buckets, merged), then those of the fallback branch's
  // partitions main lacks.
  using Batches = std::vector<std::shared_ptr<arrow::RecordBatch>>;
  std::vector<std::function<Result<Batches>()>> work;
  for (const TableScan* scan : std::vector<const TableScan*>{this, fallback_.get()}) {
    if (!scan) continue;
    if (scan->row_id_merge_) {
      for (auto& group : GroupByRowIdRange(scan->plan_.files)) {
        work.push_back([scan, group = std::move(group)] { return scan->ReadRowIdGroup(group); });
      }
    } else if (scan->schema_.primary_keys.empty()) {
      for (const auto& e : scan->plan_.files) {
        work.push_back([scan, e = &e] { return scan->ReadFile(*e); });
      }
    } else {
      for (auto& group : GroupByBucket(scan->plan_.files)) {
        work.push_back([scan, group = std::move(group)] { return scan->ReadBucket(group); });
      }
    }
  }
  const size_t n = work.size();
  const size_t window = std::max<size_t>(2, std::thread::hardware_concurrency());
  std::vector<std::future<Result<std::vector<std::shared_ptr<arrow::RecordBatch>>>>> pending;
  size_t next = 0;
  auto launch = [&] {
    while (next < n && pending.size() < window) {
      pending.push_back(std::async(std::launch::async, work[next++]));
    }
  };
  launch();
  size_t head = 0;
  while (head < pending.size()) {
    auto r = pending[head].get();
    ++head;
    if (!r.ok()) {
      for (size_t i = head; i < pending.size(); ++i) pending[i].wait();
      return r.status();
    }
    for (auto batch : *r) {
      if (limit >= 0 && produced + batch->num_rows() > limit) {
        batch = batch->Slice(0, limit - produced);
      }
      if (batch->num_rows() > 0) {
        auto out = arrow::RecordBatch::Make(output_schema_, batch->num_rows(), batch->columns());
        ARROW_RETURN_NOT_OK(sink(out));
        produced += batch->num_rows();
      }
      if (limit >= 0 && produced >= limit) break;
    }
    if (limit >= 0 && produced >= limit) {
      for (size_t i = head; i < pending.size(); ++i) pending[i].wait();
      return Status::OK();
    }
    // Keep the window full: drop finished futures from the front.
    if (head == pending.size() || pending.size() - head < window) {
      pending.erase(pending.begin(), pending.begin() + static_cast<long>(head));
      head = 0;
      launch();
    }
  }
  return Status::OK();
}

Result<std::shared_ptr<arrow::Table>> TableScan::ReadAll() const {
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  ARROW_RETURN_NOT_OK(Read([&](const std::shared_ptr<arrow::RecordBatch>& b) {
    batches.push_back(b);
    return Status::OK();
  }));
  return arrow::Table::FromRecordBatches(output_schema_, batches);
}

}  // namespace millpond::table
