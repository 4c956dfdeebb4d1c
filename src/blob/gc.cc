// CollectGarbage: mark, check leases, reload, sweep, rewrite, consolidate (blob-pack.md §7).
#include "millpond/blob/gc.h"

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "consolidate.h"
#include "gc_protocol.h"
#include "index.h"

namespace millpond::blob {
namespace {

using IdSet = std::unordered_set<BlobId, BlobIdHash>;

struct DeadSet {
  IdSet blobs;
  IdSet chunks;
};

// Dead blobs: not live, last referenced at or before `cutoff`. Dead chunks: listed by no other
// blob (including chunks no blob lists at all).
DeadSet FindDead(const Index& index, const IdSet& live, int64_t cutoff) {
  DeadSet d;
  std::vector<bool> used(index.chunks().size(), false);
  for (const auto& [id, rec] : index.blobs()) {
    if (!live.count(id) && rec.ref_time <= cutoff) {
      d.blobs.insert(id);
      continue;
    }
    for (uint32_t c : rec.chunks) used[c] = true;
  }
  for (uint32_t c = 0; c < used.size(); ++c) {
    if (!used[c]) d.chunks.insert(index.chunks()[c].id);
  }
  return d;
}

Status LoadAll(const StoreLayout& layout, LoadedIndex* li) {
  MP_RETURN_NOT_OK(LoadSegments(layout, {}, /*lenient=*/false, li));
  if (!li->consistent) {
    return Status::IOError("index segments of ", layout.root(),
                           " changed while loading; is another maintenance run active?");
  }
  return Status::OK();
}

}  // namespace

Result<GcReport> CollectGarbage(std::shared_ptr<fs::FileSystem> fs,
                                const std::string& warehouse_root, const LiveBlobs& live_fn,
                                const GcOptions& options, const BlobStoreOptions& so) {
  if (options.grace_millis < 0) return Status::Invalid("GC grace period must not be negative");
  MP_ASSIGN_OR_RAISE(auto layout, StoreLayout::Open(fs, warehouse_root, so.tier_locations));
  GcReport report;
  std::unique_ptr<MaintenanceLock> lock;
  if (!options.dry_run) {
    MP_ASSIGN_OR_RAISE(lock, MaintenanceLock::Acquire(layout, "gc"));
  }
  const int64_t now = NowMillis(so.clock);
  const int64_t cutoff = now - options.grace_millis;

  IdSet live;
  if (live_fn) MP_RETURN_NOT_OK(live_fn([&](const BlobId& id) { live.insert(id); }));

  // 1. What is dead now; condemn it in a mark before anything is deleted.
  LoadedIndex first;
  MP_RETURN_NOT_OK(LoadAll(layout, &first));
  report.blobs = static_cast<int64_t>(first.index.blobs().size());
  for (const auto& [id, rec] : first.index.blobs()) report.live_blobs += live.count(id);
  DeadSet dead0 = FindDead(first.index, live, cutoff);
  Mark mine;
  if (!options.dry_run && (!dead0.blobs.empty() || !dead0.chunks.empty())) {
    MP_ASSIGN_OR_RAISE(auto existing, ListMarks(layout));
    mine.created = std::max(now, existing.empty() ? now : existing.back().first + 1);
    mine.blobs.assign(dead0.blobs.begin(), dead0.blobs.end());
    mine.chunks.assign(dead0.chunks.begin(), dead0.chunks.end());
    std::sort(mine.blobs.begin(), mine.blobs.end());
    std::sort(mine.chunks.begin(), mine.chunks.end());
    MP_RETURN_NOT_OK(WriteMark(layout, &mine));
  }

  // 2. Leases second: only marks every live writer has seen may be acted on.
  int64_t min_seen = std::numeric_limits<int64_t>::max();
  int64_t newest_mark = -1;
  MP_ASSIGN_OR_RAISE(auto leases, ReadLeases(layout));
  for (const auto& l : leases) {
    if (now - l.refreshed > so.lease_expiry_millis) continue;  // a crashed writer
    min_seen = std::min(min_seen, l.seen_mark);
  }
  IdSet allowed_blobs, allowed_chunks;
  std::vector<std::string> allowed_marks;
  if (options.dry_run) {
    allowed_blobs = dead0.blobs;
    allowed_chunks = dead0.chunks;
  } else {
    MP_ASSIGN_OR_RAISE(auto marks, ListMarks(layout));
    for (const auto& [created, name] : marks) {
      newest_mark = std::max(newest_mark, created);
      if (created > min_seen) continue;
      MP_ASSIGN_OR_RAISE(auto m, ReadMark(layout, name));
      allowed_blobs.insert(m.blobs.begin(), m.blobs.end());
      allowed_chunks.insert(m.chunks.begin(), m.chunks.end());
      allowed_marks.push_back(name);
    }
  }

  // 3. Reload: writers may have flushed segments (re-puts, touches) since step 1, and committed
  //    rows that reference their blobs: the live set is taken again, after the leases, so a blob
  //    committed before this point is never swept whatever the grace period.
  if (live_fn) {
    live.clear();
    MP_RETURN_NOT_OK(live_fn([&](const BlobId& id) { live.insert(id); }));
  }
  LoadedIndex li;
  MP_RETURN_NOT_OK(LoadAll(layout, &li));
  const Index& index = li.index;
  DeadSet dead = FindDead(index, live, cutoff);
  report.dead_blobs = static_cast<int64_t>(dead.blobs.size());
  IdSet gone_blobs;
  for (const auto& b : dead.blobs) {
    if (allowed_blobs.count(b)) gone_blobs.insert(b);
  }
  report.blobs_deleted = static_cast<int64_t>(gone_blobs.size());
  report.blobs_deferred = report.dead_blobs - report.blobs_deleted;
  if (report.blobs_deferred > 0 || dead.chunks.size() > allowed_chunks.size()) {
    for (const auto& l : leases) {
      if (now - l.refreshed <= so.lease_expiry_millis && l.seen_mark < newest_mark) {
        report.deferred_by.push_back(LeasePath(layout, l.writer));
      }
    }
  }
  std::vector<bool> gone_chunk(index.chunks().size(), false);
  for (uint32_t c = 0; c < index.chunks().size(); ++c) {
    const BlobId& id = index.chunks()[c].id;
    gone_chunk[c] = dead.chunks.count(id) && allowed_chunks.count(id);
    report.chunks_deleted += gone_chunk[c];
  }

  // 4. Home location of each kept chunk: in the pack holding most kept bytes.
  std::vector<PackFile> duplicates;
  MP_ASSIGN_OR_RAISE(auto packs, ListPackFiles(layout, &duplicates));
  std::unordered_map<PackId, size_t, PackIdHash> pack_at;
  for (size_t i = 0; i < packs.size(); ++i) {
    pack_at[packs[i].id] = i;
    report.pack_bytes_before += packs[i].size;
  }
  std::vector<int64_t> potential(packs.size(), 0), live_bytes(packs.size(), 0);
  std::vector<int64_t> chunk_bytes(packs.size(), 0);  // every chunk the index places in the pack
  std::vector<bool> referenced(packs.size(), false);
  for (uint32_t c = 0; c < index.chunks().size(); ++c) {
    for (const auto& l : index.chunks()[c].locs) {
      auto it = pack_at.find(l.pack);
      if (it == pack_at.end()) continue;
      referenced[it->second] = true;
      chunk_bytes[it->second] += l.stored_len;
      if (!gone_chunk[c]) potential[it->second] += l.stored_len;
    }
  }
  std::vector<const Location*> home(index.chunks().size(), nullptr);
  for (uint32_t c = 0; c < index.chunks().size(); ++c) {
    if (gone_chunk[c]) continue;
    for (const auto& l : index.chunks()[c].locs) {
      auto it = pack_at.find(l.pack);
      if (it == pack_at.end()) continue;
      if (!home[c] || potential[it->second] > potential[pack_at[home[c]->pack]]) home[c] = &l;
    }
    if (home[c]) live_bytes[pack_at[home[c]->pack]] += home[c]->stored_len;
  }

  // 5. Which packs go, which are rewritten.
  std::vector<size_t> drop, rewrite;
  for (size_t i = 0; i < packs.size(); ++i) {
    if (!referenced[i]) continue;
    if (live_bytes[i] == 0) {
      drop.push_back(i);
    } else if (static_cast<double>(live_bytes[i]) <
               options.rewrite_threshold * static_cast<double>(chunk_bytes[i])) {
      // Against the chunk bytes, not the file size: a small pack's header and footer are not
      // garbage, and measuring them as such rewrote fully live small packs on every run.
      rewrite.push_back(i);
    }
  }
  // Orphans: packs no segment names, old enough, whose writer holds no live lease.
  std::unordered_set<uint64_t> live_writers;
  for (const auto& l : leases) {
    if (now - l.refreshed <= so.lease_expiry_millis) live_writers.insert(l.writer);
  }
  std::vector<size_t> orphans;
  const int64_t wall = WallMillis();
  for (size_t i = 0; i < packs.size(); ++i) {
    if (referenced[i] || live_writers.count(packs[i].id.writer())) continue;
    if (wall - packs[i].mtime > options.grace_millis) orphans.push_back(i);
  }
  report.packs_deleted = static_cast<int64_t>(drop.size());
  report.packs_rewritten = static_cast<int64_t>(rewrite.size());
  const bool changes = report.blobs_deleted > 0 || report.chunks_deleted > 0 || !drop.empty() ||
                       !rewrite.empty();
  if (options.dry_run) {
    report.orphan_packs_deleted = static_cast<int64_t>(orphans.size());
    return report;
  }

  // 6. Copy the live payloads of rewritten packs, grouped by tier and cold flag.
  std::unordered_map<PackId, std::vector<uint32_t>, PackIdHash> homed;
  for (uint32_t c = 0; c < home.size(); ++c) {
    if (home[c]) homed[home[c]->pack].push_back(c);
  }
  std::unordered_map<uint32_t, Location> moved;  // chunk -> new home
  const uint64_t session = RandomU64() | 1;
  std::map<std::pair<int, uint32_t>, std::unique_ptr<PackRewriter>> writers;
  for (size_t i : rewrite) {
    const PackFile& p = packs[i];
    MP_ASSIGN_OR_RAISE(auto contents, ReadPackIndex(*layout.tier(p.tier).fs, p.path));
    MP_ASSIGN_OR_RAISE(std::string bytes, layout.tier(p.tier).fs->ReadFile(p.path));
    auto& w = writers[{p.tier, contents.header.flags}];
    if (!w) {
      w = std::make_unique<PackRewriter>(layout, p.tier, contents.header.flags,
                                         contents.header.created, so.target_pack_size, session);
    }
    auto& list = homed[p.id];
    std::sort(list.begin(), list.end(),
              [&](uint32_t a, uint32_t b) { return home[a]->offset < home[b]->offset; });
    for (uint32_t c : list) {
      const Location& l = *home[c];
      const ChunkRec& rec = index.chunks()[c];
      if (l.offset + l.stored_len > bytes.size()) {
        return Status::IOError("pack ", p.path, " is truncated: chunk ", rec.id.Hex(),
                               " is past its end");
      }
      Location nl;
      MP_RETURN_NOT_OK(w->Add(rec.id, rec.raw_len, rec.cls, l.codec, l.crc,
                              std::string_view(bytes).substr(l.offset, l.stored_len), &nl));
      moved[c] = nl;
    }
  }
  for (auto& [key, w] : writers) {
    MP_RETURN_NOT_OK(w->Finish(/*sync=*/true));
    report.packs_written += static_cast<int64_t>(w->written().size());
  }

  // 7. One segment replaces every segment loaded, then the dropped packs and used marks go.
  std::unordered_set<PackId, PackIdHash> leaving;
  for (size_t i : drop) leaving.insert(packs[i].id);
  for (size_t i : rewrite) leaving.insert(packs[i].id);
  if (changes || li.segments.size() > 1) {
    auto where = [&](uint32_t c) -> std::vector<Location> {
      if (gone_chunk[c]) return {};
      auto m = moved.find(c);
      if (m != moved.end()) return {m->second};
      if (home[c]) return {*home[c]};
      return index.chunks()[c].locs;  // its pack is missing: keep what the index said
    };
    auto keep = [&](const BlobId& id) { return !gone_blobs.count(id); };
    std::string name;
    MP_RETURN_NOT_OK(ReplaceSegments(layout, BuildSegment(index, where, keep, now),
                                     li.segments, &name));
    report.segments_replaced = static_cast<int64_t>(li.segments.size());
  }
  for (size_t i : drop) MP_RETURN_NOT_OK(DeletePackFile(layout, packs[i]));
  for (size_t i : rewrite) MP_RETURN_NOT_OK(DeletePackFile(layout, packs[i]));
  // Orphans: check again that no segment written meanwhile names them.
  if (!orphans.empty()) {
    LoadedIndex after;
    MP_RETURN_NOT_OK(LoadSegments(layout, {}, /*lenient=*/false, &after));
    std::unordered_set<PackId, PackIdHash> named;
    for (const auto& rec : after.index.chunks()) {
      for (const auto& l : rec.locs) named.insert(l.pack);
    }
    for (size_t i : orphans) {
      if (named.count(packs[i].id)) continue;
      MP_RETURN_NOT_OK(DeletePackFile(layout, packs[i]));
      ++report.orphan_packs_deleted;
    }
  }
  // Duplicates left by an interrupted tier copy: the hotter copy is complete (it was written
  // atomically before the source would have been deleted).
  for (const auto& d : duplicates) {
    MP_RETURN_NOT_OK(DeletePackFile(layout, d, /*drop_access=*/false));
  }
  for (const auto& m : allowed_marks) {
    MP_RETURN_NOT_OK(layout.fs()->DeleteFile(layout.gc_dir() + "/" + m));
  }
  MP_ASSIGN_OR_RAISE(auto remaining, ListPackFiles(layout));
  for (const auto& p : remaining) report.pack_bytes_after += p.size;
  return report;
}

}  // namespace millpond::blob
