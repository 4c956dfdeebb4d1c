// The content-addressed blob store under <warehouse>/_blobs/: images, video and logs stored once by
// SHA-256, chunked by content (FastCDC), packed, compressed by content and placed in tiers.
// Format: docs/format/blob-pack.md. A BlobStore may be shared by threads (Put and Get are
// thread-safe); several processes may write to one store (packs and index segments are never
// rewritten in place).
//
// CONTRACT (agreed between the blob-store and blob-table work; extend, do not break):
//   BlobId, BlobStore::Open, Put, PutFile, Get (whole or a byte range), Size, Contains, Flush.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

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

struct BlobStoreOptions {
  /// FastCDC average chunk size (min = avg/4, max = avg*4).
  int64_t average_chunk_size = 64 * 1024;
  /// Blobs smaller than this are stored whole (one chunk).
  int64_t small_blob_threshold = 64 * 1024;
  /// Target pack file size.
  int64_t target_pack_size = 64LL * 1024 * 1024;
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
};

}  // namespace millpond::blob
