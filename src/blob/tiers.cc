// ApplyTierPolicy: copy or rename packs between tiers; rewrite into cold with stronger zstd.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "consolidate.h"
#include "content.h"
#include "crc32c.h"
#include "millpond/blob/tiers.h"

namespace millpond::blob {
namespace {

// Moves one pack file to another tier so that some tier always holds a complete copy.
Status MovePack(const StoreLayout& layout, const PackFile& p, int target) {
  const auto& src = layout.tier(p.tier).fs;
  const auto& dst = layout.tier(target).fs;
  const std::string to = layout.pack_path(target, p.id);
  MP_RETURN_NOT_OK(dst->MakeDirs(layout.packs_dir(target)));
  if (src == dst && src->is_local()) {
    if (src->arrow_fs()->Move(p.path, to).ok()) return Status::OK();  // atomic rename
  }
  // Check the source's trailer first, then stream it across (never the whole pack in memory).
  MP_ASSIGN_OR_RAISE(auto in, src->OpenInput(p.path));
  MP_ASSIGN_OR_RAISE(int64_t src_size, in->GetSize());
  if (src_size < static_cast<int64_t>(kPackTrailerSize)) {
    return Status::IOError("pack ", p.path, " is truncated: ", src_size, " bytes");
  }
  MP_ASSIGN_OR_RAISE(auto trailer, in->ReadAt(src_size - kPackTrailerSize, kPackTrailerSize));
  MP_RETURN_NOT_OK(DecodePackTrailer(std::string_view(*trailer), src_size, p.path).status());
  MP_ASSIGN_OR_RAISE(int64_t copied, src->CopyFileAtomic(p.path, *dst, to));
  MP_ASSIGN_OR_RAISE(auto out, dst->OpenInput(to));
  MP_ASSIGN_OR_RAISE(int64_t size, out->GetSize());
  if (size != src_size || copied != src_size) {
    return Status::IOError("copy of pack ", p.path, " to ", to, " has ", size, " bytes, expected ",
                           src_size);
  }
  return src->DeleteFile(p.path);
}

Result<PackHeader> ReadHeader(const StoreLayout& layout, const PackFile& p) {
  MP_ASSIGN_OR_RAISE(auto in, layout.tier(p.tier).fs->OpenInput(p.path));
  MP_ASSIGN_OR_RAISE(auto head, in->ReadAt(0, kPackHeaderSize));
  return DecodePackHeader(std::string_view(*head), p.path);
}

}  // namespace

Result<TierReport> ApplyTierPolicy(std::shared_ptr<fs::FileSystem> fs,
                                   const std::string& warehouse_root, const TierPolicy& policy,
                                   const TierOptions& options, const BlobStoreOptions& so) {
  MP_ASSIGN_OR_RAISE(auto layout, StoreLayout::Open(fs, warehouse_root, so.tier_locations));
  if (!policy.locations.empty()) {
    auto specs = layout.tier_specs();
    bool changed = false;
    for (const auto& [name, spec] : policy.locations) {
      if (specs[name] == spec) continue;
      const int t = TierFromName(name);
      MP_ASSIGN_OR_RAISE(auto infos, ListDir(*layout.tier(t).fs, layout.packs_dir(t)));
      if (!infos.empty()) {
        return Status::Invalid("tier ", name, " at '", specs[name], "' holds ", infos.size(),
                               " packs; move them to another tier before relocating it");
      }
      MP_RETURN_NOT_OK(ResolveTier(fs, layout.root(), spec).status());
      specs[name] = spec;
      changed = true;
    }
    if (changed && !options.dry_run) {
      nlohmann::json j(specs);
      MP_RETURN_NOT_OK(fs->WriteFileAtomic(layout.tiers_config_path(), j.dump(2) + "\n"));
    }
    MP_ASSIGN_OR_RAISE(layout, StoreLayout::Open(fs, warehouse_root, specs));
  }
  std::unique_ptr<MaintenanceLock> lock;
  if (!options.dry_run) {
    MP_ASSIGN_OR_RAISE(lock, MaintenanceLock::Acquire(layout, "tier apply"));
  }
  const int64_t now = NowMillis(so.clock);
  const int cold_level = policy.zstd_level_cold > 0 ? policy.zstd_level_cold : so.zstd_level_cold;

  LoadedIndex li;
  MP_RETURN_NOT_OK(LoadSegments(layout, {}, /*lenient=*/false, &li));
  const Index& index = li.index;
  std::unordered_map<PackId, bool, PackIdHash> has_zstd;  // referenced packs
  for (const auto& rec : index.chunks()) {
    for (const auto& l : rec.locs) has_zstd[l.pack] = has_zstd[l.pack] || l.codec == kCodecZstd;
  }
  MP_ASSIGN_OR_RAISE(auto packs, ListPackFiles(layout));
  MP_ASSIGN_OR_RAISE(auto access, ReadAccessRecords(layout));

  TierReport report;
  struct Rewrite {
    PackFile pack;
    PackHeader header;
  };
  std::vector<Rewrite> rewrites;
  for (const auto& p : packs) {
    if (!has_zstd.count(p.id)) continue;  // unreferenced: a writer's or an orphan
    ++report.packs;
    MP_ASSIGN_OR_RAISE(auto header, ReadHeader(layout, p));
    int64_t last = header.created;
    auto a = access.find(p.id);
    if (a != access.end()) last = std::max(last, a->second);
    const std::string target_name = policy.TierFor(now - header.created, now - last);
    const int target = TierFromName(target_name);
    if (target < 0 || target == p.tier) continue;
    const bool rewrite = target == kTierCold && !(header.flags & kPackFlagCold) && has_zstd[p.id];
    report.moves.push_back(PackFileName(p.id) + ": " + TierName(p.tier) + " -> " + target_name +
                           (rewrite ? " (recompressed)" : ""));
    report.bytes_moved += p.size;
    if (rewrite) {
      rewrites.push_back({p, header});
      continue;
    }
    ++report.moved;
    if (!options.dry_run) MP_RETURN_NOT_OK(MovePack(layout, p, target));
  }
  report.rewritten = static_cast<int64_t>(rewrites.size());

  if (!rewrites.empty() && !options.dry_run) {
    // Recompress each pack into a new cold pack that keeps its created time and last access.
    std::unordered_map<PackId, std::unordered_map<uint64_t, Location>, PackIdHash> relocated;
    const uint64_t session = RandomU64() | 1;
    std::string scratch, raw;
    for (const auto& r : rewrites) {
      MP_ASSIGN_OR_RAISE(auto contents, ReadPackIndex(*layout.tier(r.pack.tier).fs, r.pack.path));
      MP_ASSIGN_OR_RAISE(std::string bytes, layout.tier(r.pack.tier).fs->ReadFile(r.pack.path));
      PackRewriter w(layout, kTierCold, r.header.flags | kPackFlagCold, r.header.created,
                     so.target_pack_size, session);
      auto& moved = relocated[r.pack.id];
      for (const auto& e : contents.entries) {
        const ChunkRec* rec = index.FindChunk(e.id);
        bool used = false;
        if (rec) {
          for (const auto& l : rec->locs) used |= l.pack == r.pack.id && l.offset == e.offset;
        }
        if (!used) continue;  // dead space: not carried over
        std::string_view payload = std::string_view(bytes).substr(e.offset, e.stored_len);
        if (Crc32c(payload) != e.crc) {
          return Status::IOError("pack ", r.pack.path, " is corrupt: checksum mismatch in chunk ",
                                 e.id.Hex(), " at offset ", e.offset);
        }
        uint8_t codec = e.codec;
        uint32_t crc = e.crc;
        if (e.codec == kCodecZstd) {
          raw.resize(e.raw_len);
          MP_RETURN_NOT_OK(DecodeChunk(e.codec, payload, reinterpret_cast<uint8_t*>(raw.data()),
                                       e.raw_len));
          MP_ASSIGN_OR_RAISE(auto enc, CompressChunk(raw, cold_level, &scratch));
          payload = enc.payload;
          codec = enc.codec;
          crc = Crc32c(payload);
        }
        Location nl;
        MP_RETURN_NOT_OK(w.Add(e.id, e.raw_len, e.cls, codec, crc, payload, &nl));
        moved[e.offset] = nl;
      }
      MP_RETURN_NOT_OK(w.Finish(/*sync=*/true));
      auto a = access.find(r.pack.id);
      if (a != access.end()) {
        for (const auto& id : w.written()) {
          (void)fs->WriteFile(layout.access_dir() + "/pack-" + id.Hex(), std::to_string(a->second));
        }
      }
    }
    auto where = [&](uint32_t c) {
      std::vector<Location> out;
      for (const auto& l : index.chunks()[c].locs) {
        auto pit = relocated.find(l.pack);
        if (pit == relocated.end()) {
          out.push_back(l);
          continue;
        }
        auto oit = pit->second.find(l.offset);
        if (oit != pit->second.end()) out.push_back(oit->second);
      }
      return out;
    };
    std::string name;
    MP_RETURN_NOT_OK(ReplaceSegments(layout, BuildSegment(index, where, [](const BlobId&) {
                                       return true;
                                     }, now),
                                     li.segments, &name));
    for (const auto& r : rewrites) MP_RETURN_NOT_OK(DeletePackFile(layout, r.pack));
  }
  MP_ASSIGN_OR_RAISE(auto after, ListPackFiles(layout));
  for (int t = 0; t < kTierCount; ++t) {
    report.packs_per_tier[TierName(t)] = 0;
    report.bytes_per_tier[TierName(t)] = 0;
  }
  for (const auto& p : after) {
    ++report.packs_per_tier[TierName(p.tier)];
    report.bytes_per_tier[TierName(p.tier)] += p.size;
  }
  return report;
}

}  // namespace millpond::blob
