// DecodedCache: decoded bytes of compressed chunks, by chunk id, least recently used out first,
// within a byte budget. What the page cache is to files stored as is, this is to chunks stored
// as zstd frames: a warm read of a compressed blob copies instead of decoding again. Chunk ids
// are SHA-256 of the decoded bytes, so an entry never goes stale, whatever moves the pack.
// Thread-safe (sharded mutexes).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "millpond/blob/blob_store.h"

namespace millpond::blob {

class DecodedCache {
 public:
  explicit DecodedCache(int64_t capacity_bytes);

  /// The decoded bytes of `chunk`, or null.
  std::shared_ptr<const std::string> Lookup(const BlobId& chunk);
  /// Remembers `n` decoded bytes of `chunk` (no-op when they exceed a shard's budget).
  void Insert(const BlobId& chunk, const uint8_t* data, size_t n);

  int64_t capacity() const { return capacity_; }
  int64_t size() const;

 private:
  static constexpr int kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::list<std::pair<BlobId, std::shared_ptr<const std::string>>> lru;  // front: newest
    std::unordered_map<BlobId, decltype(lru)::iterator, BlobIdHash> map;
    int64_t bytes = 0;
  };
  Shard& ShardOf(const BlobId& chunk) { return shards_[chunk.digest[0] % kShards]; }

  const int64_t capacity_;
  Shard shards_[kShards];
};

}  // namespace millpond::blob
