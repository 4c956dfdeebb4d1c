// The content-addressed blob store under <warehouse>/_blobs/: images, video and logs stored once by
// SHA-256, chunked by content (FastCDC), packed, compressed by content and placed in tiers.
// Format: docs/format/blob-pack.md. A BlobStore may be shared by threads (Put and Get are
// thread-safe); several processes may write to one store (packs and index segments are never
// rewritten in place).
//
// CONTRACT (agreed between the blob-store and blob-table work; extend, do not break):
//   BlobId, BlobStore::Open, Put, PutFile, Get (whole or a byte range), Size, Contains, Flush.
// Garbage collection: blob/gc.h; tier moves: blob/tiers.h; verify and stats: blob/inspect.h.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/buffer.h>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"

namespace millpond::blob {

/// A blob's identity: the SHA-256 of its bytes. Printed as "sha256:<64 hex>"; the catalog's asset
/// id of a blob is "blob:sha256:<hex>".
struct BlobId {
  std::array<uint8_t, 32> digest{};

  std::string ToString() const;  // "sha256:<hex>"
  std::string Hex() const;
  /// Accepts "sha256:<hex>", "blob:sha256:<hex>" or a bare 64-digit hex string.
  static Result<BlobId> Parse(std::string_view text);
  /// The SHA-256 of `bytes`.
  static BlobId Of(std::string_view bytes);

  bool operator==(const BlobId&) const = default;
  auto operator<=>(const BlobId&) const = default;
};

/// Hash for unordered containers keyed by BlobId (the digest is already uniformly distributed).
struct BlobIdHash {
  size_t operator()(const BlobId& id) const {
    size_t h;
    std::memcpy(&h, id.digest.data(), sizeof(h));
    return h;
  }
};

/// One byte range of one blob, for BlobStore::GetMany (length -1: to the end).
struct BlobRange {
  BlobId id;
  int64_t offset = 0;
  int64_t length = -1;
};

/// What BlobStore::Stat reports about one stored blob.
struct BlobStat {
  BlobId id;
  int64_t size = 0;
  int64_t chunks = 0;
  /// Bytes its chunks take in packs (after compression; shared chunks counted in full).
  int64_t stored_bytes = 0;
  /// "jpeg", "png", "webp", "gif", "video", "audio", "archive", "raw-image", "text" or "binary".
  std::string content_class;
  /// Newest Flush that wrote or re-put it (ms since the epoch): the GC grace runs from here.
  int64_t ref_time = 0;
  /// Pack files holding its chunks, as "<tier>/pack-<id>.mpk", in chunk order, without repeats.
  std::vector<std::string> packs;
};

struct BlobStoreOptions {
  /// FastCDC average chunk size (min = avg/4, max = avg*4).
  int64_t average_chunk_size = 64 * 1024;
  /// Blobs smaller than this are stored whole (one chunk).
  int64_t small_blob_threshold = 64 * 1024;
  /// Target pack file size.
  int64_t target_pack_size = 64LL * 1024 * 1024;
  /// zstd level for compressible chunks when written (hot) and when a pack moves to cold.
  int zstd_level_hot = 1;
  int zstd_level_cold = 12;
  /// Check every payload's CRC-32C when reading (a corrupt pack is an error naming the file).
  bool verify_reads = true;
  /// Memory-map local pack files: a blob stored as is comes back as a zero-copy slice of its
  /// pack (after the checksum), others are decoded straight from the mapping.
  bool mmap_reads = true;
  /// Memory for decoded compressed chunks, shared by this store's readers (least recently used
  /// out first): warm reads of compressed blobs copy instead of decoding. 0 turns it off;
  /// $MILLPOND_BLOB_CACHE_MB overrides it.
  int64_t decoded_cache_bytes = 256LL << 20;
  /// fsync packs at Flush (local file systems).
  bool sync_on_flush = true;
  /// Record the last access of packs (at most hourly per pack) for tier policies.
  bool record_access = true;
  /// A writer lease not refreshed for this long counts as a crashed writer (GC protocol).
  int64_t lease_expiry_millis = 24LL * 3600 * 1000;
  /// Tier locations ("hot", "warm", "cold" -> path relative to _blobs/, absolute path or URI).
  /// Empty: _blobs/tiers.json if present, else _blobs/hot, _blobs/warm, _blobs/cold.
  std::map<std::string, std::string> tier_locations;
  /// Milliseconds since the epoch; null: the system clock. Tests pass a fake clock.
  std::function<int64_t()> clock;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  /// Opens (creating on first write) the store under `warehouse_root`/_blobs on `fs`.
  static Result<std::unique_ptr<BlobStore>> Open(std::shared_ptr<fs::FileSystem> fs,
                                                 std::string warehouse_root,
                                                 BlobStoreOptions options = {});

  /// Stores `bytes` unless a blob with the same id exists; returns its id either way.
  virtual Result<BlobId> Put(std::string_view bytes) = 0;
  /// Stores many blobs; the same ids and effect as Put on each, in order. Their ids, then the
  /// chunks of those not stored yet, are hashed together (sixteen at a time in AVX-512 lanes
  /// where the CPU has them), which is faster than one Put after another for small blobs.
  virtual Result<std::vector<BlobId>> PutMany(const std::vector<std::string_view>& blobs);
  /// Stores the file at `local_path` (streamed, never fully in memory for large files).
  virtual Result<BlobId> PutFile(const std::string& local_path) = 0;
  /// Reads `length` bytes from `offset` (length -1: to the end), touching only the chunks needed.
  virtual Result<std::shared_ptr<arrow::Buffer>> Get(const BlobId& id, int64_t offset = 0,
                                                     int64_t length = -1) = 0;
  /// The blob's size in bytes; NotFound (IOError with a clear message) when absent.
  virtual Result<int64_t> Size(const BlobId& id) = 0;
  virtual Result<bool> Contains(const BlobId& id) = 0;
  /// Makes every Put so far durable and visible to other processes (seals the open pack and writes
  /// its index segment). Put ids are only safe to commit into a table after Flush.
  virtual Status Flush() = 0;

  /// Reads many ranges on up to `parallelism` threads (0: one per core); results in input order.
  virtual std::vector<Result<std::shared_ptr<arrow::Buffer>>> GetMany(
      const std::vector<BlobRange>& ranges, int parallelism = 0);
  /// Size, chunks, packs, content class and reference time of a stored blob.
  virtual Result<BlobStat> Stat(const BlobId& id);
};

}  // namespace millpond::blob
