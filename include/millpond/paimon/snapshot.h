// A Paimon snapshot file (snapshot/snapshot-N) and its JSON codec (version 3).
// Mirrors org.apache.paimon.Snapshot. Values; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "millpond/common/status.h"

namespace millpond::paimon {

struct Snapshot {
  static constexpr int64_t kBatchCommitIdentifier = INT64_MAX;

  int32_t version = 3;
  int64_t id = 0;
  int64_t schema_id = 0;
  std::string base_manifest_list;
  std::optional<int64_t> base_manifest_list_size;
  std::string delta_manifest_list;
  std::optional<int64_t> delta_manifest_list_size;
  std::optional<std::string> changelog_manifest_list;
  std::optional<int64_t> changelog_manifest_list_size;
  std::optional<std::string> index_manifest;
  std::string commit_user;
  int64_t commit_identifier = kBatchCommitIdentifier;
  std::string commit_kind = "APPEND";  // APPEND, COMPACT, OVERWRITE, ANALYZE
  int64_t time_millis = 0;
  std::map<int32_t, int64_t> log_offsets;
  std::optional<int64_t> total_record_count;
  std::optional<int64_t> delta_record_count;
  std::optional<int64_t> changelog_record_count;
  std::optional<int64_t> watermark;
  std::optional<std::string> statistics;
  std::optional<std::map<std::string, std::string>> properties;
  std::optional<int64_t> next_row_id;

  static Result<Snapshot> FromJson(const std::string& text, const std::string& what);
  std::string ToJson() const;
};

}  // namespace millpond::paimon
