// SchemaManager: versioned schema files and schema evolution.
#include "millpond/table/schema_manager.h"
#include "millpond/table/merge_read.h"

#include <algorithm>
#include <chrono>

namespace millpond::table {

std::string SchemaManager::SchemaPath(int64_t id) const {
  return fs::JoinPath(fs::JoinPath(table_path_, "schema"), "schema-" + std::to_string(id));
}

Result<std::vector<int64_t>> SchemaManager::ListIds() const {
  ARROW_ASSIGN_OR_RAISE(auto infos, fs_->List(fs::JoinPath(table_path_, "schema")));
  std::vector<int64_t> ids;
  for (const auto& info : infos) {
    const std::string name = info.base_name();
    if (name.rfind("schema-", 0) != 0) continue;
    std::string rest = name.substr(7);
    if (rest.empty() || rest.size() > 18 || !std::all_of(rest.begin(), rest.end(), ::isdigit)) {
      continue;
    }
    ids.push_back(std::stoll(rest));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<paimon::TableSchema> SchemaManager::Read(int64_t id) const {
  std::string path = SchemaPath(id);
  auto text = fs_->ReadFile(path);
  if (!text.ok()) return Status::IOError("schema ", id, " missing (", path, ")");
  return paimon::TableSchema::FromJson(*text, path);
}

Result<paimon::TableSchema> SchemaManager::Latest() const {
  ARROW_ASSIGN_OR_RAISE(auto ids, ListIds());
  if (ids.empty()) return Status::IOError("no schema under ", table_path_, " (not a table)");
  return Read(ids.back());
}

Result<bool> SchemaManager::TryCommit(const paimon::TableSchema& s) const {
  return fs_->CreateIfAbsent(SchemaPath(s.id), s.ToJson());
}

Result<paimon::TableSchema> SchemaManager::Apply(const paimon::TableSchema& base,
                                                 const std::vector<SchemaChange>& changes) {
  paimon::TableSchema s = base;
  auto is_key = [&](const std::string& name) {
    return std::find(s.partition_keys.begin(), s.partition_keys.end(), name) !=
               s.partition_keys.end() ||
           std::find(s.primary_keys.begin(), s.primary_keys.end(), name) != s.primary_keys.end();
  };
  for (const auto& c : changes) {
    int idx = s.FieldIndex(c.name);
    switch (c.kind) {
      case SchemaChange::Kind::kAddColumn: {
        if (idx >= 0) return Status::Invalid("column '", c.name, "' already exists");
        if (c.name.empty()) return Status::Invalid("empty column name");
        paimon::DataField f;
        f.id = ++s.highest_field_id;
        f.name = c.name;
        // A column added later has no values in old files, so it must be nullable.
        f.type = c.type->WithNullable(true);
        s.fields.push_back(std::move(f));
        break;
      }
      case SchemaChange::Kind::kRenameColumn: {
        if (idx < 0) return Status::Invalid("unknown column '", c.name, "'");
        if (s.FieldIndex(c.new_name) >= 0) {
          return Status::Invalid("column '", c.new_name, "' already exists");
        }
        if (is_key(c.name)) {
          return Status::Invalid("cannot rename partition or primary key column '", c.name, "'");
        }
        s.fields[idx].name = c.new_name;
        break;
      }
      case SchemaChange::Kind::kDropColumn: {
        if (idx < 0) return Status::Invalid("unknown column '", c.name, "'");
        if (is_key(c.name)) {
          return Status::Invalid("cannot drop partition or primary key column '", c.name, "'");
        }
        auto bk = s.Option("bucket-key", "");
        for (const auto& k : paimon::SplitNames(bk)) {
          if (k == c.name) return Status::Invalid("cannot drop bucket key column '", c.name, "'");
        }
        if (s.fields.size() == 1) return Status::Invalid("cannot drop the last column");
        s.fields.erase(s.fields.begin() + idx);
        break;
      }
      case SchemaChange::Kind::kUpdateColumnType: {
        if (idx < 0) return Status::Invalid("unknown column '", c.name, "'");
        const auto& old_type = *s.fields[idx].type;
        auto new_type = c.type->WithNullable(old_type.nullable || c.type->nullable);
        if (!paimon::CanWiden(old_type, *new_type)) {
          return Status::Invalid("cannot change column '", c.name, "' from ", old_type.ToString(),
                                 " to ", new_type->ToString(), " (only widening is allowed)");
        }
        if (is_key(c.name)) {
          return Status::Invalid("cannot change the type of key column '", c.name, "'");
        }
        s.fields[idx].type = new_type;
        break;
      }
      case SchemaChange::Kind::kSetOption:
        if (c.name == "bucket" || c.name == "bucket-key" || c.name == "primary-key" ||
            c.name == "partition") {
          return Status::Invalid("option '", c.name, "' cannot be changed after creation");
        }
        s.options[c.name] = c.value;
        break;
      case SchemaChange::Kind::kRemoveOption:
        s.options.erase(c.name);
        break;
    }
  }
  s.id = base.id + 1;
  s.time_millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return s;
}

Result<paimon::TableSchema> SchemaManager::Alter(const std::vector<SchemaChange>& changes) const {
  for (int attempt = 0; attempt < 100; ++attempt) {
    ARROW_ASSIGN_OR_RAISE(auto base, Latest());
    ARROW_ASSIGN_OR_RAISE(auto next, Apply(base, changes));
    ARROW_RETURN_NOT_OK(ValidateMergeOptions(next));
    ARROW_ASSIGN_OR_RAISE(bool ok, TryCommit(next));
    if (ok) return next;
  }
  return Status::IOError("schema change kept losing to concurrent changes");
}

}  // namespace millpond::table
