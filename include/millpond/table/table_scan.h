// Reading a table as of a snapshot: plan (live files, pruned by partition values and column
// statistics) and read (data files mapped to the current schema by field id, so files written under
// older schemas read correctly after add/rename/drop/widen; filtered with Arrow compute; projected).
// Thread-safe after Make. Mirrors Paimon's DataTableScan + RawFileSplitRead for append tables.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/manifest.h"
#include "millpond/paimon/schema.h"
#include "millpond/paimon/snapshot.h"
#include "millpond/table/predicate.h"

namespace millpond::table {

class DeletionVectors;  // src/table/deletion_vector.h
class BlobResolver;     // src/table/blob_columns.h

struct ScanOptions {
  std::vector<std::string> columns;  // empty: every column
  std::string where;                 // filter text (see predicate.h); empty: all rows
  std::optional<int64_t> snapshot_id;
  std::optional<std::string> tag;
  std::optional<int64_t> as_of_millis;
  int64_t limit = -1;
  std::string branch;  // empty or "main": the main branch
};

struct ScanPlan {
  std::optional<paimon::Snapshot> snapshot;  // none for an empty table
  std::vector<paimon::ManifestEntry> files;  // files to read, in commit order
  int64_t total_files = 0;                   // live files before pruning
};

class TableScan {
 public:
  /// Resolves the snapshot (latest, id, tag or time), binds the filter and projection against the
  /// schema of that snapshot. Unknown columns, snapshots and tags are errors naming them.
  static Result<std::unique_ptr<TableScan>> Make(std::shared_ptr<fs::FileSystem> fs,
                                                 std::string table_path, ScanOptions options);

  const ScanPlan& plan() const { return plan_; }
  /// The schema of the rows produced (projection applied).
  const std::shared_ptr<arrow::Schema>& output_schema() const { return output_schema_; }

  /// Reads every planned file (in parallel, order kept) and calls `sink` with each non-empty batch
  /// in file order, stopping once `limit` rows were produced.
  Status Read(const std::function<Status(const std::shared_ptr<arrow::RecordBatch>&)>& sink) const;
  /// Read into one table.
  Result<std::shared_ptr<arrow::Table>> ReadAll() const;

 private:
  TableScan() = default;
  Status Plan();
  Result<const paimon::TableSchema*> SchemaOf(int64_t id) const;
  /// The rows of one file that pass the filter, as batches in the output layout.
  Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadFile(
      const paimon::ManifestEntry& e) const;
  bool FileMayMatch(const paimon::ManifestEntry& e) const;
  /// Rows of one row-id merge group of a data-evolution table, filtered and projected.
  Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadRowIdGroup(
      const std::vector<paimon::ManifestEntry>& group) const;
  /// Merged rows of one bucket of a primary-key table, filtered and projected.
  Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadBucket(
      const std::vector<paimon::ManifestEntry>& files) const;

  std::shared_ptr<fs::FileSystem> fs_;
  std::string table_path_;
  std::string metadata_path_;  // the branch's snapshot/schema folders
  ScanOptions options_;
  paimon::TableSchema schema_;  // the schema rows are read as
  std::map<int64_t, paimon::TableSchema> schemas_;
  std::optional<BoundPredicate> predicate_;
  std::vector<int> output_fields_;  // indices into schema_.fields
  std::vector<int> read_fields_;    // output fields plus the filter's columns
  std::shared_ptr<arrow::Schema> output_schema_;
  ScanPlan plan_;
  std::set<std::string> main_partitions_;  // partitions with live files in this branch
  std::unique_ptr<TableScan> fallback_;    // scan.fallback-branch, for partitions this lacks
  std::shared_ptr<DeletionVectors> dvs_;  // primary-key tables with deletion vectors
  bool row_id_merge_ = false;             // data evolution / BLOB columns: files merged by row id
  std::shared_ptr<BlobResolver> blobs_;   // reads what BLOB descriptors point at
};

}  // namespace millpond::table
