// DecodedCache: a sharded byte-budgeted LRU of decoded chunks.
#include "decoded_cache.h"

namespace millpond::blob {

DecodedCache::DecodedCache(int64_t capacity_bytes) : capacity_(capacity_bytes) {}

std::shared_ptr<const std::string> DecodedCache::Lookup(const BlobId& chunk) {
  Shard& s = ShardOf(chunk);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(chunk);
  if (it == s.map.end()) return nullptr;
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  return it->second->second;
}

void DecodedCache::Insert(const BlobId& chunk, const uint8_t* data, size_t n) {
  const int64_t budget = capacity_ / kShards;
  if (static_cast<int64_t>(n) > budget) return;
  auto value = std::make_shared<const std::string>(reinterpret_cast<const char*>(data), n);
  Shard& s = ShardOf(chunk);
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.map.count(chunk)) return;
  s.lru.emplace_front(chunk, std::move(value));
  s.map.emplace(chunk, s.lru.begin());
  s.bytes += static_cast<int64_t>(n);
  while (s.bytes > budget) {
    auto& victim = s.lru.back();
    s.bytes -= static_cast<int64_t>(victim.second->size());
    s.map.erase(victim.first);
    s.lru.pop_back();
  }
}

int64_t DecodedCache::size() const {
  int64_t total = 0;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    total += s.bytes;
  }
  return total;
}

}  // namespace millpond::blob
