// BlobStoreImpl, writing side: Open, Put, PutFile, Flush, the writer lease and the index reload.
// The dedup rules follow the GC protocol of docs/format/blob-pack.md §7.3.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <zstd.h>

#include "crc32c.h"
#include "sha256.h"
#include "store_impl.h"

namespace millpond::blob {
namespace {

// Files up to this size are read whole and put like bytes (one hash pass when already stored).
constexpr int64_t kWholeFileLimit = 64LL << 20;
// The streaming reader's window (must exceed the largest chunk).
constexpr size_t kStreamWindow = 16u << 20;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

Status ReadFully(int fd, const std::string& path, char* out, size_t n, size_t* got) {
  *got = 0;
  while (*got < n) {
    ssize_t r = ::read(fd, out + *got, n - *got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("cannot read ", path, ": ", std::strerror(errno));
    }
    if (r == 0) break;
    *got += static_cast<size_t>(r);
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<BlobStore>> BlobStore::Open(std::shared_ptr<fs::FileSystem> fs,
                                                   std::string warehouse_root,
                                                   BlobStoreOptions options) {
  if (!fs) return Status::Invalid("blob store: no file system");
  MP_ASSIGN_OR_RAISE(auto cdc, FastCdc::Make(options.average_chunk_size));
  if (options.small_blob_threshold < 0 || options.small_blob_threshold > (1LL << 30)) {
    return Status::Invalid("small_blob_threshold must be between 0 and 1 GiB");
  }
  if (options.target_pack_size < 4096) {
    return Status::Invalid("target_pack_size must be at least 4096 bytes");
  }
  for (int level : {options.zstd_level_hot, options.zstd_level_cold}) {
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel() || level == 0) {
      return Status::Invalid("zstd level ", level, " out of range");
    }
  }
  MP_ASSIGN_OR_RAISE(auto layout, StoreLayout::Open(fs, warehouse_root, options.tier_locations));
  auto impl = std::make_unique<BlobStoreImpl>(std::move(layout), std::move(options), cdc);
  MP_RETURN_NOT_OK(impl->Init());
  return std::unique_ptr<BlobStore>(std::move(impl));
}

Result<std::vector<BlobId>> BlobStore::PutMany(const std::vector<std::string_view>& blobs) {
  std::vector<BlobId> ids;
  ids.reserve(blobs.size());
  for (const auto& b : blobs) {
    MP_ASSIGN_OR_RAISE(BlobId id, Put(b));
    ids.push_back(id);
  }
  return ids;
}

std::vector<Result<std::shared_ptr<arrow::Buffer>>> BlobStore::GetMany(
    const std::vector<BlobRange>& ranges, int parallelism) {
  std::vector<Result<std::shared_ptr<arrow::Buffer>>> out(ranges.size());
  size_t threads = parallelism > 0 ? static_cast<size_t>(parallelism)
                                   : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, ranges.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < ranges.size(); i = next++) {
      out[i] = Get(ranges[i].id, ranges[i].offset, ranges[i].length);
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return out;
}

Result<BlobStat> BlobStore::Stat(const BlobId&) {
  return Status::NotImplemented("Stat is not implemented by this blob store");
}

BlobStoreImpl::BlobStoreImpl(StoreLayout layout, BlobStoreOptions options, FastCdc cdc)
    : layout_(std::move(layout)),
      options_(std::move(options)),
      cdc_(cdc),
      writer_id_(RandomU64() | 1) {
  // $MILLPOND_BLOB_CACHE_MB overrides the decoded-chunk cache's size (0 turns it off).
  if (const char* mb = std::getenv("MILLPOND_BLOB_CACHE_MB"); mb && *mb) {
    options_.decoded_cache_bytes = std::max<int64_t>(0, std::atoll(mb)) << 20;
  }
  if (options_.decoded_cache_bytes > 0) {
    decoded_cache_ = std::make_unique<DecodedCache>(options_.decoded_cache_bytes);
  }
}

BlobStoreImpl::~BlobStoreImpl() {
  (void)Flush();  // best effort; Put ids are only safe to commit after a successful Flush
  std::lock_guard<std::mutex> lock(writer_mu_);
  if (lease_held_) (void)layout_.fs()->DeleteFile(LeasePath(layout_, writer_id_));
}

Status BlobStoreImpl::Init() {
  LoadedIndex li;
  MP_RETURN_NOT_OK(LoadSegments(layout_, {}, /*lenient=*/false, &li));
  index_ = std::move(li.index);
  loaded_segments_ = std::move(li.segments);
  return Status::OK();
}

Segment BlobStoreImpl::PendingSegmentLocked() const {
  Segment s;
  s.packs = pending_packs_;
  s.chunks = pending_chunks_;
  s.blobs = pending_blobs_;
  for (const auto& t : pending_touches_) s.touches.push_back(SegTouch{t, 0});
  return s;
}

Result<bool> BlobStoreImpl::ReloadIndex(bool writer_locked) {
  // The writer mutex serializes reloads and keeps the pending entries still while rebuilding.
  std::unique_lock<std::mutex> wl(writer_mu_, std::defer_lock);
  if (!writer_locked) wl.lock();
  MP_ASSIGN_OR_RAISE(auto listed, ListSegments(layout_));
  std::set<std::string> loaded;
  {
    std::shared_lock<std::shared_mutex> lock(index_mu_);
    loaded = loaded_segments_;
  }
  bool removed = false;
  std::set<std::string> fresh;
  for (const auto& n : loaded) removed |= !listed.count(n);
  for (const auto& n : listed) {
    if (!loaded.count(n)) fresh.insert(n);
  }
  ReadSegmentsResult r;
  if (!removed) {
    MP_RETURN_NOT_OK(ReadSegments(layout_, fresh, /*lenient=*/false, &r));
    std::unique_lock<std::shared_mutex> lock(index_mu_);
    for (auto& [name, seg] : r.segments) {
      index_.AddSegment(seg);
      loaded_segments_.insert(name);
    }
    return r.consistent;
  }
  // A GC or tier run replaced segments: rebuild, then put back what this writer has pending.
  MP_RETURN_NOT_OK(ReadSegments(layout_, listed, /*lenient=*/false, &r));
  Index rebuilt;
  std::set<std::string> names;
  for (auto& [name, seg] : r.segments) {
    rebuilt.AddSegment(seg);
    names.insert(name);
  }
  rebuilt.AddSegment(PendingSegmentLocked());
  std::unique_lock<std::shared_mutex> lock(index_mu_);
  index_ = std::move(rebuilt);
  loaded_segments_ = std::move(names);
  return r.consistent;
}

Status BlobStoreImpl::RefreshMarksLocked(bool reload) {
  MP_ASSIGN_OR_RAISE(auto marks, ListMarks(layout_));
  std::set<std::string> names;
  int64_t newest = seen_mark_;
  for (const auto& [created, name] : marks) {
    names.insert(name);
    newest = std::max(newest, created);
  }
  bool vanished = false;
  for (const auto& n : seen_marks_) vanished |= !names.count(n);
  std::unordered_set<BlobId, BlobIdHash> chunks, blobs;
  for (const auto& name : names) {
    auto it = mark_cache_.find(name);
    if (it == mark_cache_.end()) {
      auto m = ReadMark(layout_, name);
      if (!m.ok()) {
        MP_ASSIGN_OR_RAISE(bool exists, layout_.fs()->Exists(layout_.gc_dir() + "/" + name));
        if (!exists) {  // swept and removed meanwhile
          vanished = true;
          continue;
        }
        return m.status();
      }
      it = mark_cache_.emplace(name, std::move(*m)).first;
    }
    chunks.insert(it->second.chunks.begin(), it->second.chunks.end());
    blobs.insert(it->second.blobs.begin(), it->second.blobs.end());
  }
  for (auto it = mark_cache_.begin(); it != mark_cache_.end();) {
    it = names.count(it->first) ? std::next(it) : mark_cache_.erase(it);
  }
  // Reload before forgetting a finished sweep's condemned set: until then its chunks are avoided.
  if (vanished || reload) MP_RETURN_NOT_OK(ReloadIndex(/*writer_locked=*/true).status());
  {
    std::unique_lock<std::shared_mutex> lock(index_mu_);
    condemned_chunks_ = std::move(chunks);
    condemned_blobs_ = std::move(blobs);
  }
  seen_marks_ = std::move(names);
  seen_mark_ = newest;
  return Status::OK();
}

Status BlobStoreImpl::EnsureLease() {
  std::lock_guard<std::mutex> lock(writer_mu_);
  const int64_t now = Now();
  if (!lease_held_) {
    // Lease first, marks second (§7.3), then the index as of after those marks.
    MP_RETURN_NOT_OK(WriteLease(layout_, Lease{writer_id_, now, -1}));
    lease_held_ = true;
    lease_refreshed_ = now;
    MP_RETURN_NOT_OK(RefreshMarksLocked(/*reload=*/true));
    return WriteLease(layout_, Lease{writer_id_, now, seen_mark_});
  }
  if (now - lease_refreshed_ > options_.lease_expiry_millis / 4) {
    MP_RETURN_NOT_OK(WriteLease(layout_, Lease{writer_id_, now, seen_mark_}));
    lease_refreshed_ = now;
  }
  return Status::OK();
}

bool BlobStoreImpl::UsableChunkLocked(const BlobId& chunk) const {
  const ChunkRec* rec = index_.FindChunk(chunk);
  return rec && !rec->locs.empty() && !condemned_chunks_.count(chunk);
}

Status BlobStoreImpl::SealOpenPackLocked() {
  if (!open_pack_) return Status::OK();
  MP_RETURN_NOT_OK(open_pack_->Seal());
  open_pack_.reset();
  has_open_pack_.store(false, std::memory_order_release);
  return Status::OK();
}

Status BlobStoreImpl::AppendChunkLocked(const BlobId& chunk, std::string_view payload,
                                        uint8_t codec, uint32_t raw_len, uint32_t crc,
                                        ContentClass cls) {
  if (open_pack_ && !open_pack_->entries().empty() &&
      open_pack_->size() + payload.size() + kPackTrailerSize >
          static_cast<uint64_t>(options_.target_pack_size)) {
    MP_RETURN_NOT_OK(SealOpenPackLocked());
  }
  if (!open_pack_) {
    PackHeader h;
    h.id = PackId::Random(writer_id_);
    h.created = Now();
    MP_ASSIGN_OR_RAISE(open_pack_, PackWriter::Create(layout_.tier(kTierHot).fs,
                                                      layout_.pack_path(kTierHot, h.id), h));
    pending_packs_.push_back(h.id);
    pending_paths_.push_back(open_pack_->path());
    has_open_pack_.store(true, std::memory_order_release);
  }
  ChunkEntry e;
  e.id = chunk;
  e.raw_len = raw_len;
  e.crc = crc;
  e.codec = codec;
  e.cls = static_cast<uint8_t>(cls);
  MP_RETURN_NOT_OK(open_pack_->Append(payload, &e));
  pending_chunks_.push_back(SegChunk{e, static_cast<uint32_t>(pending_packs_.size() - 1)});
  std::unique_lock<std::shared_mutex> lock(index_mu_);
  Location loc{open_pack_->id(), e.offset, e.stored_len, crc, codec};
  index_.AddLocation(index_.ChunkIndex(chunk, raw_len), loc, e.cls);
  return Status::OK();
}

Status BlobStoreImpl::StoreChunk(const BlobId& chunk, std::string_view raw, ContentClass cls) {
  bool known;
  {
    std::shared_lock<std::shared_mutex> lock(index_mu_);
    known = UsableChunkLocked(chunk);
  }
  if (known) {
    std::lock_guard<std::mutex> lock(writer_mu_);
    dedup_refs_.insert(chunk);
    return Status::OK();
  }
  thread_local std::string scratch;
  MP_ASSIGN_OR_RAISE(auto enc, EncodeChunk(raw, cls, options_.zstd_level_hot, &scratch));
  const uint32_t crc = Crc32c(enc.payload);
  std::lock_guard<std::mutex> lock(writer_mu_);
  {
    // Another thread may have stored the same chunk meanwhile.
    std::shared_lock<std::shared_mutex> ilock(index_mu_);
    if (UsableChunkLocked(chunk)) return Status::OK();
  }
  return AppendChunkLocked(chunk, enc.payload, enc.codec, static_cast<uint32_t>(raw.size()), crc,
                           cls);
}

void BlobStoreImpl::AddPendingBlob(SegBlob blob) {
  std::lock_guard<std::mutex> lock(writer_mu_);
  std::unique_lock<std::shared_mutex> ilock(index_mu_);
  index_.AddBlob(blob);
  pending_blobs_.push_back(std::move(blob));
}

bool BlobStoreImpl::TouchIfStored(const BlobId& id) {
  // Already stored: record a touch (it restarts the GC grace period), store nothing.
  std::vector<BlobId> chunk_ids;
  {
    std::shared_lock<std::shared_mutex> lock(index_mu_);
    const BlobRec* rec = index_.FindBlob(id);
    if (!rec || condemned_blobs_.count(id)) return false;
    for (uint32_t c : rec->chunks) {
      const BlobId& cid = index_.chunks()[c].id;
      if (!UsableChunkLocked(cid)) return false;
      chunk_ids.push_back(cid);
    }
  }
  std::lock_guard<std::mutex> lock(writer_mu_);
  pending_touches_.push_back(id);
  dedup_refs_.insert(chunk_ids.begin(), chunk_ids.end());
  std::unique_lock<std::shared_mutex> ilock(index_mu_);
  index_.AddTouch(SegTouch{id, 0});
  return true;
}

Result<BlobId> BlobStoreImpl::Put(std::string_view bytes) {
  MP_ASSIGN_OR_RAISE(auto ids, PutMany({bytes}));
  return ids[0];
}

Result<std::vector<BlobId>> BlobStoreImpl::PutMany(const std::vector<std::string_view>& blobs) {
  if (blobs.empty()) return std::vector<BlobId>{};
  std::shared_lock<std::shared_mutex> put(put_mu_);
  std::vector<Digest> digests(blobs.size());
  Sha256Many(blobs.data(), blobs.size(), digests.data());
  std::vector<BlobId> ids(blobs.size());
  for (size_t i = 0; i < blobs.size(); ++i) ids[i].digest = digests[i];
  MP_RETURN_NOT_OK(EnsureLease());
  // The blobs not stored yet, cut into chunks (small ones stay whole).
  struct Fresh {
    size_t blob;
    ContentClass cls;
    size_t first, count;  // its chunks in `chunks` (count 0: stored whole)
  };
  std::vector<Fresh> fresh;
  std::vector<std::string_view> chunks;
  std::unordered_set<BlobId, BlobIdHash> seen;
  for (size_t i = 0; i < blobs.size(); ++i) {
    if (!seen.insert(ids[i]).second || TouchIfStored(ids[i])) continue;
    const std::string_view bytes = blobs[i];
    Fresh f{i, Classify(bytes.substr(0, 512)), chunks.size(), 0};
    if (static_cast<int64_t>(bytes.size()) >= options_.small_blob_threshold) {
      for (size_t off = 0; off < bytes.size();) {
        const size_t n = cdc_.NextCut(reinterpret_cast<const uint8_t*>(bytes.data()) + off,
                                      bytes.size() - off);
        chunks.push_back(bytes.substr(off, n));
        off += n;
      }
      f.count = chunks.size() - f.first;
    }
    fresh.push_back(f);
  }
  // Chunk ids, all in one batch; a blob that is one chunk is its own chunk id.
  std::vector<Digest> chunk_digests(chunks.size());
  {
    std::vector<std::string_view> todo;
    std::vector<size_t> where;
    for (const auto& f : fresh) {
      if (f.count == 1) {
        chunk_digests[f.first] = ids[f.blob].digest;
        continue;
      }
      for (size_t k = f.first; k < f.first + f.count; ++k) {
        todo.push_back(chunks[k]);
        where.push_back(k);
      }
    }
    std::vector<Digest> got(todo.size());
    Sha256Many(todo.data(), todo.size(), got.data());
    for (size_t k = 0; k < where.size(); ++k) chunk_digests[where[k]] = got[k];
  }
  for (const auto& f : fresh) {
    SegBlob blob;
    blob.id = ids[f.blob];
    blob.size = blobs[f.blob].size();
    if (f.count == 0) {
      MP_RETURN_NOT_OK(StoreChunk(blob.id, blobs[f.blob], f.cls));
    } else {
      for (size_t k = f.first; k < f.first + f.count; ++k) {
        const BlobId cid{chunk_digests[k]};
        MP_RETURN_NOT_OK(StoreChunk(cid, chunks[k], f.cls));
        blob.chunks.emplace_back(cid, static_cast<uint32_t>(chunks[k].size()));
      }
      if (blob.chunks.size() == 1) blob.chunks.clear();
    }
    AddPendingBlob(std::move(blob));
  }
  return ids;
}

Result<BlobId> BlobStoreImpl::PutFile(const std::string& local_path) {
  Fd fd(::open(local_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::IOError("cannot open ", local_path, ": ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Status::IOError("cannot stat ", local_path, ": ", std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::Invalid(local_path, " is not a regular file");
  if (st.st_size <= kWholeFileLimit) {
    std::string bytes(static_cast<size_t>(st.st_size), '\0');
    size_t got;
    MP_RETURN_NOT_OK(ReadFully(fd.get(), local_path, bytes.data(), bytes.size(), &got));
    if (got != bytes.size()) return Status::IOError(local_path, " changed while being read");
    return Put(bytes);
  }
  // Large file: one pass, hashing the blob and its chunks as the window slides.
  std::shared_lock<std::shared_mutex> put(put_mu_);
  MP_RETURN_NOT_OK(EnsureLease());
  std::string window(std::max(kStreamWindow, 2 * cdc_.max_size()), '\0');
  size_t begin = 0, end = 0;
  bool eof = false;
  Sha256 blob_hash;
  SegBlob blob;
  ContentClass cls = ContentClass::kBinary;
  bool classified = false;
  uint64_t total = 0;
  while (true) {
    if (!eof && end - begin < cdc_.max_size()) {
      std::memmove(window.data(), window.data() + begin, end - begin);
      end -= begin;
      begin = 0;
      const size_t want = window.size() - end;
      size_t got;
      MP_RETURN_NOT_OK(ReadFully(fd.get(), local_path, window.data() + end, want, &got));
      end += got;
      eof = got < want;
      if (!classified) {
        cls = Classify(std::string_view(window.data(), std::min<size_t>(end, 512)));
        classified = true;
      }
    }
    if (begin == end) break;
    // Every final cut in the window (all but a tail shorter than the largest chunk, unless at
    // the end of the file), hashed as one batch.
    std::vector<std::string_view> chunks;
    size_t at = begin;
    while (at < end && (eof || end - at >= cdc_.max_size())) {
      const size_t n =
          cdc_.NextCut(reinterpret_cast<const uint8_t*>(window.data() + at), end - at);
      chunks.emplace_back(window.data() + at, n);
      at += n;
    }
    blob_hash.Update(window.data() + begin, at - begin);
    std::vector<Digest> digests(chunks.size());
    Sha256Many(chunks.data(), chunks.size(), digests.data());
    for (size_t i = 0; i < chunks.size(); ++i) {
      const BlobId cid{digests[i]};
      MP_RETURN_NOT_OK(StoreChunk(cid, chunks[i], cls));
      blob.chunks.emplace_back(cid, static_cast<uint32_t>(chunks[i].size()));
    }
    total += at - begin;
    begin = at;
  }
  blob.id.digest = blob_hash.Final();
  blob.size = total;
  if (blob.chunks.size() == 1) blob.chunks.clear();
  const BlobId id = blob.id;
  AddPendingBlob(std::move(blob));
  return id;
}

Status BlobStoreImpl::CheckExpiredLeaseLocked() {
  if (!lease_held_ || dedup_refs_.empty() ||
      Now() - lease_refreshed_ <= options_.lease_expiry_millis) {
    return Status::OK();
  }
  // Idle past the lease expiry: a GC may have taken what this writer deduplicated against.
  MP_RETURN_NOT_OK(ReloadIndex(/*writer_locked=*/true).status());
  std::shared_lock<std::shared_mutex> lock(index_mu_);
  for (const auto& c : dedup_refs_) {
    const ChunkRec* rec = index_.FindChunk(c);
    if (!rec || rec->locs.empty()) {
      return Status::IOError("blob store writer was idle longer than its lease (",
                             options_.lease_expiry_millis / 1000, " s) and chunk ", c.Hex(),
                             " it deduplicated against was garbage-collected meanwhile; put ",
                             "the blobs of this flush again");
    }
  }
  return Status::OK();
}

Status BlobStoreImpl::Flush() {
  std::unique_lock<std::shared_mutex> put(put_mu_);
  std::lock_guard<std::mutex> lock(writer_mu_);
  if (pending_packs_.empty() && pending_blobs_.empty() && pending_touches_.empty()) {
    return Status::OK();
  }
  MP_RETURN_NOT_OK(CheckExpiredLeaseLocked());
  MP_RETURN_NOT_OK(SealOpenPackLocked());
  if (options_.sync_on_flush && layout_.tier(kTierHot).fs->is_local()) {
    for (const auto& path : pending_paths_) MP_RETURN_NOT_OK(SyncLocalFile(path));
  }
  const int64_t now = Now();
  Segment seg = PendingSegmentLocked();
  seg.created = now;
  for (auto& b : seg.blobs) b.ref_time = now;
  for (auto& t : seg.touches) t.ref_time = now;
  const std::string name = SegmentFileName(now, RandomU64());
  MP_RETURN_NOT_OK(
      layout_.fs()->WriteFileAtomic(layout_.index_dir() + "/" + name, EncodeSegment(seg)));
  {
    std::unique_lock<std::shared_mutex> ilock(index_mu_);
    loaded_segments_.insert(name);
    for (const auto& b : seg.blobs) {
      if (BlobRec* rec = index_.MutableBlob(b.id)) rec->ref_time = std::max(rec->ref_time, now);
    }
    for (const auto& t : seg.touches) {
      if (BlobRec* rec = index_.MutableBlob(t.id)) rec->ref_time = std::max(rec->ref_time, now);
    }
  }
  pending_packs_.clear();
  pending_paths_.clear();
  pending_chunks_.clear();
  pending_blobs_.clear();
  pending_touches_.clear();
  dedup_refs_.clear();
  // Everything this writer referenced is in the segment above: it holds nothing a GC could take,
  // so it gives up its lease (an idle writer never holds a sweep back). The next Put takes a new
  // one, then reloads the marks and the index (§7.3).
  lease_held_ = false;
  Status st = layout_.fs()->DeleteFile(LeasePath(layout_, writer_id_));
  if (!st.ok()) {
    MP_ASSIGN_OR_RAISE(bool exists, layout_.fs()->Exists(LeasePath(layout_, writer_id_)));
    if (exists) return st;
  }
  return Status::OK();
}

}  // namespace millpond::blob
