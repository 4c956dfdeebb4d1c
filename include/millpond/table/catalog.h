// A warehouse: databases (<db>.db folders) holding Paimon tables, laid out exactly as Paimon's
// filesystem catalog does. Table is the facade over one table: schema, writes, commits, scans,
// snapshots and tags. Both are thread-safe for reads; writers are created per caller.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/schema.h"
#include "millpond/table/append_writer.h"
#include "millpond/table/file_store_commit.h"
#include "millpond/table/key_value_writer.h"
#include "millpond/table/schema_manager.h"
#include "millpond/table/snapshot_manager.h"
#include "millpond/table/table_scan.h"

namespace millpond::table {

class Table {
 public:
  Table(std::shared_ptr<fs::FileSystem> fs, std::string path, std::string name)
      : fs_(std::move(fs)), path_(std::move(path)), name_(std::move(name)), metadata_path_(path_) {}

  /// The same table seen through branch `branch` ("main" or empty: the main branch). The branch
  /// must exist (see CreateBranch).
  Result<std::unique_ptr<Table>> OnBranch(const std::string& branch) const;

  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }
  const std::string& branch() const { return branch_; }
  /// Folder holding this branch's snapshot/, schema/ and tag/.
  const std::string& metadata_path() const { return metadata_path_; }
  const std::shared_ptr<fs::FileSystem>& file_system() const { return fs_; }
  SnapshotManager snapshots() const { return SnapshotManager(fs_, metadata_path_); }
  SchemaManager schemas() const { return SchemaManager(fs_, metadata_path_); }

  /// Creates branch `name` from snapshot `snapshot_id` or tag `tag` of this branch (exactly one
  /// given), or empty with the latest schema when neither is: copies the snapshot, the tag and the
  /// schemas it needs into <table>/branch/branch-NAME (data files are shared).
  Status CreateBranch(const std::string& name, std::optional<int64_t> snapshot_id,
                      const std::optional<std::string>& tag) const;
  Result<std::vector<std::string>> ListBranches() const;
  /// Deletes a branch's metadata (its data files become orphans unless main still uses them).
  Status DeleteBranch(const std::string& name) const;
  /// Makes main equal to the branch: main's snapshots from the branch's earliest on are replaced by
  /// the branch's snapshots, and its schemas by the branch's.
  Status FastForward(const std::string& name) const;
  Result<paimon::TableSchema> LatestSchema() const { return schemas().Latest(); }

  /// A writer on the latest schema; sequence numbers continue after the latest snapshot.
  Result<std::unique_ptr<AppendWriter>> NewWriter() const;
  /// A writer for a primary-key table (upserts and deletes as sorted runs).
  Result<std::unique_ptr<KeyValueWriter>> NewKeyValueWriter() const;
  /// Commits writer output as the next snapshot (retrying against concurrent committers).
  Result<int64_t> Commit(const std::vector<paimon::ManifestEntry>& entries,
                         const CommitOptions& options = {}) const;
  Result<std::unique_ptr<TableScan>> NewScan(ScanOptions options) const;

 private:
  std::shared_ptr<fs::FileSystem> fs_;
  std::string path_;
  std::string name_;
  std::string metadata_path_;
  std::string branch_ = kMainBranch;
};

class Catalog {
 public:
  /// Opens the warehouse at `uri`. With `create_if_missing` an absent folder is created; otherwise
  /// it must exist. A path that exists but is a file, or a folder holding other things than
  /// databases, is not a warehouse and is refused.
  static Result<std::unique_ptr<Catalog>> Open(const std::string& uri, bool create_if_missing);

  const std::string& root() const { return root_; }
  const std::shared_ptr<fs::FileSystem>& file_system() const { return fs_; }

  Result<std::vector<std::string>> ListDatabases() const;
  Result<std::vector<std::string>> ListTables(const std::string& db) const;
  /// "db.table" -> (db, table), with name validation (no '/', '..', control characters).
  static Result<std::pair<std::string, std::string>> ParseIdentifier(const std::string& id);
  std::string TablePath(const std::string& db, const std::string& table) const;

  /// Creates the database if needed and the table with `schema` (ids, id 0 and time are filled in).
  Result<std::unique_ptr<Table>> CreateTable(const std::string& identifier,
                                             paimon::TableSchema schema) const;
  Result<std::unique_ptr<Table>> GetTable(const std::string& identifier) const;

 private:
  Catalog(std::shared_ptr<fs::FileSystem> fs, std::string root)
      : fs_(std::move(fs)), root_(std::move(root)) {}
  std::shared_ptr<fs::FileSystem> fs_;
  std::string root_;
};

}  // namespace millpond::table
