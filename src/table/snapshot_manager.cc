// SnapshotManager: snapshot and tag files.
#include "millpond/table/snapshot_manager.h"

#include <algorithm>
#include <chrono>
#include <ctime>

#include <nlohmann/json.hpp>

namespace millpond::table {
namespace {

std::optional<int64_t> ParseId(const std::string& name, const std::string& prefix) {
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) {
    return std::nullopt;
  }
  std::string rest = name.substr(prefix.size());
  if (rest.empty() || !std::all_of(rest.begin(), rest.end(), ::isdigit) || rest.size() > 18) {
    return std::nullopt;
  }
  return std::stoll(rest);
}

bool ValidTagName(const std::string& tag) {
  if (tag.empty() || tag.size() > 200) return false;
  return std::all_of(tag.begin(), tag.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  }) && tag != "." && tag != "..";
}

}  // namespace

bool IsMainBranch(const std::string& branch) { return branch.empty() || branch == kMainBranch; }

Result<std::string> BranchMetadataPath(const std::string& table_path, const std::string& branch) {
  if (IsMainBranch(branch)) return table_path;
  if (!ValidTagName(branch)) {
    return Status::Invalid("invalid branch name '", branch, "' (use letters, digits, '-', '_', '.')");
  }
  return fs::JoinPath(fs::JoinPath(table_path, "branch"), "branch-" + branch);
}

std::string SnapshotManager::SnapshotDir() const { return fs::JoinPath(table_path_, "snapshot"); }

std::string SnapshotManager::SnapshotPath(int64_t id) const {
  return fs::JoinPath(SnapshotDir(), kSnapshotPrefix + std::to_string(id));
}

std::string SnapshotManager::TagPath(const std::string& tag) const {
  return fs::JoinPath(fs::JoinPath(table_path_, "tag"), kTagPrefix + tag);
}

Result<std::vector<int64_t>> SnapshotManager::ListSnapshotIds() const {
  ARROW_ASSIGN_OR_RAISE(auto infos, fs_->List(SnapshotDir()));
  std::vector<int64_t> ids;
  for (const auto& info : infos) {
    if (auto id = ParseId(info.base_name(), kSnapshotPrefix)) ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<std::optional<int64_t>> SnapshotManager::ReadHint(const char* name) const {
  auto text = fs_->ReadFile(fs::JoinPath(SnapshotDir(), name));
  if (!text.ok()) return std::optional<int64_t>();
  try {
    return std::optional<int64_t>(std::stoll(*text));
  } catch (...) {
    return std::optional<int64_t>();
  }
}

Result<std::optional<int64_t>> SnapshotManager::LatestSnapshotId() const {
  ARROW_ASSIGN_OR_RAISE(auto hint, ReadHint("LATEST"));
  if (hint) {
    ARROW_ASSIGN_OR_RAISE(bool has_hint, fs_->Exists(SnapshotPath(*hint)));
    ARROW_ASSIGN_OR_RAISE(bool has_next, fs_->Exists(SnapshotPath(*hint + 1)));
    if (has_hint && !has_next) return hint;
  }
  ARROW_ASSIGN_OR_RAISE(auto ids, ListSnapshotIds());
  if (ids.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(ids.back());
}

Result<std::optional<int64_t>> SnapshotManager::EarliestSnapshotId() const {
  ARROW_ASSIGN_OR_RAISE(auto ids, ListSnapshotIds());
  if (ids.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(ids.front());
}

Result<paimon::Snapshot> SnapshotManager::ReadSnapshot(int64_t id) const {
  std::string path = SnapshotPath(id);
  auto text = fs_->ReadFile(path);
  if (!text.ok()) {
    return Status::KeyError("snapshot ", id, " does not exist (", path, ")");
  }
  return paimon::Snapshot::FromJson(*text, path);
}

Result<paimon::Snapshot> SnapshotManager::SnapshotAsOf(int64_t time_millis) const {
  ARROW_ASSIGN_OR_RAISE(auto ids, ListSnapshotIds());
  std::optional<paimon::Snapshot> best;
  for (int64_t id : ids) {
    ARROW_ASSIGN_OR_RAISE(auto s, ReadSnapshot(id));
    if (s.time_millis <= time_millis) best = std::move(s);
  }
  if (!best) return Status::KeyError("no snapshot committed at or before the given time");
  return *best;
}

Result<bool> SnapshotManager::TryCommit(const paimon::Snapshot& s) const {
  ARROW_ASSIGN_OR_RAISE(bool created, fs_->CreateIfAbsent(SnapshotPath(s.id), s.ToJson()));
  if (!created) return false;
  // Hints are advisory (readers verify them), so a failure to write them does not fail the commit.
  (void)fs_->WriteFileAtomic(fs::JoinPath(SnapshotDir(), "LATEST"), std::to_string(s.id));
  auto earliest = ReadHint("EARLIEST");
  if (earliest.ok() && !earliest->has_value()) {
    (void)fs_->WriteFileAtomic(fs::JoinPath(SnapshotDir(), "EARLIEST"), std::to_string(s.id));
  }
  return true;
}

Result<paimon::Snapshot> SnapshotManager::ReadTag(const std::string& tag) const {
  if (!ValidTagName(tag)) return Status::Invalid("invalid tag name '", tag, "'");
  auto text = fs_->ReadFile(TagPath(tag));
  if (!text.ok()) return Status::KeyError("tag '", tag, "' does not exist");
  return paimon::Snapshot::FromJson(*text, TagPath(tag));
}

Result<std::vector<std::string>> SnapshotManager::ListTags() const {
  ARROW_ASSIGN_OR_RAISE(auto infos, fs_->List(fs::JoinPath(table_path_, "tag")));
  std::vector<std::string> tags;
  for (const auto& info : infos) {
    const std::string name = info.base_name();
    if (name.rfind(kTagPrefix, 0) == 0) {
      tags.push_back(name.substr(std::string(kTagPrefix).size()));
    }
  }
  std::sort(tags.begin(), tags.end());
  return tags;
}

Status SnapshotManager::CreateTag(const std::string& tag, int64_t id) const {
  if (!ValidTagName(tag)) {
    return Status::Invalid("invalid tag name '", tag, "' (use letters, digits, '-', '_', '.')");
  }
  ARROW_ASSIGN_OR_RAISE(auto snapshot, ReadSnapshot(id));
  // A tag file is the snapshot's JSON plus the tag's creation time (Paimon's Tag class).
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(snapshot.ToJson());
  auto now = std::chrono::system_clock::now();
  std::time_t tt = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  j["tagCreateTime"] = std::string(buf);
  ARROW_ASSIGN_OR_RAISE(bool created, fs_->CreateIfAbsent(TagPath(tag), j.dump(2)));
  if (!created) return Status::AlreadyExists("tag '", tag, "' already exists");
  return Status::OK();
}

Status SnapshotManager::DeleteTag(const std::string& tag) const {
  if (!ValidTagName(tag)) return Status::Invalid("invalid tag name '", tag, "'");
  ARROW_ASSIGN_OR_RAISE(bool exists, fs_->Exists(TagPath(tag)));
  if (!exists) return Status::KeyError("tag '", tag, "' does not exist");
  return fs_->DeleteFile(TagPath(tag));
}

}  // namespace millpond::table
