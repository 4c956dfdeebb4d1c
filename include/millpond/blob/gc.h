// Garbage collection of the blob store (docs/format/blob-pack.md §7): deletes blobs that are not
// in the caller's live set and were not referenced within the grace period, rewrites packs with
// little live data, and never takes a blob from a concurrent writer (marks and leases, §7.3).
// One run at a time per store (the maintenance lock); safe with readers and writers running.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "millpond/blob/blob_store.h"

namespace millpond::blob {

/// Calls `add` once for every live blob id (the tables' BLOB columns over every live snapshot,
/// tag, branch and consumer). Ids the store does not hold are ignored.
using LiveBlobs = std::function<Status(const std::function<void(const BlobId&)>& add)>;

struct GcOptions {
  /// A blob referenced (put, re-put, flushed) within this long is kept even if not live: it
  /// must exceed the longest time between a writer's Flush and its table commit.
  int64_t grace_millis = 24LL * 3600 * 1000;
  /// Packs whose live bytes are below this fraction of their size are rewritten.
  double rewrite_threshold = 0.5;
  /// Report what would happen; change nothing.
  bool dry_run = false;
};

struct GcReport {
  int64_t blobs = 0;       // indexed when the run started
  int64_t live_blobs = 0;  // of those, in the live set
  int64_t dead_blobs = 0;  // not live and past the grace period
  int64_t blobs_deleted = 0;
  int64_t chunks_deleted = 0;
  /// Dead blobs kept for now: a writer has not yet acknowledged the mark condemning them; a
  /// later run deletes them.
  int64_t blobs_deferred = 0;
  std::vector<std::string> deferred_by;  // the writer leases holding them back
  int64_t packs_deleted = 0;
  int64_t packs_rewritten = 0;
  int64_t packs_written = 0;
  int64_t orphan_packs_deleted = 0;
  int64_t segments_replaced = 0;
  int64_t pack_bytes_before = 0;
  int64_t pack_bytes_after = 0;
};

/// Runs one garbage collection over the store under `warehouse_root`/_blobs. `store_options`
/// supplies the tier locations, clock, target pack size and lease expiry.
Result<GcReport> CollectGarbage(std::shared_ptr<fs::FileSystem> fs,
                                const std::string& warehouse_root, const LiveBlobs& live,
                                const GcOptions& options = {},
                                const BlobStoreOptions& store_options = {});

}  // namespace millpond::blob
