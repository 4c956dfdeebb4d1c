// Index: merging segments, loading them from _blobs/index.
#include "index.h"

#include <algorithm>

namespace millpond::blob {

uint32_t Index::ChunkIndex(const BlobId& id, uint32_t raw_len) {
  auto [it, inserted] = chunk_by_id_.emplace(id, static_cast<uint32_t>(chunks_.size()));
  if (inserted) {
    ChunkRec rec;
    rec.id = id;
    rec.raw_len = raw_len;
    chunks_.push_back(std::move(rec));
  }
  return it->second;
}

void Index::AddLocation(uint32_t chunk, const Location& loc, uint8_t cls) {
  ChunkRec& rec = chunks_[chunk];
  for (const auto& l : rec.locs) {
    if (l.pack == loc.pack && l.offset == loc.offset) return;
  }
  if (rec.locs.empty()) rec.cls = cls;
  rec.locs.push_back(loc);
}

void Index::AddBlob(const SegBlob& b) {
  auto it = blobs_.find(b.id);
  if (it != blobs_.end()) {
    it->second.ref_time = std::max(it->second.ref_time, b.ref_time);
    it->second.puts += b.puts;
    return;
  }
  BlobRec rec;
  rec.size = b.size;
  rec.ref_time = b.ref_time;
  rec.puts = b.puts;
  if (b.chunks.empty()) {
    rec.chunks.push_back(ChunkIndex(b.id, static_cast<uint32_t>(b.size)));
    rec.ends.push_back(b.size);
  } else {
    uint64_t end = 0;
    rec.chunks.reserve(b.chunks.size());
    rec.ends.reserve(b.chunks.size());
    for (const auto& [cid, len] : b.chunks) {
      rec.chunks.push_back(ChunkIndex(cid, len));
      end += len;
      rec.ends.push_back(end);
    }
  }
  auto early = early_touches_.find(b.id);
  if (early != early_touches_.end()) {
    rec.ref_time = std::max(rec.ref_time, early->second.ref_time);
    rec.puts += 1;
    early_touches_.erase(early);
  }
  blobs_.emplace(b.id, std::move(rec));
}

void Index::AddTouch(const SegTouch& t) {
  auto it = blobs_.find(t.id);
  if (it != blobs_.end()) {
    it->second.ref_time = std::max(it->second.ref_time, t.ref_time);
    it->second.puts += 1;
    return;
  }
  auto& e = early_touches_[t.id];
  e.id = t.id;
  e.ref_time = std::max(e.ref_time, t.ref_time);
}

void Index::AddSegment(const Segment& s) {
  for (const auto& c : s.chunks) {
    uint32_t idx = ChunkIndex(c.entry.id, c.entry.raw_len);
    Location loc;
    loc.pack = s.packs[c.pack];
    loc.offset = c.entry.offset;
    loc.stored_len = c.entry.stored_len;
    loc.crc = c.entry.crc;
    loc.codec = c.entry.codec;
    AddLocation(idx, loc, c.entry.cls);
  }
  for (const auto& b : s.blobs) AddBlob(b);
  for (const auto& t : s.touches) AddTouch(t);
}

const ChunkRec* Index::FindChunk(const BlobId& id) const {
  auto it = chunk_by_id_.find(id);
  return it == chunk_by_id_.end() ? nullptr : &chunks_[it->second];
}

const BlobRec* Index::FindBlob(const BlobId& id) const {
  auto it = blobs_.find(id);
  return it == blobs_.end() ? nullptr : &it->second;
}

BlobRec* Index::MutableBlob(const BlobId& id) {
  auto it = blobs_.find(id);
  return it == blobs_.end() ? nullptr : &it->second;
}

Result<std::set<std::string>> ListSegments(const StoreLayout& layout) {
  MP_ASSIGN_OR_RAISE(auto infos, ListDir(*layout.fs(), layout.index_dir()));
  std::set<std::string> out;
  for (const auto& info : infos) {
    std::string name = info.base_name();
    if (IsSegmentFileName(name)) out.insert(name);
  }
  return out;
}

Status ReadSegments(const StoreLayout& layout, const std::set<std::string>& names, bool lenient,
                    ReadSegmentsResult* out) {
  for (const auto& name : names) {
    const std::string path = layout.index_dir() + "/" + name;
    auto text = layout.fs()->ReadFile(path);
    if (!text.ok()) {
      MP_ASSIGN_OR_RAISE(bool exists, layout.fs()->Exists(path));
      if (!exists) {
        out->consistent = false;  // replaced by a consolidated segment meanwhile
        continue;
      }
      return text.status();
    }
    auto seg = DecodeSegment(*text, path);
    if (!seg.ok()) {
      if (!lenient) return seg.status();
      out->problems.push_back(seg.status().message());
      continue;
    }
    out->segments.emplace_back(name, std::move(*seg));
  }
  return Status::OK();
}

Status LoadSegments(const StoreLayout& layout, const std::set<std::string>& skip, bool lenient,
                    LoadedIndex* into) {
  MP_ASSIGN_OR_RAISE(auto listed, ListSegments(layout));
  std::set<std::string> names;
  for (const auto& n : listed) {
    if (!skip.count(n) && !into->segments.count(n)) names.insert(n);
  }
  ReadSegmentsResult r;
  MP_RETURN_NOT_OK(ReadSegments(layout, names, lenient, &r));
  for (auto& [name, seg] : r.segments) {
    into->index.AddSegment(seg);
    into->segments.insert(name);
  }
  if (!r.consistent) into->consistent = false;
  for (auto& p : r.problems) into->problems.push_back(std::move(p));
  return Status::OK();
}

}  // namespace millpond::blob
