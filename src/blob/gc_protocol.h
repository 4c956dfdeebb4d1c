// The files through which writers and the garbage collector agree without a shared lock
// (docs/format/blob-pack.md §7.3): marks (what a GC run condemned) and writer leases (which marks
// a writer has seen). Thread-safe (no state).
#pragma once

#include <string>
#include <vector>

#include "millpond/blob/blob_store.h"
#include "store_layout.h"

namespace millpond::blob {

struct Mark {
  std::string name;  // mark-<13-digit created>-<16 hex>.json
  int64_t created = 0;
  std::vector<BlobId> blobs;
  std::vector<BlobId> chunks;
};

struct Lease {
  uint64_t writer = 0;
  int64_t refreshed = 0;
  int64_t seen_mark = -1;
};

/// Mark file names under _blobs/gc, oldest first, with their created times.
Result<std::vector<std::pair<int64_t, std::string>>> ListMarks(const StoreLayout& layout);
/// Reads one mark; NotFound-like failures (deleted meanwhile) come back as an error.
Result<Mark> ReadMark(const StoreLayout& layout, const std::string& name);
/// Writes `mark` (its created time must be set) and fills in its name.
Status WriteMark(const StoreLayout& layout, Mark* mark);

std::string LeasePath(const StoreLayout& layout, uint64_t writer);
Status WriteLease(const StoreLayout& layout, const Lease& lease);
/// Every lease file (unreadable ones are skipped: a lease being rewritten is replaced atomically).
Result<std::vector<Lease>> ReadLeases(const StoreLayout& layout);

}  // namespace millpond::blob
