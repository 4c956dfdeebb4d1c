// Looking at a blob store from outside: verify every pack and index segment (checksums, chunk
// ids, index against pack footers) and the space statistics by tier and content class.
// Read-only; safe while writers, GC and tier moves run (a pack that vanishes mid-check is a note).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "millpond/blob/blob_store.h"

namespace millpond::blob {

struct VerifyOptions {
  /// Only CRC-32C of payloads (fast); by default payloads are also decoded and their SHA-256
  /// compared with the chunk id.
  bool checksums_only = false;
};

struct VerifyReport {
  int64_t segments = 0, packs = 0, chunks = 0, blobs = 0, bytes = 0;
  /// One line each, naming the file: corrupt or truncated packs and segments, missing packs,
  /// index entries a pack's footer contradicts, blobs with missing chunks.
  std::vector<std::string> problems;
  /// Not errors: unreferenced packs (a writer's unfinished pack, or an orphan the GC removes).
  std::vector<std::string> notes;
  bool ok() const { return problems.empty(); }
};

Result<VerifyReport> VerifyStore(std::shared_ptr<fs::FileSystem> fs,
                                 const std::string& warehouse_root,
                                 const VerifyOptions& options = {},
                                 const BlobStoreOptions& store_options = {});

struct ClassStats {
  int64_t chunks = 0;
  int64_t raw_bytes = 0;     // unique chunks, uncompressed
  int64_t stored_bytes = 0;  // their payloads
};

struct StoreStats {
  int64_t blobs = 0;
  int64_t puts = 0;           // Put calls recorded (duplicates included)
  int64_t logical_bytes = 0;  // Σ blob size × puts: what writers handed over
  int64_t blob_bytes = 0;     // Σ size of distinct blobs
  int64_t chunks = 0;
  int64_t chunk_bytes = 0;    // distinct chunks, uncompressed
  int64_t stored_bytes = 0;   // their payloads (one copy each)
  int64_t packs = 0;
  int64_t pack_bytes = 0;     // pack files on disk, all tiers
  std::map<std::string, std::pair<int64_t, int64_t>> tiers;  // tier -> (packs, bytes)
  std::map<std::string, ClassStats> classes;                  // content class -> bytes
};

Result<StoreStats> ComputeStats(std::shared_ptr<fs::FileSystem> fs,
                                const std::string& warehouse_root,
                                const BlobStoreOptions& store_options = {});

}  // namespace millpond::blob
