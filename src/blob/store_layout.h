// Where the blob store's files live (docs/format/blob-pack.md §4, §6-§8): _blobs/ under the
// warehouse, the index, marks, leases and access records there, and the hot, warm and cold tier
// locations (each its own file system and root). Immutable after Open; thread-safe.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>

#include "millpond/blob/blob_store.h"
#include "millpond/fs/file_system.h"
#include "pack_format.h"

namespace millpond::blob {

inline constexpr int kTierHot = 0;
inline constexpr int kTierWarm = 1;
inline constexpr int kTierCold = 2;
inline constexpr int kTierCount = 3;

const char* TierName(int tier);
/// "hot" / "warm" / "cold" -> 0 / 1 / 2; -1 for anything else.
int TierFromName(std::string_view name);

struct TierLocation {
  std::shared_ptr<fs::FileSystem> fs;
  std::string root;  // the tier's folder; packs are under root/packs/
  std::string spec;  // as configured (relative path, absolute path or URI)
};

class StoreLayout {
 public:
  /// Resolves the tier locations: `overrides`, else _blobs/tiers.json, else the defaults.
  static Result<StoreLayout> Open(std::shared_ptr<fs::FileSystem> fs,
                                  const std::string& warehouse_root,
                                  const std::map<std::string, std::string>& overrides);

  const std::shared_ptr<fs::FileSystem>& fs() const { return fs_; }
  const std::string& root() const { return root_; }  // <warehouse>/_blobs
  std::string index_dir() const { return root_ + "/index"; }
  std::string gc_dir() const { return root_ + "/gc"; }
  std::string lease_dir() const { return root_ + "/leases"; }
  std::string access_dir() const { return root_ + "/access"; }
  std::string lock_path() const { return root_ + "/maintenance.lock"; }
  std::string tiers_config_path() const { return root_ + "/tiers.json"; }

  const TierLocation& tier(int t) const { return tiers_[t]; }
  std::string packs_dir(int t) const { return tiers_[t].root + "/packs"; }
  std::string pack_path(int t, const PackId& id) const {
    return packs_dir(t) + "/" + PackFileName(id);
  }
  /// "<tier>/pack-<id>.mpk", for messages.
  static std::string PackLabel(int t, const PackId& id) {
    return std::string(TierName(t)) + "/" + PackFileName(id);
  }
  /// The configured tier specs, as tiers.json holds them.
  std::map<std::string, std::string> tier_specs() const;

 private:
  std::shared_ptr<fs::FileSystem> fs_;
  std::string root_;
  std::array<TierLocation, kTierCount> tiers_;
};

/// Resolves one tier spec relative to `blobs_root` on `fs`.
Result<TierLocation> ResolveTier(const std::shared_ptr<fs::FileSystem>& fs,
                                 const std::string& blobs_root, const std::string& spec);

/// The maintenance lock (§8), held for the life of the object.
class MaintenanceLock {
 public:
  /// Fails with an error naming the lock file when another live run holds it; a lock older
  /// than an hour (wall clock) is taken over.
  static Result<std::unique_ptr<MaintenanceLock>> Acquire(const StoreLayout& layout,
                                                          const std::string& owner);
  ~MaintenanceLock();

 private:
  MaintenanceLock(std::shared_ptr<fs::FileSystem> fs, std::string path)
      : fs_(std::move(fs)), path_(std::move(path)) {}
  std::shared_ptr<fs::FileSystem> fs_;
  std::string path_;
};

/// Entries of `dir` (none when it does not exist). Retries when the folder appears while being
/// listed (Arrow's local listing reports that race as an error).
Result<std::vector<arrow::fs::FileInfo>> ListDir(const fs::FileSystem& fs, const std::string& dir);

/// Current time from `clock`, or the system clock when it is null.
int64_t NowMillis(const std::function<int64_t()>& clock);
/// Wall-clock time (file modification times are compared against it, never a fake clock).
int64_t WallMillis();

}  // namespace millpond::blob
