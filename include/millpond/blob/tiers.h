// Tier placement of blob packs (docs/format/blob-pack.md §6): a policy of rules by pack age and
// idle time, and the run that moves packs between the hot, warm and cold locations without
// changing any blob id. One run at a time per store (the maintenance lock); readers keep reading.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "millpond/blob/blob_store.h"

namespace millpond::blob {

struct TierRule {
  std::string tier;               // "hot", "warm" or "cold"
  int64_t min_age_millis = -1;    // since the pack was created; -1: any
  int64_t min_idle_millis = -1;   // since its last read (or creation); -1: any
};

struct TierPolicy {
  std::vector<TierRule> rules;
  /// Tier locations to configure (only for tiers that hold no packs yet).
  std::map<std::string, std::string> locations;
  /// zstd level for packs rewritten into cold; 0: the store option.
  int zstd_level_cold = 0;

  /// JSON, or the YAML subset of docs/format/blob-pack.md §6. `source` names it in errors.
  static Result<TierPolicy> Parse(std::string_view text, const std::string& source);
  /// Cold after 30 days idle, warm after 7 days idle, else hot.
  static TierPolicy Default();
  /// The first matching rule's tier; empty when none matches.
  std::string TierFor(int64_t age_millis, int64_t idle_millis) const;
};

struct TierOptions {
  bool dry_run = false;
};

struct TierReport {
  int64_t packs = 0;
  int64_t moved = 0;      // copied or renamed to another tier
  int64_t rewritten = 0;  // recompressed into cold
  int64_t bytes_moved = 0;
  std::vector<std::string> moves;  // "pack-<id>.mpk: hot -> cold (rewritten)"
  std::map<std::string, int64_t> packs_per_tier, bytes_per_tier;  // after the run
};

/// "500ms", "10s", "15m", "12h", "30d", "2w" or "0" to milliseconds.
Result<int64_t> ParseDuration(std::string_view text);

Result<TierReport> ApplyTierPolicy(std::shared_ptr<fs::FileSystem> fs,
                                   const std::string& warehouse_root, const TierPolicy& policy,
                                   const TierOptions& options = {},
                                   const BlobStoreOptions& store_options = {});

}  // namespace millpond::blob
