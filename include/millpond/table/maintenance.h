// Table maintenance: snapshot expiration with Paimon's retention options and removal of orphan
// files. Both delete only files that no retained snapshot, tag or consumer can reach.
// Not thread-safe with itself on one table; safe against concurrent writers (new files are
// younger than any cutoff and reachable files are never deleted).
// Mirrors org.apache.paimon.operation.ExpireSnapshotsImpl and OrphanFilesClean.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"

namespace millpond::table {

struct ExpireResult {
  int64_t snapshots_expired = 0;
  int64_t data_files_deleted = 0;
  int64_t manifest_files_deleted = 0;
};

/// Expires snapshots by `snapshot.num-retained.min` (default 10), `snapshot.num-retained.max`
/// (default unlimited) and `snapshot.time-retained` (default 1 h), keeping every snapshot a tag
/// points at or a consumer (consumer/consumer-ID, {"nextSnapshot": N}) still needs, then deletes
/// the data files, manifests and manifest lists only the expired snapshots referenced.
/// `now_millis` is the clock (tests pass their own).
Result<ExpireResult> ExpireSnapshots(const std::shared_ptr<fs::FileSystem>& fs,
                                     const std::string& table_path, int64_t now_millis);

struct OrphanResult {
  int64_t files_deleted = 0;
  int64_t bytes_deleted = 0;
};

/// Deletes files under the table (data files in partition/bucket folders, manifests) that no
/// snapshot or tag references and that were last modified before `older_than_millis` — the guard
/// that keeps files of commits still in progress.
Result<OrphanResult> RemoveOrphanFiles(const std::shared_ptr<fs::FileSystem>& fs,
                                       const std::string& table_path, int64_t older_than_millis);

/// Durations as Paimon writes them: "1 h", "30 min", "2d", "500 ms", "1h 30min"; plain numbers are ms.
Result<int64_t> ParseDurationMillis(const std::string& text);

}  // namespace millpond::table
