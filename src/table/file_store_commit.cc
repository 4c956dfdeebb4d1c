// FileStoreCommit: snapshot commits with retry on conflict.
#include "millpond/table/file_store_commit.h"

#include <chrono>
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
  if (entries.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto latest, snapshots_.LatestSnapshotId());
    return latest.value_or(0);
  }
  ARROW_ASSIGN_OR_RAISE(auto delta_meta, manifests_.WriteManifest(entries, schema_.id));
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
    ARROW_ASSIGN_OR_RAISE(auto delta_list, manifests_.WriteManifestList({delta_meta}));
    written.push_back(manifests_.ManifestPath(base_list.first));
    written.push_back(manifests_.ManifestPath(delta_list.first));

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
    s.changelog_record_count = 0;
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
