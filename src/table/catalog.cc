// Catalog and Table facade.
#include "millpond/table/catalog.h"

#include <algorithm>
#include <chrono>

#include "millpond/paimon/types.h"
#include "millpond/table/changelog.h"
#include "millpond/table/merge_read.h"
#include "blob_columns.h"

namespace millpond::table {
namespace {

bool ValidName(const std::string& n) {
  if (n.empty() || n.size() > 255 || n == "." || n == "..") return false;
  for (unsigned char c : n) {
    if (c < 0x20 || c == '/' || c == '\\' || c == '.' || c == 0x7f) return false;
  }
  return true;
}

std::string NewCommitUser() { return NewUuid(); }

}  // namespace

Result<std::unique_ptr<AppendWriter>> Table::NewWriter() const {
  ARROW_ASSIGN_OR_RAISE(auto schema, LatestSchema());
  int64_t first_seq = 0;
  auto snaps = snapshots();
  ARROW_ASSIGN_OR_RAISE(auto latest, snaps.LatestSnapshotId());
  if (latest) {
    ARROW_ASSIGN_OR_RAISE(auto s, snaps.ReadSnapshot(*latest));
    first_seq = s.total_record_count.value_or(0);
  }
  return AppendWriter::Make(fs_, path_, std::move(schema), first_seq);
}

Result<std::unique_ptr<KeyValueWriter>> Table::NewKeyValueWriter() const {
  ARROW_ASSIGN_OR_RAISE(auto schema, LatestSchema());
  if (schema.primary_keys.empty()) return Status::Invalid("table ", name_, " has no primary key");
  if (!IsMainBranch(branch_)) {
    return Status::NotImplemented("writing primary-key tables on a branch is not supported yet");
  }
  return KeyValueWriter::Make(fs_, path_, std::move(schema));
}

Result<std::unique_ptr<Table>> Table::OnBranch(const std::string& branch) const {
  auto t = std::make_unique<Table>(fs_, path_, name_);
  ARROW_ASSIGN_OR_RAISE(t->metadata_path_, BranchMetadataPath(path_, branch));
  t->branch_ = IsMainBranch(branch) ? kMainBranch : branch;
  ARROW_ASSIGN_OR_RAISE(auto ids, t->schemas().ListIds());
  if (ids.empty()) return Status::KeyError("branch '", branch, "' of ", name_, " does not exist");
  return t;
}

Status Table::CreateBranch(const std::string& name, std::optional<int64_t> snapshot_id,
                           const std::optional<std::string>& tag) const {
  if (IsMainBranch(name)) return Status::Invalid("branch name 'main' is reserved");
  ARROW_ASSIGN_OR_RAISE(std::string dir, BranchMetadataPath(path_, name));
  ARROW_ASSIGN_OR_RAISE(bool exists, fs_->Exists(dir));
  if (exists) return Status::AlreadyExists("branch '", name, "' already exists");
  if (snapshot_id && tag) return Status::Invalid("give a snapshot or a tag, not both");
  auto snaps = snapshots();
  std::optional<paimon::Snapshot> from;
  if (snapshot_id) {
    ARROW_ASSIGN_OR_RAISE(from, snaps.ReadSnapshot(*snapshot_id));
  } else if (tag) {
    ARROW_ASSIGN_OR_RAISE(from, snaps.ReadTag(*tag));
  }
  SchemaManager branch_schemas(fs_, dir);
  SnapshotManager branch_snaps(fs_, dir);
  ARROW_ASSIGN_OR_RAISE(auto ids, schemas().ListIds());
  int64_t max_schema = from ? from->schema_id : (ids.empty() ? 0 : ids.back());
  // Schemas first, the snapshot last: a branch folder without a snapshot is an empty branch.
  for (int64_t id : ids) {
    if (id > max_schema) continue;
    if (!from && id != max_schema) continue;  // an empty branch starts from the latest schema
    ARROW_ASSIGN_OR_RAISE(auto text, fs_->ReadFile(schemas().SchemaPath(id)));
    ARROW_RETURN_NOT_OK(fs_->WriteFileAtomic(branch_schemas.SchemaPath(id), text));
  }
  if (from) {
    if (tag) {
      ARROW_ASSIGN_OR_RAISE(auto text, fs_->ReadFile(snaps.TagPath(*tag)));
      ARROW_RETURN_NOT_OK(fs_->WriteFileAtomic(branch_snaps.TagPath(*tag), text));
    }
    ARROW_ASSIGN_OR_RAISE(bool ok, branch_snaps.TryCommit(*from));
    if (!ok) return Status::IOError("branch '", name, "' changed while being created");
  }
  return Status::OK();
}

Result<std::vector<std::string>> Table::ListBranches() const {
  ARROW_ASSIGN_OR_RAISE(auto infos, fs_->List(fs::JoinPath(path_, "branch")));
  std::vector<std::string> out;
  for (const auto& info : infos) {
    const std::string n = info.base_name();
    if (info.type() == arrow::fs::FileType::Directory && n.rfind("branch-", 0) == 0) {
      out.push_back(n.substr(7));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status Table::DeleteBranch(const std::string& name) const {
  if (IsMainBranch(name)) return Status::Invalid("the main branch cannot be deleted");
  ARROW_ASSIGN_OR_RAISE(std::string dir, BranchMetadataPath(path_, name));
  ARROW_ASSIGN_OR_RAISE(bool exists, fs_->Exists(dir));
  if (!exists) return Status::KeyError("branch '", name, "' does not exist");
  return fs_->arrow_fs()->DeleteDir(dir);
}

Status Table::FastForward(const std::string& name) const {
  if (IsMainBranch(name)) return Status::Invalid("cannot fast-forward main to itself");
  ARROW_ASSIGN_OR_RAISE(auto branch, OnBranch(name));
  auto bsnaps = branch->snapshots();
  ARROW_ASSIGN_OR_RAISE(auto bids, bsnaps.ListSnapshotIds());
  if (bids.empty()) return Status::Invalid("branch '", name, "' has no snapshot to fast-forward to");
  auto main_snaps = snapshots();
  ARROW_ASSIGN_OR_RAISE(auto mids, main_snaps.ListSnapshotIds());
  // Main's snapshots from the branch's first one on are replaced (newest first, so main's LATEST
  // never points past a gap), then the branch's schemas and snapshots are copied in.
  for (auto it = mids.rbegin(); it != mids.rend(); ++it) {
    if (*it >= bids.front()) ARROW_RETURN_NOT_OK(fs_->DeleteFile(main_snaps.SnapshotPath(*it)));
  }
  ARROW_ASSIGN_OR_RAISE(auto sids, branch->schemas().ListIds());
  for (int64_t id : sids) {
    ARROW_ASSIGN_OR_RAISE(auto text, fs_->ReadFile(branch->schemas().SchemaPath(id)));
    ARROW_RETURN_NOT_OK(fs_->WriteFileAtomic(schemas().SchemaPath(id), text));
  }
  for (int64_t id : bids) {
    ARROW_ASSIGN_OR_RAISE(auto text, fs_->ReadFile(bsnaps.SnapshotPath(id)));
    ARROW_RETURN_NOT_OK(fs_->WriteFileAtomic(main_snaps.SnapshotPath(id), text));
  }
  return fs_->WriteFileAtomic(fs::JoinPath(main_snaps.SnapshotDir(), "LATEST"),
                              std::to_string(bids.back()));
}

Result<int64_t> Table::Commit(const std::vector<paimon::ManifestEntry>& entries,
                              const CommitOptions& options) const {
  ARROW_ASSIGN_OR_RAISE(auto schema, LatestSchema());
  FileStoreCommit commit(fs_, path_, std::move(schema), NewCommitUser(), metadata_path_);
  return commit.Commit(entries, options);
}

Result<std::unique_ptr<TableScan>> Table::NewScan(ScanOptions options) const {
  if (options.branch.empty()) options.branch = branch_;
  return TableScan::Make(fs_, path_, std::move(options));
}

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& uri, bool create_if_missing) {
  std::string root;
  ARROW_ASSIGN_OR_RAISE(auto fs, fs::FileSystem::Make(uri, &root));
  ARROW_ASSIGN_OR_RAISE(auto info, fs->arrow_fs()->GetFileInfo(root));
  if (info.type() == arrow::fs::FileType::NotFound) {
    if (!create_if_missing) {
      return Status::IOError("warehouse ", uri, " does not exist");
    }
    ARROW_RETURN_NOT_OK(fs->MakeDirs(root));
  } else if (info.type() != arrow::fs::FileType::Directory) {
    return Status::IOError("warehouse ", uri, " is not a warehouse (it is a file)");
  } else {
    ARROW_ASSIGN_OR_RAISE(auto entries, fs->List(root));
    bool has_db = false, has_other = false;
    for (const auto& e : entries) {
      const std::string name = e.base_name();
      if (e.type() == arrow::fs::FileType::Directory && name.size() > 3 && name.ends_with(".db")) {
        has_db = true;
      } else if (!name.empty() && name[0] != '.' && name[0] != '_') {
        has_other = true;
      }
    }
    if (has_other && !has_db) {
      return Status::IOError("warehouse ", uri,
                             " is not a warehouse (it holds files but no <db>.db folders)");
    }
  }
  return std::unique_ptr<Catalog>(new Catalog(std::move(fs), std::move(root)));
}

Result<std::vector<std::string>> Catalog::ListDatabases() const {
  ARROW_ASSIGN_OR_RAISE(auto entries, fs_->List(root_));
  std::vector<std::string> out;
  for (const auto& e : entries) {
    const std::string name = e.base_name();
    if (e.type() == arrow::fs::FileType::Directory && name.size() > 3 && name.ends_with(".db")) {
      out.push_back(name.substr(0, name.size() - 3));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::string>> Catalog::ListTables(const std::string& db) const {
  if (!ValidName(db)) return Status::Invalid("invalid database name '", db, "'");
  std::string dir = fs::JoinPath(root_, db + ".db");
  ARROW_ASSIGN_OR_RAISE(bool exists, fs_->IsDirectory(dir));
  if (!exists) return Status::KeyError("database '", db, "' does not exist");
  ARROW_ASSIGN_OR_RAISE(auto entries, fs_->List(dir));
  std::vector<std::string> out;
  for (const auto& e : entries) {
    if (e.type() != arrow::fs::FileType::Directory) continue;
    ARROW_ASSIGN_OR_RAISE(bool is_table, fs_->IsDirectory(fs::JoinPath(e.path(), "schema")));
    if (is_table) out.push_back(e.base_name());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::pair<std::string, std::string>> Catalog::ParseIdentifier(const std::string& id) {
  auto dot = id.find('.');
  if (dot == std::string::npos || id.find('.', dot + 1) != std::string::npos) {
    return Status::Invalid("table name '", id, "' must be DB.TABLE");
  }
  std::string db = id.substr(0, dot), table = id.substr(dot + 1);
  if (!ValidName(db) || !ValidName(table)) {
    return Status::Invalid("invalid table name '", id,
                           "' (names may not be empty or contain '/', '\\\\' or control characters)");
  }
  return std::make_pair(db, table);
}

std::string Catalog::TablePath(const std::string& db, const std::string& table) const {
  return fs::JoinPath(fs::JoinPath(root_, db + ".db"), table);
}

Result<std::unique_ptr<Table>> Catalog::CreateTable(const std::string& identifier,
                                                    paimon::TableSchema schema) const {
  ARROW_ASSIGN_OR_RAISE(auto names, ParseIdentifier(identifier));
  std::string path = TablePath(names.first, names.second);
  if (schema.fields.empty()) return Status::Invalid("a table needs at least one column");
  ARROW_RETURN_NOT_OK(paimon::AssignFieldIds(&schema));
  for (const auto& k : schema.partition_keys) {
    if (schema.FieldIndex(k) < 0) return Status::Invalid("partition key '", k, "' is not a column");
  }
  for (const auto& k : schema.primary_keys) {
    if (schema.FieldIndex(k) < 0) return Status::Invalid("primary key '", k, "' is not a column");
  }
  ARROW_RETURN_NOT_OK(PrepareBlobTableSchema(&schema));  // BLOB columns need data evolution
  if (!schema.primary_keys.empty()) {
    ARROW_ASSIGN_OR_RAISE(schema, PrepareKeyValueTableSchema(std::move(schema)));
    ARROW_RETURN_NOT_OK(ValidateMergeOptions(schema));
    SchemaManager pk_schemas(fs_, path);
    ARROW_ASSIGN_OR_RAISE(auto pk_ids, pk_schemas.ListIds());
    if (!pk_ids.empty()) return Status::AlreadyExists("table ", identifier, " already exists");
    ARROW_ASSIGN_OR_RAISE(bool pk_created, pk_schemas.TryCommit(schema));
    if (!pk_created) return Status::AlreadyExists("table ", identifier, " already exists");
    return std::make_unique<Table>(fs_, path, identifier);
  }
  ARROW_RETURN_NOT_OK(ValidateChangelogOptions(schema));
  int32_t buckets = schema.NumBuckets();
  if (!schema.options.count("bucket")) schema.options["bucket"] = "-1";
  if (buckets == 0 || buckets < -1) return Status::Invalid("bucket must be -1 or positive");
  if (buckets > 0) {
    auto keys = schema.BucketKeys();
    if (keys.empty()) return Status::Invalid("a bucketed append table needs --bucket-key");
    for (const auto& k : keys) {
      int i = schema.FieldIndex(k);
      if (i < 0) return Status::Invalid("bucket key '", k, "' is not a column");
      if (schema.fields[i].type->IsNested()) {
        return Status::Invalid("bucket key '", k, "' cannot be a nested type");
      }
    }
  }
  std::string format = schema.Option("file.format", "parquet");
  if (format != "parquet") {
    return Status::NotImplemented("millpond writes Parquet data files only (file.format=", format,
                                  ")");
  }
  if (!schema.options.count("file.format")) schema.options["file.format"] = "parquet";
  if (schema.Option("manifest.format", "avro") != "avro") {
    return Status::NotImplemented("millpond writes Avro manifests only");
  }
  schema.id = 0;
  schema.time_millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  SchemaManager schemas(fs_, path);
  ARROW_ASSIGN_OR_RAISE(auto ids, schemas.ListIds());
  if (!ids.empty()) return Status::AlreadyExists("table ", identifier, " already exists");
  ARROW_ASSIGN_OR_RAISE(bool created, schemas.TryCommit(schema));
  if (!created) return Status::AlreadyExists("table ", identifier, " already exists");
  return std::make_unique<Table>(fs_, path, identifier);
}

Result<std::unique_ptr<Table>> Catalog::GetTable(const std::string& identifier) const {
  ARROW_ASSIGN_OR_RAISE(auto names, ParseIdentifier(identifier));
  std::string path = TablePath(names.first, names.second);
  SchemaManager schemas(fs_, path);
  ARROW_ASSIGN_OR_RAISE(auto ids, schemas.ListIds());
  if (ids.empty()) return Status::KeyError("table ", identifier, " does not exist");
  return std::make_unique<Table>(fs_, path, identifier);
}

}  // namespace millpond::table
