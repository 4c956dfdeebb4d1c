// What the garbage collector and the tier mover share: listing pack files across tiers, writing
// chunks into new packs, and replacing the index segments a run loaded with one consolidated
// segment (docs/format/blob-pack.md §7.4). Used under the maintenance lock; not thread-safe.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "index.h"
#include "pack_io.h"
#include "store_layout.h"

namespace millpond::blob {

struct PackFile {
  PackId id;
  int tier = 0;
  std::string path;
  int64_t size = 0;
  int64_t mtime = 0;  // wall-clock ms
};

/// Every pack file of every tier, hottest first. A pack found in two tiers (a copy interrupted
/// by a crash) is listed once, from the hotter tier; the other copies go to `duplicates`.
Result<std::vector<PackFile>> ListPackFiles(const StoreLayout& layout,
                                            std::vector<PackFile>* duplicates = nullptr);

/// Last access time of each pack that has an access record.
Result<std::unordered_map<PackId, int64_t, PackIdHash>> ReadAccessRecords(
    const StoreLayout& layout);

/// Writes chunk payloads into new packs of one tier, sealing at the target size.
class PackRewriter {
 public:
  PackRewriter(const StoreLayout& layout, int tier, uint32_t flags, int64_t created,
               int64_t target_size, uint64_t session)
      : layout_(layout), tier_(tier), flags_(flags), created_(created),
        target_(target_size), session_(session) {}

  /// Appends a payload; `out` receives its new location.
  Status Add(const BlobId& chunk, uint32_t raw_len, uint8_t cls, uint8_t codec, uint32_t crc,
             std::string_view payload, Location* out);
  /// Seals the last pack and (local file systems) fsyncs every pack written.
  Status Finish(bool sync);
  const std::vector<PackId>& written() const { return written_; }
  int64_t bytes_written() const { return bytes_; }

 private:
  const StoreLayout& layout_;
  int tier_;
  uint32_t flags_;
  int64_t created_;
  int64_t target_;
  uint64_t session_;
  std::unique_ptr<PackWriter> open_;
  std::vector<PackId> written_;
  std::vector<std::string> paths_;
  int64_t bytes_ = 0;
};

/// One segment: for each chunk the locations `where` returns (none: the chunk is dropped), and
/// every blob `keep` accepts, with touches already folded into its ref_time and puts.
Segment BuildSegment(const Index& index,
                     const std::function<std::vector<Location>(uint32_t chunk)>& where,
                     const std::function<bool(const BlobId&)>& keep, int64_t created);

/// Writes `seg` as a new segment, then deletes the segments `replaced`.
Status ReplaceSegments(const StoreLayout& layout, const Segment& seg,
                       const std::set<std::string>& replaced, std::string* name);

/// Deletes a pack file and (unless another copy stays) its access record.
Status DeletePackFile(const StoreLayout& layout, const PackFile& pack, bool drop_access = true);

}  // namespace millpond::blob
