// Commits a set of file changes as the next snapshot with optimistic concurrency: the delta
// manifest is written once, then base list + delta list + snapshot-N are written against the
// newest snapshot and snapshot-N is created only if absent; a loser re-reads and retries, so no
// committed data is lost or overwritten. One instance per writer; not thread-safe.
// Mirrors org.apache.paimon.operation.FileStoreCommitImpl.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/manifest.h"
#include "millpond/paimon/schema.h"
#include "millpond/table/manifest_io.h"
#include "millpond/table/snapshot_manager.h"

namespace millpond::table {

struct CommitOptions {
  std::string commit_kind = "APPEND";
  int64_t commit_identifier = paimon::Snapshot::kBatchCommitIdentifier;
  std::map<std::string, std::string> properties;
  int max_retries = 200;
  /// The new snapshot's `indexManifest`, computed on each attempt from the snapshot it lands on
  /// (null when there is none yet); returning nullopt leaves it unset, an error (Cancelled for a
  /// conflict) fails the commit. Unset: the latest snapshot's index manifest is carried over.
  std::function<Result<std::optional<std::string>>(const paimon::Snapshot* latest)>
      index_manifest;
  /// Checked on each attempt against the snapshot the commit would land on (null when there is
  /// none yet) before anything is written; an error (Cancelled for a conflict) fails the commit.
  std::function<Status(const paimon::Snapshot* latest)> precondition;
  /// Changelog files (ADD entries) to commit in the snapshot's changelogManifestList
  /// (changelog-producer input with an APPEND, lookup/full-compaction with a COMPACT).
  std::vector<paimon::ManifestEntry> changelog;
};

class FileStoreCommit {
 public:
  /// `metadata_path` is where the snapshots go: the table folder, or a branch's folder.
  FileStoreCommit(std::shared_ptr<fs::FileSystem> fs, std::string table_path,
                  paimon::TableSchema schema, std::string commit_user,
                  std::string metadata_path = "");

  /// Commits `entries` (ADD and DELETE of data files) and `options.changelog`. DELETEs must name
  /// files that are live in the snapshot the commit lands on, else the commit fails as a conflict.
  /// Returns the new snapshot id. An empty change set (no entries, no changelog) commits nothing
  /// and returns the latest id (or 0).
  Result<int64_t> Commit(const std::vector<paimon::ManifestEntry>& entries,
                         const CommitOptions& options);

 private:
  std::shared_ptr<fs::FileSystem> fs_;
  std::string table_path_;
  paimon::TableSchema schema_;
  std::string commit_user_;
  SnapshotManager snapshots_;
  ManifestIO manifests_;
};

/// Partition field types of a schema, in partition-key order.
std::vector<paimon::DataTypePtr> PartitionTypes(const paimon::TableSchema& schema);

}  // namespace millpond::table
