// Snapshots and tags of one table: paths, the LATEST/EARLIEST hints, lookup by id, tag and time,
// and the atomic creation of snapshot-N that makes a commit visible. Thread-safe (stateless
// apart from the file system, which is thread-safe).
// Mirrors org.apache.paimon.utils.SnapshotManager and TagManager.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/snapshot.h"

namespace millpond::table {

inline constexpr const char* kSnapshotPrefix = "snapshot-";
inline constexpr const char* kTagPrefix = "tag-";
inline constexpr const char* kMainBranch = "main";

/// Where a branch keeps its snapshot/, schema/ and tag/ folders: the table folder for the main
/// branch, <table>/branch/branch-NAME otherwise. Data files and manifests are shared at the table
/// root. Names are letters, digits, '-', '_' and '.'.
Result<std::string> BranchMetadataPath(const std::string& table_path, const std::string& branch);
bool IsMainBranch(const std::string& branch);

class SnapshotManager {
 public:
  /// `metadata_path` is the table folder, or a branch's folder (see BranchMetadataPath).
  SnapshotManager(std::shared_ptr<fs::FileSystem> fs, std::string metadata_path)
      : fs_(std::move(fs)), table_path_(std::move(metadata_path)) {}

  std::string SnapshotDir() const;
  std::string SnapshotPath(int64_t id) const;
  std::string TagPath(const std::string& tag) const;

  /// Id of the newest snapshot, or nullopt for a table without snapshots. Trusts LATEST only
  /// after checking that no newer snapshot file exists.
  Result<std::optional<int64_t>> LatestSnapshotId() const;
  Result<std::optional<int64_t>> EarliestSnapshotId() const;
  Result<paimon::Snapshot> ReadSnapshot(int64_t id) const;
  /// All snapshot ids present, ascending.
  Result<std::vector<int64_t>> ListSnapshotIds() const;
  /// The newest snapshot committed at or before `time_millis`.
  Result<paimon::Snapshot> SnapshotAsOf(int64_t time_millis) const;

  /// Writes snapshot-<s.id> if and only if it does not exist; false when another writer won.
  /// On success refreshes the LATEST (and, for the first, EARLIEST) hint.
  Result<bool> TryCommit(const paimon::Snapshot& s) const;

  Result<paimon::Snapshot> ReadTag(const std::string& tag) const;
  Result<std::vector<std::string>> ListTags() const;
  /// Creates tag `tag` pointing at snapshot `id`; fails if the tag exists.
  Status CreateTag(const std::string& tag, int64_t id) const;
  Status DeleteTag(const std::string& tag) const;

 private:
  Result<std::optional<int64_t>> ReadHint(const char* name) const;

  std::shared_ptr<fs::FileSystem> fs_;
  std::string table_path_;
};

}  // namespace millpond::table
