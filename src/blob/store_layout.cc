// Store layout: tier resolution, tiers.json, the maintenance lock.
#include "store_layout.h"

#include <chrono>

#include <nlohmann/json.hpp>

namespace millpond::blob {

const char* TierName(int tier) {
  static const char* kNames[] = {"hot", "warm", "cold"};
  return tier >= 0 && tier < kTierCount ? kNames[tier] : "?";
}

int TierFromName(std::string_view name) {
  for (int t = 0; t < kTierCount; ++t) {
    if (name == TierName(t)) return t;
  }
  return -1;
}

int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::vector<arrow::fs::FileInfo>> ListDir(const fs::FileSystem& fs,
                                                 const std::string& dir) {
  auto r = fs.List(dir);
  for (int attempt = 0; !r.ok() && attempt < 3; ++attempt) r = fs.List(dir);
  return r;
}

int64_t NowMillis(const std::function<int64_t()>& clock) { return clock ? clock() : WallMillis(); }

Result<TierLocation> ResolveTier(const std::shared_ptr<fs::FileSystem>& fs,
                                 const std::string& blobs_root, const std::string& spec) {
  if (spec.empty()) return Status::Invalid("empty tier location");
  TierLocation loc;
  loc.spec = spec;
  if (spec.find("://") != std::string::npos || spec[0] == '/') {
    if (spec.rfind("file://", 0) == 0 || spec[0] == '/') {
      if (fs->is_local()) {
        std::string root;
        MP_ASSIGN_OR_RAISE(auto ignored, fs::FileSystem::Make(spec, &root));
        (void)ignored;
        loc.fs = fs;  // same local file system: renames between tiers stay possible
        loc.root = root;
        return loc;
      }
    }
    MP_ASSIGN_OR_RAISE(loc.fs, fs::FileSystem::Make(spec, &loc.root));
    return loc;
  }
  if (spec.find("..") != std::string::npos) {
    return Status::Invalid("tier location '", spec, "' must not contain '..'");
  }
  loc.fs = fs;
  loc.root = fs::JoinPath(blobs_root, spec);
  return loc;
}

Result<StoreLayout> StoreLayout::Open(std::shared_ptr<fs::FileSystem> fs,
                                      const std::string& warehouse_root,
                                      const std::map<std::string, std::string>& overrides) {
  StoreLayout l;
  l.fs_ = fs;
  l.root_ = fs::JoinPath(warehouse_root, "_blobs");
  std::map<std::string, std::string> specs = {{"hot", "hot"}, {"warm", "warm"}, {"cold", "cold"}};
  std::map<std::string, std::string> configured = overrides;
  if (configured.empty()) {
    MP_ASSIGN_OR_RAISE(bool exists, fs->Exists(l.tiers_config_path()));
    if (exists) {
      MP_ASSIGN_OR_RAISE(std::string text, fs->ReadFile(l.tiers_config_path()));
      auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object()) {
        return Status::Invalid(l.tiers_config_path(), " is not a JSON object of tier locations");
      }
      for (auto& [k, v] : j.items()) {
        if (!v.is_string()) return Status::Invalid(l.tiers_config_path(), ": '", k, "' is not a string");
        configured[k] = v.get<std::string>();
      }
    }
  }
  for (auto& [k, v] : configured) {
    if (TierFromName(k) < 0) {
      return Status::Invalid("unknown tier '", k, "' (tiers are hot, warm and cold)");
    }
    specs[k] = v;
  }
  for (int t = 0; t < kTierCount; ++t) {
    auto r = ResolveTier(fs, l.root_, specs[TierName(t)]);
    if (!r.ok()) return Status::Invalid("tier ", TierName(t), ": ", r.status().message());
    l.tiers_[t] = std::move(*r);
  }
  return l;
}

std::map<std::string, std::string> StoreLayout::tier_specs() const {
  std::map<std::string, std::string> out;
  for (int t = 0; t < kTierCount; ++t) out[TierName(t)] = tiers_[t].spec;
  return out;
}

Result<std::unique_ptr<MaintenanceLock>> MaintenanceLock::Acquire(const StoreLayout& layout,
                                                                  const std::string& owner) {
  const auto& fs = layout.fs();
  const std::string path = layout.lock_path();
  nlohmann::json j = {{"owner", owner}, {"created", WallMillis()}};
  for (int attempt = 0; attempt < 2; ++attempt) {
    MP_ASSIGN_OR_RAISE(bool created, fs->CreateIfAbsent(path, j.dump()));
    if (created) return std::unique_ptr<MaintenanceLock>(new MaintenanceLock(fs, path));
    auto text = fs->ReadFile(path);
    if (!text.ok()) continue;  // released meanwhile
    auto held = nlohmann::json::parse(*text, nullptr, false);
    int64_t since = held.is_object() && held.contains("created") && held["created"].is_number()
                        ? held["created"].get<int64_t>()
                        : 0;
    std::string by = held.is_object() && held.contains("owner") && held["owner"].is_string()
                         ? held["owner"].get<std::string>()
                         : "?";
    // A holder that died leaves its lock; one older than an hour is taken over.
    if (WallMillis() - since > 3600 * 1000) {
      MP_RETURN_NOT_OK(fs->DeleteFile(path));
      continue;
    }
    return Status::IOError("another blob maintenance run (", by, ") holds ", path,
                           "; wait for it or delete the file if it died");
  }
  return Status::IOError("cannot take the blob maintenance lock ", path);
}

MaintenanceLock::~MaintenanceLock() { (void)fs_->DeleteFile(path_); }

}  // namespace millpond::blob
