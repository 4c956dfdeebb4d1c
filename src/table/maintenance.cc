// Snapshot expiration and orphan-file removal.
#include "millpond/table/maintenance.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "millpond/table/file_store_commit.h"
#include "millpond/table/manifest_io.h"
#include "millpond/table/schema_manager.h"
#include "millpond/table/snapshot_manager.h"

namespace millpond::table {

Result<int64_t> ParseDurationMillis(const std::string& text) {
  std::string s;
  for (char c : text) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int64_t total = 0;
  size_t i = 0;
  bool any = false;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i == s.size()) break;
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (start == i || i - start > 15) return Status::Invalid("bad duration '", text, "'");
    int64_t n = std::stoll(s.substr(start, i - start));
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t ustart = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string unit = s.substr(ustart, i - ustart);
    int64_t mul;
    if (unit.empty() || unit == "ms" || unit == "milli" || unit == "millis") {
      mul = 1;
    } else if (unit == "s" || unit == "sec" || unit == "secs" || unit == "second" || unit == "seconds") {
      mul = 1000;
    } else if (unit == "m" || unit == "min" || unit == "mins" || unit == "minute" || unit == "minutes") {
      mul = 60 * 1000;
    } else if (unit == "h" || unit == "hour" || unit == "hours") {
      mul = 3600 * 1000;
    } else if (unit == "d" || unit == "day" || unit == "days") {
      mul = 86400 * 1000;
    } else {
      return Status::Invalid("bad duration unit '", unit, "' in '", text, "'");
    }
    total += n * mul;
    any = true;
  }
  if (!any) return Status::Invalid("bad duration '", text, "'");
  return total;
}

namespace {

// Every file one snapshot reaches: manifest lists, manifests, live data files (and extras).
Status CollectReachable(const fs::FileSystem& fs, const paimon::TableSchema& schema,
                        const std::string& table_path, const ManifestIO& io,
                        const paimon::Snapshot& s, std::set<std::string>* out) {
  for (const auto* name : {&s.base_manifest_list, &s.delta_manifest_list}) {
    out->insert(io.ManifestPath(*name));
  }
  if (s.changelog_manifest_list) out->insert(io.ManifestPath(*s.changelog_manifest_list));
  if (s.index_manifest) out->insert(io.ManifestPath(*s.index_manifest));
  ARROW_ASSIGN_OR_RAISE(auto metas, io.DataManifests(s));
  for (const auto& m : metas) out->insert(io.ManifestPath(m.file_name));
  if (s.changelog_manifest_list) {
    // The snapshot's changelog files live exactly as long as the snapshot (no decoupled
    // changelog lifecycle, changelog.num-retained.*).
    ARROW_ASSIGN_OR_RAISE(auto changelog, io.ReadManifestList(*s.changelog_manifest_list));
    for (const auto& m : changelog) {
      out->insert(io.ManifestPath(m.file_name));
      ARROW_ASSIGN_OR_RAISE(auto entries, io.ReadManifest(m.file_name));
      for (const auto& e : entries) {
        ARROW_ASSIGN_OR_RAISE(std::string path, DataFilePath(schema, table_path, e));
        out->insert(path);
      }
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto live, io.LiveEntries(s));
  for (const auto& e : live) {
    ARROW_ASSIGN_OR_RAISE(std::string path, DataFilePath(schema, table_path, e));
    out->insert(path);
    auto slash = path.rfind('/');
    for (const auto& extra : e.file.extra_files) out->insert(path.substr(0, slash + 1) + extra);
  }
  (void)fs;
  return Status::OK();
}

// The smallest snapshot a consumer still needs (consumer/consumer-ID holds {"nextSnapshot": N}).
Result<int64_t> ConsumerFloor(const fs::FileSystem& fs, const std::string& table_path) {
  int64_t floor = std::numeric_limits<int64_t>::max();
  ARROW_ASSIGN_OR_RAISE(auto infos, fs.List(fs::JoinPath(table_path, "consumer")));
  for (const auto& info : infos) {
    if (info.base_name().rfind("consumer-", 0) != 0) continue;
    auto text = fs.ReadFile(info.path());
    if (!text.ok()) continue;
    auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("nextSnapshot") && j["nextSnapshot"].is_number_integer()) {
      floor = std::min(floor, j["nextSnapshot"].get<int64_t>());
    }
  }
  return floor;
}

// Files reachable from the main branch's tags and from every snapshot and tag of other branches
// (branches share the table's data files and manifests).
Status CollectTagsReachable(const std::shared_ptr<fs::FileSystem>& fs,
                            const paimon::TableSchema& schema, const std::string& table_path,
                            const ManifestIO& io, std::set<std::string>* out) {
  SnapshotManager snaps(fs, table_path);
  ARROW_ASSIGN_OR_RAISE(auto tags, snaps.ListTags());
  for (const auto& t : tags) {
    ARROW_ASSIGN_OR_RAISE(auto s, snaps.ReadTag(t));
    ARROW_RETURN_NOT_OK(CollectReachable(*fs, schema, table_path, io, s, out));
  }
  ARROW_ASSIGN_OR_RAISE(auto branches, fs->List(fs::JoinPath(table_path, "branch")));
  for (const auto& b : branches) {
    if (b.type() != arrow::fs::FileType::Directory) continue;
    SnapshotManager bsnaps(fs, b.path());
    ARROW_ASSIGN_OR_RAISE(auto ids, bsnaps.ListSnapshotIds());
    for (int64_t id : ids) {
      ARROW_ASSIGN_OR_RAISE(auto s, bsnaps.ReadSnapshot(id));
      ARROW_RETURN_NOT_OK(CollectReachable(*fs, schema, table_path, io, s, out));
    }
    ARROW_ASSIGN_OR_RAISE(auto btags, bsnaps.ListTags());
    for (const auto& t : btags) {
      ARROW_ASSIGN_OR_RAISE(auto s, bsnaps.ReadTag(t));
      ARROW_RETURN_NOT_OK(CollectReachable(*fs, schema, table_path, io, s, out));
    }
  }
  return Status::OK();
}

paimon::AvroCodec Codec(const paimon::TableSchema& schema) {
  auto c = paimon::AvroCodecFromName(schema.Option("manifest.compression", "zstd"));
  return c.ok() ? *c : paimon::AvroCodec::kZstd;
}

}  // namespace

Result<ExpireResult> ExpireSnapshots(const std::shared_ptr<fs::FileSystem>& fs,
                                     const std::string& table_path, int64_t now_millis) {
  ExpireResult result;
  SnapshotManager snaps(fs, table_path);
  ARROW_ASSIGN_OR_RAISE(auto schema, SchemaManager(fs, table_path).Latest());
  int64_t min_retained, max_retained;
  try {
    min_retained = std::stoll(schema.Option("snapshot.num-retained.min", "10"));
    max_retained = std::stoll(schema.Option("snapshot.num-retained.max",
                                            std::to_string(std::numeric_limits<int32_t>::max())));
  } catch (...) {
    return Status::Invalid("bad snapshot.num-retained option");
  }
  if (min_retained < 1 || max_retained < min_retained) {
    return Status::Invalid("need 1 <= snapshot.num-retained.min <= snapshot.num-retained.max");
  }
  ARROW_ASSIGN_OR_RAISE(int64_t time_retained,
                        ParseDurationMillis(schema.Option("snapshot.time-retained", "1 h")));
  ARROW_ASSIGN_OR_RAISE(auto ids, snaps.ListSnapshotIds());
  const int64_t n = static_cast<int64_t>(ids.size());
  ARROW_ASSIGN_OR_RAISE(int64_t consumer_floor, ConsumerFloor(*fs, table_path));
  // Expire the oldest snapshots while more than min remain and they are older than the
  // retention time (or more than max remain), never one a consumer still needs.
  int64_t k = 0;
  while (k < n - min_retained) {
    if (ids[k] >= consumer_floor) break;
    if (n - k <= max_retained) {
      ARROW_ASSIGN_OR_RAISE(auto s, snaps.ReadSnapshot(ids[k]));
      if (s.time_millis >= now_millis - time_retained) break;
    }
    ++k;
  }
  if (k == 0) return result;

  ManifestIO io(fs, table_path, Codec(schema), PartitionTypes(schema));
  std::set<std::string> keep, candidates;
  for (int64_t i = k; i < n; ++i) {
    ARROW_ASSIGN_OR_RAISE(auto s, snaps.ReadSnapshot(ids[i]));
    ARROW_RETURN_NOT_OK(CollectReachable(*fs, schema, table_path, io, s, &keep));
  }
  ARROW_RETURN_NOT_OK(CollectTagsReachable(fs, schema, table_path, io, &keep));
  for (int64_t i = 0; i < k; ++i) {
    auto s = snaps.ReadSnapshot(ids[i]);
    if (!s.ok()) continue;  // unreadable old snapshot: its files are left for orphan cleaning
    auto st = CollectReachable(*fs, schema, table_path, io, *s, &candidates);
    if (!st.ok()) continue;
  }
  // Snapshot files go first, oldest first: a crash then leaves unreachable files (orphans), never
  // a retained snapshot pointing at deleted files.
  for (int64_t i = 0; i < k; ++i) {
    ARROW_RETURN_NOT_OK(fs->DeleteFile(snaps.SnapshotPath(ids[i])));
    ++result.snapshots_expired;
  }
  (void)fs->WriteFileAtomic(fs::JoinPath(snaps.SnapshotDir(), "EARLIEST"), std::to_string(ids[k]));
  const std::string manifest_dir = fs::JoinPath(table_path, "manifest") + "/";
  for (const auto& path : candidates) {
    if (keep.count(path)) continue;
    if (!fs->DeleteFile(path).ok()) continue;  // already gone
    if (path.rfind(manifest_dir, 0) == 0) {
      ++result.manifest_files_deleted;
    } else {
      ++result.data_files_deleted;
    }
  }
  return result;
}

Result<OrphanResult> RemoveOrphanFiles(const std::shared_ptr<fs::FileSystem>& fs,
                                       const std::string& table_path, int64_t older_than_millis) {
  OrphanResult result;
  SnapshotManager snaps(fs, table_path);
  ARROW_ASSIGN_OR_RAISE(auto schema, SchemaManager(fs, table_path).Latest());
  ManifestIO io(fs, table_path, Codec(schema), PartitionTypes(schema));
  std::set<std::string> keep;
  ARROW_ASSIGN_OR_RAISE(auto ids, snaps.ListSnapshotIds());
  for (int64_t id : ids) {
    ARROW_ASSIGN_OR_RAISE(auto s, snaps.ReadSnapshot(id));
    ARROW_RETURN_NOT_OK(CollectReachable(*fs, schema, table_path, io, s, &keep));
  }
  ARROW_RETURN_NOT_OK(CollectTagsReachable(fs, schema, table_path, io, &keep));
  arrow::fs::FileSelector sel;
  sel.base_dir = table_path;
  sel.recursive = true;
  ARROW_ASSIGN_OR_RAISE(auto infos, fs->arrow_fs()->GetFileInfo(sel));
  const std::string prefix = table_path + "/";
  for (const auto& info : infos) {
    if (info.type() != arrow::fs::FileType::File) continue;
    std::string rel = info.path().substr(prefix.size());
    std::string top = rel.substr(0, rel.find('/'));
    const std::string base = info.base_name();
    int64_t mtime_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           info.mtime().time_since_epoch())
                           .count();
    // Hidden temp files of atomic writes that were killed midway (any folder).
    if (base.size() > 1 && base[0] == '.' && base.ends_with(fs::kTempSuffix)) {
      if (mtime_ms < older_than_millis && fs->DeleteFile(info.path()).ok()) {
        ++result.files_deleted;
        result.bytes_deleted += info.size();
      }
      continue;
    }
    // Metadata folders are never orphan candidates; index files are owned by index manifests.
    if (top == "snapshot" || top == "schema" || top == "tag" || top == "consumer" ||
        top == "branch" || top == "index" || top == "statistics" || top == "changelog") {
      continue;
    }
    bool in_bucket = rel.find("bucket-") != std::string::npos;
    bool in_manifest = top == "manifest";
    if (!in_bucket && !in_manifest) continue;
    if (keep.count(info.path())) continue;
    int64_t mtime = std::chrono::duration_cast<std::chrono::milliseconds>(
                        info.mtime().time_since_epoch())
                        .count();
    if (mtime >= older_than_millis) continue;
    if (fs->DeleteFile(info.path()).ok()) {
      ++result.files_deleted;
      result.bytes_deleted += info.size();
    }
  }
  return result;
}

}  // namespace millpond::table
