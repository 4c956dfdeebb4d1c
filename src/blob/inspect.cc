// VerifyStore and ComputeStats.
#include "millpond/blob/inspect.h"

#include <algorithm>
#include <map>
#include <unordered_set>

#include "consolidate.h"
#include "content.h"
#include "crc32c.h"
#include "sha256.h"

namespace millpond::blob {
namespace {

std::string Short(const BlobId& id) { return id.Hex().substr(0, 16) + "…"; }

}  // namespace

Result<VerifyReport> VerifyStore(std::shared_ptr<fs::FileSystem> fs,
                                 const std::string& warehouse_root, const VerifyOptions& options,
                                 const BlobStoreOptions& so) {
  MP_ASSIGN_OR_RAISE(auto layout, StoreLayout::Open(fs, warehouse_root, so.tier_locations));
  VerifyReport report;
  LoadedIndex li;
  MP_RETURN_NOT_OK(LoadSegments(layout, {}, /*lenient=*/true, &li));
  report.segments = static_cast<int64_t>(li.segments.size());
  for (auto& p : li.problems) report.problems.push_back(p);
  const Index& index = li.index;

  // Index locations by pack: (offset -> chunk) to compare with each footer.
  std::unordered_map<PackId, std::map<uint64_t, std::pair<uint32_t, const Location*>>, PackIdHash>
      by_pack;
  for (uint32_t c = 0; c < index.chunks().size(); ++c) {
    for (const auto& l : index.chunks()[c].locs) by_pack[l.pack][l.offset] = {c, &l};
  }
  std::vector<PackFile> duplicates;
  MP_ASSIGN_OR_RAISE(auto packs, ListPackFiles(layout, &duplicates));
  for (const auto& d : duplicates) {
    report.notes.push_back("pack " + PackFileName(d.id) + " is in two tiers (an interrupted " +
                           "move); the GC removes the copy at " + d.path);
  }
  std::unordered_set<PackId, PackIdHash> present;
  std::string raw;
  for (const auto& p : packs) {
    present.insert(p.id);
    auto refs = by_pack.find(p.id);
    const auto& tfs = layout.tier(p.tier).fs;
    auto contents = ReadPackIndex(*tfs, p.path);
    if (!contents.ok()) {
      if (refs == by_pack.end()) {
        report.notes.push_back("unreferenced pack " + p.path + " (a writer's unfinished pack or " +
                               "an orphan): " + contents.status().message());
      } else {
        report.problems.push_back(contents.status().message());
      }
      continue;
    }
    ++report.packs;
    report.bytes += contents->size;
    if (refs == by_pack.end()) {
      report.notes.push_back("unreferenced pack " + p.path + " (an orphan; the GC removes it)");
    }
    auto bytes = tfs->ReadFile(p.path);
    if (!bytes.ok()) {
      report.problems.push_back(bytes.status().message());
      continue;
    }
    std::map<uint64_t, const ChunkEntry*> footer;
    for (const auto& e : contents->entries) {
      footer[e.offset] = &e;
      ++report.chunks;
      std::string_view payload = std::string_view(*bytes).substr(e.offset, e.stored_len);
      if (Crc32c(payload) != e.crc) {
        report.problems.push_back("pack " + p.path + " is corrupt: checksum mismatch in chunk " +
                                  Short(e.id) + " at offset " + std::to_string(e.offset));
        continue;
      }
      if (options.checksums_only) continue;
      raw.resize(e.raw_len);
      Status st = DecodeChunk(e.codec, payload, reinterpret_cast<uint8_t*>(raw.data()), e.raw_len);
      if (!st.ok()) {
        report.problems.push_back("pack " + p.path + " is corrupt: chunk " + Short(e.id) +
                                  " does not decode: " + st.message());
      } else if (Sha256Of(raw.data(), raw.size()) != e.id.digest) {
        report.problems.push_back("pack " + p.path + " is corrupt: chunk " + Short(e.id) +
                                  " does not match its SHA-256");
      }
    }
    if (refs == by_pack.end()) continue;
    for (const auto& [offset, ref] : refs->second) {
      const ChunkRec& rec = index.chunks()[ref.first];
      auto f = footer.find(offset);
      if (f == footer.end() || f->second->id != rec.id ||
          f->second->stored_len != ref.second->stored_len || f->second->crc != ref.second->crc ||
          f->second->codec != ref.second->codec || f->second->raw_len != rec.raw_len) {
        report.problems.push_back("pack " + p.path + " does not hold chunk " + Short(rec.id) +
                                  " at offset " + std::to_string(offset) +
                                  " as the index says");
      }
    }
  }
  for (const auto& [pack, refs] : by_pack) {
    if (!present.count(pack)) {
      report.problems.push_back("pack " + PackFileName(pack) + " (" +
                                std::to_string(refs.size()) +
                                " chunks in the index) is missing from every tier");
    }
  }
  for (const auto& [id, rec] : index.blobs()) {
    ++report.blobs;
    uint64_t total = 0;
    bool missing = false;
    for (uint32_t c : rec.chunks) {
      total += index.chunks()[c].raw_len;
      missing |= index.chunks()[c].locs.empty();
    }
    if (missing) {
      report.problems.push_back("blob " + id.ToString() + " has chunks the index does not locate");
    } else if (total != rec.size) {
      report.problems.push_back("blob " + id.ToString() + " has chunks adding up to " +
                                std::to_string(total) + " bytes, not " + std::to_string(rec.size));
    }
  }
  std::sort(report.problems.begin(), report.problems.end());
  return report;
}

Result<StoreStats> ComputeStats(std::shared_ptr<fs::FileSystem> fs,
                                const std::string& warehouse_root, const BlobStoreOptions& so) {
  MP_ASSIGN_OR_RAISE(auto layout, StoreLayout::Open(fs, warehouse_root, so.tier_locations));
  LoadedIndex li;
  MP_RETURN_NOT_OK(LoadSegments(layout, {}, /*lenient=*/false, &li));
  const Index& index = li.index;
  StoreStats s;
  for (int c = 0; c < kContentClassCount; ++c) {
    s.classes[ContentClassName(static_cast<ContentClass>(c))];
  }
  for (const auto& [id, rec] : index.blobs()) {
    ++s.blobs;
    s.puts += static_cast<int64_t>(rec.puts);
    s.blob_bytes += static_cast<int64_t>(rec.size);
    s.logical_bytes += static_cast<int64_t>(rec.size * rec.puts);
  }
  for (const auto& rec : index.chunks()) {
    if (rec.locs.empty()) continue;
    ++s.chunks;
    s.chunk_bytes += rec.raw_len;
    s.stored_bytes += rec.locs.front().stored_len;
    auto& cs = s.classes[ContentClassName(static_cast<ContentClass>(rec.cls))];
    ++cs.chunks;
    cs.raw_bytes += rec.raw_len;
    cs.stored_bytes += rec.locs.front().stored_len;
  }
  for (auto it = s.classes.begin(); it != s.classes.end();) {
    it = it->second.chunks == 0 ? s.classes.erase(it) : std::next(it);
  }
  for (int t = 0; t < kTierCount; ++t) s.tiers[TierName(t)] = {0, 0};
  MP_ASSIGN_OR_RAISE(auto packs, ListPackFiles(layout));
  for (const auto& p : packs) {
    ++s.packs;
    s.pack_bytes += p.size;
    auto& t = s.tiers[TierName(p.tier)];
    ++t.first;
    t.second += p.size;
  }
  return s;
}

}  // namespace millpond::blob
