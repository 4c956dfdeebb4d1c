// Keeping Paimon readers of store-backed BLOB columns working after the store moves packs.
//
// A descriptor BLOB column of a table whose blobs live in the store (`blob-descriptor-field` with
// `millpond.blob-id-field.<column>`, as `ingest files` creates) holds, for a blob that lies whole
// and uncompressed in one pack, the pack file's path, offset and length: Paimon Java, pypaimon and
// Spark read those bytes themselves. `tier apply` moves packs and a GC rewrite copies their live
// chunks into new packs, so such a descriptor would name a file that is gone. millpond reads the
// column by blob id and never notices; other readers would fail.
//
// RefreshDescriptors rewrites, in every such table's latest snapshot, the descriptor column of
// each row-id range holding a descriptor that no longer matches where the store keeps the blob.
// It uses data evolution, as Paimon does for column updates: a new file with only the descriptor
// column (`_WRITE_COLS`) over the same row ids and a higher sequence number, committed as a
// COMPACT snapshot (streaming readers skip it; the rows do not change), which also deletes the
// descriptor-only file it supersedes. The rows, their ids and their bytes stay the same; older
// snapshots keep their old descriptors (time travel through Paimon to before a move fails for
// moved blobs, through millpond it works). Branches are not refreshed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "millpond/blob/blob_store.h"
#include "millpond/table/catalog.h"

namespace millpond::blob {

struct RefreshResult {
  int64_t tables = 0;         // tables with store-backed descriptor columns
  int64_t rows_changed = 0;   // descriptors rewritten
  int64_t files_written = 0;  // descriptor-only data files added
  std::vector<std::string> committed;  // "db.table@snapshot" per table that changed
};

/// Refreshes every table of `catalog` (see above). Safe to run at any time and concurrently with
/// writers (a commit that loses a race is redone on the new latest snapshot).
Result<RefreshResult> RefreshDescriptors(const table::Catalog& catalog,
                                         const BlobStoreOptions& options = {});

}  // namespace millpond::blob
