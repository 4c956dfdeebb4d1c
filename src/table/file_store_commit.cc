// FileStoreCommit: snapshot commits with retry on conflict.
#include "millpond/table/file_store_commit.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

namespace millpond::table {

std::vector<paimon::DataTypePtr> PartitionTypes(const paimon::TableSchema& schema) {
  std::vector<paimon::DataTypePtr> types;
  for (const auto& k : schema.partition_keys) {
    int i = schema.FieldIndex(k);
    if (i >= 0) types.push_back(schema.fields[i].type);
  }
  return types;
}

namespace {

paimon::AvroCodec CodecOf(const paimon::TableSchema& schema) {
  auto codec = paimon::AvroCodecFromName(schema.Option("manifest.compression", "zstd"));
  return codec.ok() ? *codec : paimon::AvroCodec::kZstd;
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Row tracking (RowTrackingCommitUtils.assignRowTracking): new APPEND files without a first row
// id get one, numbered from `*next_row_id`; a `.blob` file takes the rows of the data file before
// it (per BLOB column, continuing where that column's previous blob file ended); a file whose
// min sequence number is 0 gets the snapshot id as its sequence numbers.
Result<std::vector<paimon::ManifestEntry>> AssignRowTracking(
    const std::vector<paimon::ManifestEntry>& entries, int64_t snapshot_id, int64_t* next_row_id) {
  std::vector<paimon::ManifestEntry> out = entries;
  int64_t start = *next_row_id;
  int64_t blob_start_default = start;
  std::map<std::string, int64_t> blob_starts;
  for (auto& e : out) {
    auto& f = e.file;
    if (e.kind != paimon::FileKind::kAdd) continue;
    if (f.min_sequence_number == 0) {
      f.min_sequence_number = snapshot_id;
      f.max_sequence_number = snapshot_id;
    }
    const bool append =
        f.file_source.value_or(0) == static_cast<int32_t>(paimon::FileSource::kAppend);
    const bool has_row_id = f.write_cols && std::find(f.write_cols->begin(), f.write_cols->end(),
                                                      "_ROW_ID") != f.write_cols->end();
    if (!append || f.first_row_id || has_row_id) continue;
    const std::string& n = f.file_name;
    if (n.size() > 5 && n.compare(n.size() - 5, 5, ".blob") == 0) {
      if (!f.write_cols || f.write_cols->size() != 1) {
        return Status::Invalid("blob file ", n, " must name exactly one column in _WRITE_COLS");
      }
      auto it = blob_starts.find(f.write_cols->front());
      int64_t blob_start = it == blob_starts.end() ? blob_start_default : it->second;
      if (blob_start >= start) {
        return Status::Invalid("blob file ", n, " has no data file before it to take rows from");
      }
      f.first_row_id = blob_start;
      blob_starts[f.write_cols->front()] = blob_start + f.row_count;
    } else {
      f.first_row_id = start;
      blob_start_default = start;
      blob_starts.clear();
      start += f.row_count;
    }
  }
  *next_row_id = start;
  return out;
}

// Manifests are merged into one once a snapshot's list grows past this many files
// (Paimon's manifest.merge-min-count).
constexpr size_t kMergeMinCount = 30;

}  // namespace

FileStoreCommit::FileStoreCommit(std::shared_ptr<fs::FileSystem> fs, std::string table_path,
                                 paimon::TableSchema schema, std::string commit_user,
                                 std::string metadata_path)
    : fs_(fs),
      table_path_(table_path),
      schema_(std::move(schema)),
      commit_user_(std::move(commit_user)),
      snapshots_(fs, metadata_path.empty() ? table_path : metadata_path),
      manifests_(fs, table_path, CodecOf(schema_), PartitionTypes(schema_)) {}

Result<int64_t> FileStoreCommit::Commit(const std::vector<paimon::ManifestEntry>& entries,
                                        const CommitOptions& options) {
  std::string manifest_format = schema_.Option("manifest.format", "avro");
  if (manifest_format != "avro") {
    return Status::NotImplemented("table ", table_path_, " uses manifest.format=", manifest_format,
                                  "; millpond writes Avro manifests only");
  }
  if (entries.empty() && options.changelog.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto latest, snapshots_.LatestSnapshotId());
    return latest.value_or(0);
  }
  // Row-tracking tables number new files' rows from the snapshot the commit lands on, so their
  // delta manifest is written per attempt.
  const bool row_tracking = schema_.Option("row-tracking.enabled", "false") == "true";
  std::vector<paimon::ManifestFileMeta> delta_metas;
  if (!entries.empty() && !row_tracking) {
    ARROW_ASSIGN_OR_RAISE(auto delta_meta, manifests_.WriteManifest(entries, schema_.id));
    delta_metas.push_back(std::move(delta_meta));
  }
  // The changelog manifest is written once; its list on each attempt (as the delta's).
  std::optional<paimon::ManifestFileMeta> changelog_meta;
  int64_t changelog_rows = 0;
  if (!options.changelog.empty()) {
    ARROW_ASSIGN_OR_RAISE(changelog_meta, manifests_.WriteManifest(options.changelog, schema_.id));
    for (const auto& e : options.changelog) changelog_rows += e.file.row_count;
  }
  int64_t delta_rows = 0;
  std::set<std::string> deleted;
  for (const auto& e : entries) {
    if (e.kind == paimon::FileKind::kAdd) {
      delta_rows += e.file.row_count;
    } else {
      delta_rows -= e.file.row_count;
      deleted.insert(e.partition + '\x01' + std::to_string(e.bucket) + '\x01' + e.file.file_name);
    }
  }

  for (int attempt = 0; attempt < options.max_retries; ++attempt) {
    ARROW_ASSIGN_OR_RAISE(auto latest_id, snapshots_.LatestSnapshotId());
    std::vector<paimon::ManifestFileMeta> base;
    int64_t total_rows = 0;
    int64_t next_id = 1;
    std::vector<std::string> written;  // files to remove if this attempt loses
    std::optional<paimon::Snapshot> latest_snapshot;
    if (latest_id) {
      ARROW_ASSIGN_OR_RAISE(auto latest, snapshots_.ReadSnapshot(*latest_id));
      latest_snapshot = latest;
    }
    if (options.precondition) {
      ARROW_RETURN_NOT_OK(options.precondition(latest_snapshot ? &*latest_snapshot : nullptr));
    }
    if (latest_snapshot) {
      const paimon::Snapshot& latest = *latest_snapshot;
      next_id = latest.id + 1;
      total_rows = latest.total_record_count.value_or(0);
      ARROW_ASSIGN_OR_RAISE(base, manifests_.DataManifests(latest));
      const bool check_sequences = !schema_.primary_keys.empty() && options.commit_kind == "APPEND";
      if (!deleted.empty() || check_sequences) {
        ARROW_ASSIGN_OR_RAISE(auto live, manifests_.LiveEntries(latest));
        if (check_sequences) {
          // Two writers of one primary-key bucket both number their rows from the bucket's last
          // sequence number; the later commit would make the merge order ambiguous. Paimon needs
          // a single writer per bucket, so the second commit is refused (nothing is lost: the
          // first commit stands and the caller can retry the write).
          std::map<std::string, int64_t> max_live;
          for (const auto& e : live) {
            auto key = e.partition + '\x01' + std::to_string(e.bucket);
            auto it = max_live.find(key);
            if (it == max_live.end() || it->second < e.file.max_sequence_number) {
              max_live[key] = e.file.max_sequence_number;
            }
          }
          for (const auto& e : entries) {
            if (e.kind != paimon::FileKind::kAdd) continue;
            auto it = max_live.find(e.partition + '\x01' + std::to_string(e.bucket));
            if (it != max_live.end() && e.file.min_sequence_number <= it->second) {
              return Status::Cancelled("commit conflict on ", table_path_, ": bucket ", e.bucket,
                                       " was written concurrently (snapshot ", latest.id,
                                       "); nothing was committed, retry the write");
            }
          }
        }
        // Conflict check: every file this commit deletes must still be live.
        size_t found = 0;
        for (const auto& e : live) {
          found += deleted.count(e.partition + '\x01' + std::to_string(e.bucket) + '\x01' +
                                 e.file.file_name);
        }
        if (found != deleted.size()) {
          return Status::Cancelled("commit conflict on ", table_path_,
                                   ": files this commit replaces were changed by snapshot ",
                                   latest.id);
        }
      }
      if (base.size() >= kMergeMinCount) {
        ARROW_ASSIGN_OR_RAISE(auto live, manifests_.LiveEntries(latest));
        base.clear();
        if (!live.empty()) {
          ARROW_ASSIGN_OR_RAISE(auto merged, manifests_.WriteManifest(live, schema_.id));
          written.push_back(manifests_.ManifestPath(merged.file_name));
          base.push_back(std::move(merged));
        }
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto base_list, manifests_.WriteManifestList(base));
    std::optional<int64_t> next_row_id =
        latest_snapshot ? latest_snapshot->next_row_id : std::optional<int64_t>();
    if (row_tracking && !entries.empty()) {
      int64_t start = next_row_id.value_or(0);
      ARROW_ASSIGN_OR_RAISE(auto assigned, AssignRowTracking(entries, next_id, &start));
      ARROW_ASSIGN_OR_RAISE(auto meta, manifests_.WriteManifest(assigned, schema_.id));
      written.push_back(manifests_.ManifestPath(meta.file_name));
      delta_metas = {std::move(meta)};
      next_row_id = start;
    }
    ARROW_ASSIGN_OR_RAISE(auto delta_list, manifests_.WriteManifestList(delta_metas));
    written.push_back(manifests_.ManifestPath(base_list.first));
    written.push_back(manifests_.ManifestPath(delta_list.first));
    std::optional<std::pair<std::string, int64_t>> changelog_list;
    if (changelog_meta) {
      ARROW_ASSIGN_OR_RAISE(changelog_list, manifests_.WriteManifestList({*changelog_meta}));
      written.push_back(manifests_.ManifestPath(changelog_list->first));
    }

    paimon::Snapshot s;
    s.id = next_id;
    s.schema_id = schema_.id;
    s.base_manifest_list = base_list.first;
    s.base_manifest_list_size = base_list.second;
    s.delta_manifest_list = delta_list.first;
    s.delta_manifest_list_size = delta_list.second;
    s.commit_user = commit_user_;
    s.commit_identifier = options.commit_identifier;
    s.commit_kind = options.commit_kind;
    s.time_millis = NowMillis();
    s.total_record_count = total_rows + delta_rows;
    s.delta_record_count = delta_rows;
    s.next_row_id = next_row_id;
    if (changelog_list) {
      // FileStoreCommitImpl: changelogManifestList and changelogRecordCount only with changelog.
      s.changelog_manifest_list = changelog_list->first;
      s.changelog_manifest_list_size = changelog_list->second;
      s.changelog_record_count = changelog_rows;
    }
    if (!options.properties.empty()) s.properties = options.properties;
    if (options.index_manifest) {
      auto index = options.index_manifest(latest_snapshot ? &*latest_snapshot : nullptr);
      if (!index.ok()) {
        for (const auto& p : written) (void)fs_->DeleteFile(p);
        return index.status();
      }
      s.index_manifest = *index;
      if (s.index_manifest) written.push_back(manifests_.ManifestPath(*s.index_manifest));
    } else if (latest_snapshot) {
      // Deletion vectors and other indexes stay valid until a commit replaces them.
      s.index_manifest = latest_snapshot->index_manifest;
    }
    ARROW_ASSIGN_OR_RAISE(bool ok, snapshots_.TryCommit(s));
    if (ok) return s.id;
    for (const auto& p : written) (void)fs_->DeleteFile(p);
  }
  return Status::IOError("commit to ", table_path_, " lost ", options.max_retries,
                         " races in a row; giving up (nothing was committed)");
}

}  // namespace millpond::table
