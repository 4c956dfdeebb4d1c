// BlobStoreImpl, reading side: planning a byte range over chunks, positioned reads of just those
// payloads (adjacent ones in one read, straight into the result when stored as is), checksums,
// and finding packs across tiers again when a move or GC took them away (§6).
#include <algorithm>
#include <atomic>
#include <cstring>

#include <arrow/buffer.h>
#include <arrow/util/future.h>
#include <arrow/util/thread_pool.h>

#include "crc32c.h"
#include "store_impl.h"

namespace millpond::blob {
namespace {

constexpr int kAttempts = 6;
constexpr int64_t kAccessInterval = 3600 * 1000;
constexpr uint64_t kMaxStagedSpan = 16u << 20;  // staged (non-direct) reads go in pieces of this
constexpr uint64_t kVerifyStride = 256u << 10;  // direct reads: checksum while in cache

// Decoded bytes of compressed chunks per part when a group's decoding is split over the CPU
// pool (zstd decodes ~1.5 GB/s per core: a part is ~0.2 ms of work, handing it over ~10 µs).
constexpr uint64_t kParallelDecodeBytes = 256u << 10;

// Runs decode(from, to) over [0, raw.size()): in this thread alone for small or uncompressed
// reads, else in up to one part per pool thread plus this one, split by decoded bytes.
// raw[k]: the decoded size of piece k when compressed, 0 when stored as is.
std::atomic<int64_t> parallel_decodes{0};

template <typename Decode>
Status DecodeInParallel(const std::vector<uint64_t>& raw, Decode&& decode) {
  const size_t n = raw.size();
  uint64_t compressed = 0;
  for (uint64_t r : raw) compressed += r;
  arrow::internal::ThreadPool* pool = arrow::internal::GetCpuThreadPool();
  // A pool thread waiting on its own pool could starve it: decode inline there.
  if (compressed < 2 * kParallelDecodeBytes || pool->OwnsThisThread()) return decode(0, n);
  // Callers decoding at the same time share the cores: each splits into its share of them
  // (readers on every core already: no split, no hand-over cost).
  static std::atomic<int> in_flight{0};
  struct Count {
    Count() { n = in_flight.fetch_add(1) + 1; }
    ~Count() { in_flight.fetch_sub(1); }
    int n;
  } count;
  const size_t cores = static_cast<size_t>(pool->GetCapacity()) + 1;
  const size_t parts = std::min<size_t>(
      {n, cores / static_cast<size_t>(count.n), compressed / kParallelDecodeBytes});
  if (parts < 2) return decode(0, n);
  parallel_decodes.fetch_add(1, std::memory_order_relaxed);
  std::vector<size_t> bounds = {0};
  uint64_t acc = 0;
  for (size_t k = 0; k < n && bounds.size() < parts; ++k) {
    acc += raw[k];
    if (acc * parts >= compressed * bounds.size()) bounds.push_back(k + 1);
  }
  bounds.push_back(n);
  // Every task started here is waited for before returning: they use this frame's data.
  std::vector<arrow::Future<>> futures;
  Status first_error;
  for (size_t b = 1; b + 1 < bounds.size(); ++b) {
    auto f = pool->Submit([&decode, from = bounds[b], to = bounds[b + 1]]() -> Status {
      return decode(from, to);
    });
    if (f.ok()) {
      futures.push_back(std::move(*f));
    } else if (Status st = decode(bounds[b], bounds[b + 1]); !st.ok() && first_error.ok()) {
      first_error = st;  // the pool refused the part: done here instead
    }
  }
  if (Status st = decode(bounds[0], bounds[1]); !st.ok() && first_error.ok()) first_error = st;
  for (auto& f : futures) {
    if (Status st = f.status(); !st.ok() && first_error.ok()) first_error = st;
  }
  return first_error;
}

}  // namespace

int64_t ParallelDecodeCount() { return parallel_decodes.load(std::memory_order_relaxed); }

namespace {

Status NotFound(const BlobId& id, const std::string& root) {
  return Status::IOError("blob ", id.ToString(), " not found in ", root);
}

Status Corrupt(const std::string& path, const BlobId& chunk, uint64_t offset,
               const std::string& why) {
  return Status::IOError("pack ", path, " is corrupt: ", why, " in chunk ",
                         chunk.Hex().substr(0, 16), "… at offset ", offset);
}

}  // namespace

Status BlobStoreImpl::PackMissing(const PackId& pack) const {
  return Status::KeyError("pack ", PackFileName(pack), " is in no tier (hot ",
                          layout_.packs_dir(kTierHot), ", warm, cold)");
}

Result<std::vector<BlobStoreImpl::Piece>> BlobStoreImpl::Plan(const BlobId& id, int64_t offset,
                                                              int64_t length, uint64_t* size) {
  std::shared_lock<std::shared_mutex> lock(index_mu_);
  const BlobRec* rec = index_.FindBlob(id);
  if (!rec) return Status::KeyError("blob not indexed");
  *size = rec->size;
  if (offset < 0 || static_cast<uint64_t>(offset) > rec->size) {
    return Status::Invalid("offset ", offset, " is outside blob ", id.ToString(), " of ",
                           rec->size, " bytes");
  }
  const uint64_t begin = static_cast<uint64_t>(offset);
  const uint64_t end =
      length < 0 ? rec->size : std::min<uint64_t>(rec->size, begin + static_cast<uint64_t>(length));
  std::vector<Piece> pieces;
  if (begin >= end) return pieces;
  size_t i = static_cast<size_t>(std::upper_bound(rec->ends.begin(), rec->ends.end(), begin) -
                                 rec->ends.begin());
  uint64_t out_pos = 0;
  for (; i < rec->chunks.size(); ++i) {
    const uint64_t cstart = i == 0 ? 0 : rec->ends[i - 1];
    if (cstart >= end) break;
    const ChunkRec& c = index_.chunks()[rec->chunks[i]];
    if (c.locs.empty()) return Status::KeyError("chunk not indexed");
    Piece p;
    p.chunk = c.id;
    p.raw_len = c.raw_len;
    p.locs = c.locs;
    p.skip = std::max(begin, cstart) - cstart;
    p.take = std::min(end, rec->ends[i]) - (cstart + p.skip);
    p.out_pos = out_pos;
    out_pos += p.take;
    pieces.push_back(std::move(p));
  }
  return pieces;
}

Result<BlobStoreImpl::OpenPack> BlobStoreImpl::OpenPackFile(const PackId& pack, bool refresh) {
  {
    std::lock_guard<std::mutex> lock(files_mu_);
    auto it = files_.find(pack);
    if (it != files_.end()) {
      if (!refresh) return it->second;
      files_.erase(it);
    }
  }
  for (int t = 0; t < kTierCount; ++t) {
    const std::string path = layout_.pack_path(t, pack);
    const auto& tfs = layout_.tier(t).fs;
    // A pack may arrive in or leave this tier while we look: retry once when a failed open is
    // followed by the file being there.
    for (int attempt = 0; attempt < 2; ++attempt) {
      OpenPack op;
      op.tier = t;
      op.path = path;
      if (options_.mmap_reads && tfs->is_local()) {
        auto map = arrow::io::MemoryMappedFile::Open(path, arrow::io::FileMode::READ);
        if (map.ok()) {
          op.map = *map;
          op.file = *map;
        }
      }
      Status failed;
      if (!op.file) {
        auto in = tfs->OpenInput(path);
        if (in.ok()) {
          op.file = std::move(*in);
        } else {
          failed = in.status();
        }
      }
      if (op.file) {
        std::lock_guard<std::mutex> lock(files_mu_);
        if (files_.size() >= 512) files_.clear();  // bound open files and mappings
        files_[pack] = op;
        return op;
      }
      MP_ASSIGN_OR_RAISE(bool exists, tfs->Exists(path));
      if (!exists) break;  // not in this tier
      if (attempt == 1) return failed;
    }
  }
  return OpenPack{};
}

void BlobStoreImpl::RecordAccess(const PackId& pack) {
  if (!options_.record_access) return;
  const int64_t now = Now();
  {
    std::lock_guard<std::mutex> lock(files_mu_);
    auto& last = access_recorded_[pack];
    if (last != 0 && now - last < kAccessInterval) return;
    last = now;
  }
  // Best effort: a lost access record only makes a pack look idle sooner.
  (void)layout_.fs()->WriteFile(layout_.access_dir() + "/pack-" + pack.Hex(),
                                std::to_string(now));
}

Status BlobStoreImpl::ReadPieces(const std::vector<Piece>& pieces, uint8_t* out,
                                 std::set<PackId>* missing) {
  auto choose = [&](const Piece& p, const PackId* prefer) -> const Location* {
    const Location* best = nullptr;
    for (const auto& l : p.locs) {
      if (missing->count(l.pack)) continue;
      if (prefer && l.pack == *prefer) return &l;
      if (!best) best = &l;
    }
    return best;
  };
  // Pieces read into staging buffers are verified and decoded after every group is read, all
  // together: large compressed reads are decoded by the CPU pool as well as this thread (chunks
  // are independent zstd frames), whether they sit next to each other in one pack or not.
  struct Job {
    size_t k;
    const Location* loc;
    const uint8_t* payload;
    const std::string* path;
  };
  std::vector<Job> jobs;
  std::vector<std::shared_ptr<arrow::Buffer>> stagings;
  std::vector<std::unique_ptr<std::string>> job_paths;
  int reopened = 0;
  size_t i = 0;
  while (i < pieces.size()) {
    const Location* first = choose(pieces[i], nullptr);
    if (!first) return PackMissing(pieces[i].locs.front().pack);
    if (decoded_cache_ && first->codec != kCodecNone) {
      if (auto hit = decoded_cache_->Lookup(pieces[i].chunk)) {
        if (hit->size() != pieces[i].raw_len) {
          return Status::IOError("decoded cache: chunk ", pieces[i].chunk.Hex(), " has ",
                                 hit->size(), " bytes, the index says ", pieces[i].raw_len);
        }
        std::memcpy(out + pieces[i].out_pos, hit->data() + pieces[i].skip, pieces[i].take);
        ++i;
        continue;
      }
    }
    const PackId pack = first->pack;
    // Extend over the following pieces stored right after this one in the same pack.
    std::vector<const Location*> locs = {first};
    size_t j = i + 1;
    uint64_t span_end = first->offset + first->stored_len;
    bool direct = first->codec == kCodecNone && pieces[i].skip == 0 &&
                  pieces[i].take == pieces[i].raw_len;
    while (j < pieces.size()) {
      const Location* l = choose(pieces[j], &pack);
      if (!l || l->pack != pack || l->offset != span_end) break;
      const bool whole = l->codec == kCodecNone && pieces[j].skip == 0 &&
                         pieces[j].take == pieces[j].raw_len;
      if (!direct && span_end - first->offset + l->stored_len > kMaxStagedSpan) break;
      if (direct && !whole) break;  // keep direct groups direct
      locs.push_back(l);
      span_end += l->stored_len;
      ++j;
    }
    const uint64_t span_off = first->offset;
    const uint64_t span_len = span_end - span_off;

    // This writer's own unflushed pack is read through its writer.
    std::string path;
    std::shared_ptr<arrow::io::RandomAccessFile> file;
    std::shared_ptr<arrow::Buffer> staged;  // a slice of the mapping for mapped packs
    bool from_writer = false;
    if (has_open_pack_.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lock(writer_mu_);
      if (open_pack_ && open_pack_->id() == pack) {
        from_writer = true;
        path = open_pack_->path();
        MP_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buf,
                           arrow::AllocateBuffer(static_cast<int64_t>(span_len)));
        MP_RETURN_NOT_OK(open_pack_->ReadAt(span_off, span_len, buf->mutable_data()));
        staged = std::move(buf);
      }
    }
    if (!from_writer) {
      MP_ASSIGN_OR_RAISE(auto op, OpenPackFile(pack, /*refresh=*/false));
      if (!op.file) {
        missing->insert(pack);
        continue;  // try another location, or report the pack missing
      }
      path = op.path;
      auto* file = op.file.get();
      Status st;
      if (direct) {
        // Straight into the result, in pieces of about kVerifyStride so that each piece's
        // checksum is computed while it is still in cache.
        size_t k = i;
        while (k < j && st.ok()) {
          const uint64_t from = locs[k - i]->offset;
          size_t e = k;
          uint64_t to = from;
          while (e < j && (e == k || to - from + locs[e - i]->stored_len <= kVerifyStride)) {
            to += locs[e - i]->stored_len;
            ++e;
          }
          st = ReadExactly(file, path, from, to - from, out + pieces[k].out_pos, pieces[k].chunk);
          for (size_t v = k; st.ok() && v < e; ++v) {
            const Location& l = *locs[v - i];
            if (options_.verify_reads && Crc32c(out + pieces[v].out_pos, l.stored_len) != l.crc) {
              return Corrupt(path, pieces[v].chunk, l.offset, "checksum mismatch");
            }
          }
          k = e;
        }
      } else {
        auto got = ReadSpan(file, path, span_off, span_len, pieces[i].chunk);
        if (got.ok()) {
          staged = std::move(*got);
        } else {
          st = got.status();
        }
      }
      if (!st.ok()) {
        if (st.message().find("truncated") != std::string::npos) return st;
        // The file may have been moved away under us (object stores): look again once.
        MP_ASSIGN_OR_RAISE(auto again, OpenPackFile(pack, /*refresh=*/true));
        if (!again.file) {
          missing->insert(pack);
          continue;
        }
        if (++reopened > 2) return st;
        continue;  // read this group again from the file found now
      }
      RecordAccess(pack);
      if (direct) {
        i = j;
        continue;  // verified above
      }
    } else {
      direct = false;
    }
    job_paths.push_back(std::make_unique<std::string>(std::move(path)));
    const uint8_t* base = staged->data();
    for (size_t k = i; k < j; ++k) {
      jobs.push_back(Job{k, locs[k - i], base + (locs[k - i]->offset - span_off),
                         job_paths.back().get()});
    }
    stagings.push_back(std::move(staged));
    i = j;
  }
  auto decode = [&](size_t from, size_t to) -> Status {
    for (size_t x = from; x < to; ++x) {
      const Job& job = jobs[x];
      const Piece& p = pieces[job.k];
      const Location& l = *job.loc;
      if (options_.verify_reads && Crc32c(job.payload, l.stored_len) != l.crc) {
        return Corrupt(*job.path, p.chunk, l.offset, "checksum mismatch");
      }
      std::string_view stored(reinterpret_cast<const char*>(job.payload), l.stored_len);
      if (l.codec == kCodecNone) {
        if (l.stored_len != p.raw_len) {
          return Corrupt(*job.path, p.chunk, l.offset, "length mismatch");
        }
        std::memcpy(out + p.out_pos, job.payload + p.skip, p.take);
        continue;
      }
      Status st;
      if (p.skip == 0 && p.take == p.raw_len) {
        st = DecodeChunk(l.codec, stored, out + p.out_pos, p.raw_len);
        if (st.ok() && decoded_cache_) decoded_cache_->Insert(p.chunk, out + p.out_pos, p.raw_len);
      } else {
        thread_local std::string decoded;
        decoded.resize(p.raw_len);
        auto* d = reinterpret_cast<uint8_t*>(decoded.data());
        st = DecodeChunk(l.codec, stored, d, p.raw_len);
        if (st.ok()) {
          std::memcpy(out + p.out_pos, d + p.skip, p.take);
          if (decoded_cache_) decoded_cache_->Insert(p.chunk, d, p.raw_len);
        }
      }
      if (!st.ok()) return Corrupt(*job.path, p.chunk, l.offset, st.message());
    }
    return Status::OK();
  };
  std::vector<uint64_t> raw(jobs.size(), 0);
  for (size_t x = 0; x < jobs.size(); ++x) {
    if (jobs[x].loc->codec != kCodecNone) raw[x] = pieces[jobs[x].k].raw_len;
  }
  return DecodeInParallel(raw, decode);
}

Result<std::shared_ptr<arrow::Buffer>> BlobStoreImpl::ZeroCopy(const std::vector<Piece>& pieces) {
  if (pieces.empty() || !options_.mmap_reads) return nullptr;
  const Location* first = nullptr;
  for (const auto& l : pieces[0].locs) {
    if (l.codec == kCodecNone) first = &l;
  }
  if (!first) return nullptr;
  const PackId pack = first->pack;
  std::vector<const Location*> locs;
  uint64_t end = first->offset;
  for (const auto& p : pieces) {
    if (p.skip != 0 || p.take != p.raw_len) return nullptr;
    const Location* hit = nullptr;
    for (const auto& l : p.locs) {
      if (l.pack == pack && l.offset == end && l.codec == kCodecNone) hit = &l;
    }
    if (!hit) return nullptr;
    locs.push_back(hit);
    end += hit->stored_len;
  }
  if (has_open_pack_.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(writer_mu_);
    if (open_pack_ && open_pack_->id() == pack) return nullptr;
  }
  MP_ASSIGN_OR_RAISE(auto op, OpenPackFile(pack, /*refresh=*/false));
  if (!op.map) return nullptr;
  auto slice = op.map->ReadAt(static_cast<int64_t>(first->offset),
                              static_cast<int64_t>(end - first->offset));
  if (!slice.ok() || static_cast<uint64_t>((*slice)->size()) != end - first->offset) {
    return nullptr;  // the copying path reports it
  }
  const uint8_t* base = (*slice)->data();
  for (size_t k = 0; k < pieces.size(); ++k) {
    const Location& l = *locs[k];
    if (options_.verify_reads &&
        Crc32c(base + (l.offset - first->offset), l.stored_len) != l.crc) {
      return Corrupt(op.path, pieces[k].chunk, l.offset, "checksum mismatch");
    }
  }
  RecordAccess(pack);
  return *slice;
}

Result<std::shared_ptr<arrow::Buffer>> BlobStoreImpl::Get(const BlobId& id, int64_t offset,
                                                          int64_t length) {
  Status last;
  bool complete_view = false;  // the last reload saw every segment
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    uint64_t size = 0;
    auto plan = Plan(id, offset, length, &size);
    if (!plan.ok()) {
      if (!plan.status().IsKeyError()) return plan.status();
      if (attempt > 0 && complete_view) return NotFound(id, layout_.root());
      MP_ASSIGN_OR_RAISE(complete_view, ReloadIndex());
      last = NotFound(id, layout_.root());
      continue;
    }
    MP_ASSIGN_OR_RAISE(auto zero_copy, ZeroCopy(*plan));
    if (zero_copy) return zero_copy;
    uint64_t total = 0;
    for (const auto& p : *plan) total += p.take;
    MP_ASSIGN_OR_RAISE(std::unique_ptr<arrow::Buffer> buf,
                       arrow::AllocateBuffer(static_cast<int64_t>(total)));
    std::set<PackId> missing;
    Status st = ReadPieces(*plan, buf->mutable_data(), &missing);
    if (st.ok()) return std::shared_ptr<arrow::Buffer>(std::move(buf));
    if (!st.IsKeyError()) return st;
    last = Status::IOError("blob ", id.ToString(), ": ", st.message());
    // A move or GC replaced the pack: look at the index again.
    MP_ASSIGN_OR_RAISE(complete_view, ReloadIndex());
  }
  return last;
}

Result<int64_t> BlobStoreImpl::Size(const BlobId& id) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    {
      std::shared_lock<std::shared_mutex> lock(index_mu_);
      if (const BlobRec* rec = index_.FindBlob(id)) return static_cast<int64_t>(rec->size);
    }
    MP_ASSIGN_OR_RAISE(bool complete, ReloadIndex());
    if (complete) {
      std::shared_lock<std::shared_mutex> lock(index_mu_);
      if (const BlobRec* rec = index_.FindBlob(id)) return static_cast<int64_t>(rec->size);
      break;
    }
  }
  return NotFound(id, layout_.root());
}

Result<bool> BlobStoreImpl::Contains(const BlobId& id) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    {
      std::shared_lock<std::shared_mutex> lock(index_mu_);
      if (index_.FindBlob(id)) return true;
    }
    MP_ASSIGN_OR_RAISE(bool complete, ReloadIndex());
    if (complete) {
      std::shared_lock<std::shared_mutex> lock(index_mu_);
      return index_.FindBlob(id) != nullptr;
    }
  }
  return false;
}

Result<BlobStat> BlobStoreImpl::Stat(const BlobId& id) {
  MP_ASSIGN_OR_RAISE(int64_t size, Size(id));
  BlobStat st;
  st.id = id;
  st.size = size;
  std::vector<PackId> packs;
  {
    std::shared_lock<std::shared_mutex> lock(index_mu_);
    const BlobRec* rec = index_.FindBlob(id);
    if (!rec) return NotFound(id, layout_.root());
    st.chunks = static_cast<int64_t>(rec->chunks.size());
    st.ref_time = rec->ref_time;
    for (size_t i = 0; i < rec->chunks.size(); ++i) {
      const ChunkRec& c = index_.chunks()[rec->chunks[i]];
      if (i == 0) st.content_class = ContentClassName(static_cast<ContentClass>(c.cls));
      if (c.locs.empty()) continue;
      st.stored_bytes += c.locs.front().stored_len;
      if (std::find(packs.begin(), packs.end(), c.locs.front().pack) == packs.end()) {
        packs.push_back(c.locs.front().pack);
      }
    }
  }
  for (const auto& p : packs) {
    MP_ASSIGN_OR_RAISE(auto op, OpenPackFile(p, /*refresh=*/false));
    if (op.file) {
      st.packs.push_back(StoreLayout::PackLabel(op.tier, p));
    } else {
      st.packs.push_back(std::string("unflushed/") + PackFileName(p));
    }
  }
  return st;
}

}  // namespace millpond::blob
