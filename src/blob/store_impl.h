// BlobStoreImpl: the BlobStore over packs and index segments. Put/Get/Flush are thread-safe:
// the index is guarded by a shared mutex (readers share it), the open pack, the pending
// (unflushed) entries and index reloads by the writer mutex, and Flush excludes Puts in flight.
// Lock order: put_mu_ -> writer_mu_ -> index_mu_; files_mu_ is never held with another.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "millpond/blob/blob_store.h"
#include "millpond/blob/fastcdc.h"
#include <arrow/io/file.h>

#include "content.h"
#include "decoded_cache.h"
#include "gc_protocol.h"
#include "index.h"
#include "pack_io.h"
#include "store_layout.h"

namespace millpond::blob {

/// Reads whose decoding was split over the CPU pool, since the process started (tests).
int64_t ParallelDecodeCount();

class BlobStoreImpl final : public BlobStore {
 public:
  BlobStoreImpl(StoreLayout layout, BlobStoreOptions options, FastCdc cdc);
  ~BlobStoreImpl() override;

  /// Loads the index.
  Status Init();

  Result<BlobId> Put(std::string_view bytes) override;
  Result<std::vector<BlobId>> PutMany(const std::vector<std::string_view>& blobs) override;
  Result<BlobId> PutFile(const std::string& local_path) override;
  Result<std::shared_ptr<arrow::Buffer>> Get(const BlobId& id, int64_t offset,
                                             int64_t length) override;
  Result<int64_t> Size(const BlobId& id) override;
  Result<bool> Contains(const BlobId& id) override;
  Status Flush() override;
  Result<BlobStat> Stat(const BlobId& id) override;

 private:
  // One piece of a read: `take` bytes from `skip` in one chunk, to `out_pos` of the result.
  struct Piece {
    BlobId chunk;
    uint32_t raw_len = 0;
    std::vector<Location> locs;
    uint64_t skip = 0, take = 0, out_pos = 0;
  };
  struct OpenPack {
    std::shared_ptr<arrow::io::RandomAccessFile> file;  // the mapping itself when mapped
    std::shared_ptr<arrow::io::MemoryMappedFile> map;    // local packs (mmap_reads)
    int tier = -1;
    std::string path;
  };

  int64_t Now() const { return NowMillis(options_.clock); }

  // --- writing (store_write.cc) ---
  Status EnsureLease();
  /// Loads the current marks into the condemned sets; reloads the index first when a mark seen
  /// before is gone (its sweep finished) or `reload` is set. writer_mu_ held, no Put running.
  Status RefreshMarksLocked(bool reload);
  bool UsableChunkLocked(const BlobId& chunk) const;  // index_mu_ held (shared)
  Status StoreChunk(const BlobId& chunk, std::string_view raw, ContentClass cls);
  Status AppendChunkLocked(const BlobId& chunk, std::string_view payload, uint8_t codec,
                           uint32_t raw_len, uint32_t crc, ContentClass cls);
  Status SealOpenPackLocked();
  void AddPendingBlob(SegBlob blob);
  // Records a touch of `id` and returns true when it is stored with every chunk usable.
  bool TouchIfStored(const BlobId& id);
  Status CheckExpiredLeaseLocked();

  // --- index (store_write.cc) ---
  /// Reads new segments (all of them again when one disappeared); returns whether the view is
  /// complete (no segment vanished while loading).
  Result<bool> ReloadIndex(bool writer_locked = false);
  Segment PendingSegmentLocked() const;  // writer_mu_ held

  // --- reading (store_read.cc) ---
  Result<std::vector<Piece>> Plan(const BlobId& id, int64_t offset, int64_t length,
                                  uint64_t* size);
  Status ReadPieces(const std::vector<Piece>& pieces, uint8_t* out,
                    std::set<PackId>* missing);
  /// The result as a zero-copy slice of a mapped pack when the range is one run of chunks stored
  /// as is; null when it is not.
  Result<std::shared_ptr<arrow::Buffer>> ZeroCopy(const std::vector<Piece>& pieces);
  Result<OpenPack> OpenPackFile(const PackId& pack, bool refresh);
  void RecordAccess(const PackId& pack);
  Status PackMissing(const PackId& pack) const;

  StoreLayout layout_;
  BlobStoreOptions options_;
  FastCdc cdc_;
  const uint64_t writer_id_;

  mutable std::shared_mutex index_mu_;
  Index index_;
  std::set<std::string> loaded_segments_;
  std::unordered_set<BlobId, BlobIdHash> condemned_chunks_, condemned_blobs_;

  std::shared_mutex put_mu_;  // Put/PutFile share it; Flush takes it alone
  std::mutex writer_mu_;
  std::unique_ptr<PackWriter> open_pack_;
  std::atomic<bool> has_open_pack_{false};  // lets readers skip writer_mu_
  std::vector<PackId> pending_packs_;       // sealed or open, not yet in a segment
  std::vector<std::string> pending_paths_;  // their files, to fsync at Flush
  std::vector<SegChunk> pending_chunks_;
  std::vector<SegBlob> pending_blobs_;
  std::vector<BlobId> pending_touches_;
  std::unordered_set<BlobId, BlobIdHash> dedup_refs_;  // chunks trusted since the last Flush
  bool lease_held_ = false;
  int64_t lease_refreshed_ = 0;
  int64_t seen_mark_ = -1;
  std::set<std::string> seen_marks_;
  std::unordered_map<std::string, Mark> mark_cache_;

  std::mutex files_mu_;
  std::unordered_map<PackId, OpenPack, PackIdHash> files_;
  std::unordered_map<PackId, int64_t, PackIdHash> access_recorded_;

  std::unique_ptr<DecodedCache> decoded_cache_;  // null when options_.decoded_cache_bytes is 0
};

}  // namespace millpond::blob
