// The in-memory blob index: the union of index segments (docs/format/blob-pack.md §4). Maps chunk
// ids to their locations and blob ids to their chunk lists. Not thread-safe: the store guards it.
#pragma once

#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "pack_format.h"
#include "store_layout.h"

namespace millpond::blob {

struct Location {
  PackId pack;
  uint64_t offset = 0;
  uint32_t stored_len = 0;
  uint32_t crc = 0;
  uint8_t codec = 0;
};

struct ChunkRec {
  BlobId id;
  uint32_t raw_len = 0;
  uint8_t cls = 0;
  std::vector<Location> locs;
};

struct BlobRec {
  uint64_t size = 0;
  int64_t ref_time = 0;
  uint64_t puts = 0;
  std::vector<uint32_t> chunks;  // indices into Index::chunks()
  std::vector<uint64_t> ends;    // cumulative end offset of each chunk
};

class Index {
 public:
  /// Merges one segment (any order; a blob entry may precede its chunks' locations).
  void AddSegment(const Segment& s);

  const ChunkRec* FindChunk(const BlobId& id) const;
  const BlobRec* FindBlob(const BlobId& id) const;
  BlobRec* MutableBlob(const BlobId& id);

  /// The chunk record for `id`, created without locations if new.
  uint32_t ChunkIndex(const BlobId& id, uint32_t raw_len);
  void AddLocation(uint32_t chunk, const Location& loc, uint8_t cls);
  void AddBlob(const SegBlob& b);
  void AddTouch(const SegTouch& t);

  const std::vector<ChunkRec>& chunks() const { return chunks_; }
  const std::unordered_map<BlobId, BlobRec, BlobIdHash>& blobs() const { return blobs_; }

 private:
  std::vector<ChunkRec> chunks_;
  std::unordered_map<BlobId, uint32_t, BlobIdHash> chunk_by_id_;
  std::unordered_map<BlobId, BlobRec, BlobIdHash> blobs_;
  // Touches whose blob entry has not been seen yet.
  std::unordered_map<BlobId, SegTouch, BlobIdHash> early_touches_;
};

struct LoadedIndex {
  Index index;
  std::set<std::string> segments;  // file names merged
  /// False when a listed segment vanished before it was read (a GC replaced it): reload.
  bool consistent = true;
  /// Corrupt segments, in lenient mode (otherwise the first one is an error).
  std::vector<std::string> problems;
};

/// Segments read from _blobs/index, by file name.
struct ReadSegmentsResult {
  std::vector<std::pair<std::string, Segment>> segments;
  bool consistent = true;             // no listed segment vanished before it was read
  std::vector<std::string> problems;  // corrupt segments (lenient mode)
};

/// Reads the segments `names` (a vanished one clears `consistent`; a corrupt one is an error
/// unless `lenient`).
Status ReadSegments(const StoreLayout& layout, const std::set<std::string>& names, bool lenient,
                    ReadSegmentsResult* out);
/// Lists _blobs/index and merges every segment not in `skip` into `into`.
Status LoadSegments(const StoreLayout& layout, const std::set<std::string>& skip,
                    bool lenient, LoadedIndex* into);
/// The segment file names currently listed.
Result<std::set<std::string>> ListSegments(const StoreLayout& layout);

}  // namespace millpond::blob
