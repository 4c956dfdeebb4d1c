// Schema files of one table (schema/schema-N): read, list, and commit a new version atomically.
// Schema changes (add, rename, drop column, widen type, set option) produce the next version.
// Thread-safe. Mirrors org.apache.paimon.schema.SchemaManager.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/schema.h"

namespace millpond::table {

/// One schema change, as `millpond alter` expresses it.
struct SchemaChange {
  enum class Kind { kAddColumn, kRenameColumn, kDropColumn, kUpdateColumnType, kSetOption,
                    kRemoveOption };
  Kind kind;
  std::string name;      // column (or option key)
  std::string new_name;  // rename target
  paimon::DataTypePtr type;  // add / update type
  std::string value;         // option value
};

class SchemaManager {
 public:
  /// `metadata_path` is the table folder, or a branch's folder (see BranchMetadataPath).
  SchemaManager(std::shared_ptr<fs::FileSystem> fs, std::string metadata_path)
      : fs_(std::move(fs)), table_path_(std::move(metadata_path)) {}

  std::string SchemaPath(int64_t id) const;
  Result<std::vector<int64_t>> ListIds() const;
  Result<paimon::TableSchema> Read(int64_t id) const;
  Result<paimon::TableSchema> Latest() const;
  /// Writes schema-<s.id> if absent; false if another writer created that version first.
  Result<bool> TryCommit(const paimon::TableSchema& s) const;
  /// Applies changes to the latest schema and commits it as the next version (retrying on races).
  Result<paimon::TableSchema> Alter(const std::vector<SchemaChange>& changes) const;

  /// The schema that results from applying `changes` to `base` (validated; no I/O).
  static Result<paimon::TableSchema> Apply(const paimon::TableSchema& base,
                                           const std::vector<SchemaChange>& changes);

 private:
  std::shared_ptr<fs::FileSystem> fs_;
  std::string table_path_;
};

}  // namespace millpond::table
