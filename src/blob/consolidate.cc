// Pack listing, pack rewriting and segment consolidation.
#include "consolidate.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace millpond::blob {

Result<std::vector<PackFile>> ListPackFiles(const StoreLayout& layout,
                                            std::vector<PackFile>* duplicates) {
  std::vector<PackFile> out;
  std::unordered_map<PackId, size_t, PackIdHash> seen;
  for (int t = 0; t < kTierCount; ++t) {
    MP_ASSIGN_OR_RAISE(auto infos, ListDir(*layout.tier(t).fs, layout.packs_dir(t)));
    std::sort(infos.begin(), infos.end(),
              [](const auto& a, const auto& b) { return a.path() < b.path(); });
    for (const auto& info : infos) {
      PackFile p;
      if (!ParsePackFileName(info.base_name(), &p.id)) continue;
      p.tier = t;
      p.path = info.path();
      p.size = info.size();
      p.mtime = std::chrono::duration_cast<std::chrono::milliseconds>(
                    info.mtime().time_since_epoch())
                    .count();
      if (seen.count(p.id)) {
        if (duplicates) duplicates->push_back(p);
        continue;
      }
      seen[p.id] = out.size();
      out.push_back(std::move(p));
    }
  }
  return out;
}

Result<std::unordered_map<PackId, int64_t, PackIdHash>> ReadAccessRecords(
    const StoreLayout& layout) {
  std::unordered_map<PackId, int64_t, PackIdHash> out;
  MP_ASSIGN_OR_RAISE(auto infos, ListDir(*layout.fs(), layout.access_dir()));
  for (const auto& info : infos) {
    std::string name = info.base_name();
    if (name.rfind("pack-", 0) != 0) continue;
    auto id = PackId::FromHex(name.substr(5));
    if (!id.ok()) continue;
    auto text = layout.fs()->ReadFile(info.path());
    if (!text.ok()) continue;  // deleted with its pack meanwhile
    int64_t t = std::strtoll(text->c_str(), nullptr, 10);
    if (t > 0) out[*id] = t;
  }
  return out;
}

Status PackRewriter::Add(const BlobId& chunk, uint32_t raw_len, uint8_t cls, uint8_t codec,
                         uint32_t crc, std::string_view payload, Location* out) {
  if (open_ && !open_->entries().empty() &&
      open_->size() + payload.size() + kPackTrailerSize > static_cast<uint64_t>(target_)) {
    MP_RETURN_NOT_OK(open_->Seal());
    open_.reset();
  }
  if (!open_) {
    PackHeader h;
    h.id = PackId::Random(session_);
    h.created = created_;
    h.flags = flags_;
    MP_ASSIGN_OR_RAISE(open_, PackWriter::Create(layout_.tier(tier_).fs,
                                                 layout_.pack_path(tier_, h.id), h));
    written_.push_back(h.id);
    paths_.push_back(open_->path());
  }
  ChunkEntry e;
  e.id = chunk;
  e.raw_len = raw_len;
  e.crc = crc;
  e.codec = codec;
  e.cls = cls;
  MP_RETURN_NOT_OK(open_->Append(payload, &e));
  bytes_ += static_cast<int64_t>(payload.size());
  *out = Location{open_->id(), e.offset, e.stored_len, crc, codec};
  return Status::OK();
}

Status PackRewriter::Finish(bool sync) {
  if (open_) {
    MP_RETURN_NOT_OK(open_->Seal());
    open_.reset();
  }
  if (sync && layout_.tier(tier_).fs->is_local()) {
    for (const auto& p : paths_) MP_RETURN_NOT_OK(SyncLocalFile(p));
  }
  return Status::OK();
}

Segment BuildSegment(const Index& index,
                     const std::function<std::vector<Location>(uint32_t chunk)>& where,
                     const std::function<bool(const BlobId&)>& keep, int64_t created) {
  Segment s;
  s.created = created;
  std::unordered_map<PackId, uint32_t, PackIdHash> ordinal;
  const auto& chunks = index.chunks();
  for (uint32_t c = 0; c < chunks.size(); ++c) {
    for (const auto& loc : where(c)) {
      auto [it, added] = ordinal.emplace(loc.pack, static_cast<uint32_t>(s.packs.size()));
      if (added) s.packs.push_back(loc.pack);
      SegChunk sc;
      sc.pack = it->second;
      sc.entry.id = chunks[c].id;
      sc.entry.offset = loc.offset;
      sc.entry.stored_len = loc.stored_len;
      sc.entry.raw_len = chunks[c].raw_len;
      sc.entry.crc = loc.crc;
      sc.entry.codec = loc.codec;
      sc.entry.cls = chunks[c].cls;
      s.chunks.push_back(sc);
    }
  }
  for (const auto& [id, rec] : index.blobs()) {
    if (!keep(id)) continue;
    SegBlob b;
    b.id = id;
    b.size = rec.size;
    b.ref_time = rec.ref_time;
    b.puts = static_cast<uint32_t>(std::min<uint64_t>(rec.puts, UINT32_MAX));
    if (!(rec.chunks.size() == 1 && chunks[rec.chunks[0]].id == id)) {
      for (uint32_t c : rec.chunks) b.chunks.emplace_back(chunks[c].id, chunks[c].raw_len);
    }
    s.blobs.push_back(std::move(b));
  }
  // Deterministic order: blobs by id.
  std::sort(s.blobs.begin(), s.blobs.end(),
            [](const SegBlob& a, const SegBlob& b) { return a.id < b.id; });
  return s;
}

Status ReplaceSegments(const StoreLayout& layout, const Segment& seg,
                       const std::set<std::string>& replaced, std::string* name) {
  *name = SegmentFileName(seg.created, RandomU64());
  MP_RETURN_NOT_OK(
      layout.fs()->WriteFileAtomic(layout.index_dir() + "/" + *name, EncodeSegment(seg)));
  for (const auto& old : replaced) {
    if (old == *name) continue;
    Status st = layout.fs()->DeleteFile(layout.index_dir() + "/" + old);
    if (!st.ok()) {
      MP_ASSIGN_OR_RAISE(bool exists, layout.fs()->Exists(layout.index_dir() + "/" + old));
      if (exists) return st;
    }
  }
  return Status::OK();
}

Status DeletePackFile(const StoreLayout& layout, const PackFile& pack, bool drop_access) {
  Status st = layout.tier(pack.tier).fs->DeleteFile(pack.path);
  if (!st.ok()) {
    MP_ASSIGN_OR_RAISE(bool exists, layout.tier(pack.tier).fs->Exists(pack.path));
    if (exists) return st;
  }
  if (drop_access) (void)layout.fs()->DeleteFile(layout.access_dir() + "/pack-" + pack.id.Hex());
  return Status::OK();
}

}  // namespace millpond::blob
