// Snapshot JSON codec.
#include "millpond/paimon/snapshot.h"

#include <nlohmann/json.hpp>

namespace millpond::paimon {
namespace {

template <typename T>
bool GetOpt(const nlohmann::json& j, const char* key, std::optional<T>* out) {
  if (!j.contains(key) || j[key].is_null()) return true;
  try {
    *out = j[key].get<T>();
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

Result<Snapshot> Snapshot::FromJson(const std::string& text, const std::string& what) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Invalid("snapshot ", what, ": not valid JSON (corrupt or truncated)");
  }
  for (const char* key : {"id", "schemaId", "baseManifestList", "deltaManifestList", "commitKind",
                          "timeMillis"}) {
    if (!j.contains(key) || j[key].is_null()) {
      return Status::Invalid("snapshot ", what, ": field ", key, " missing");
    }
  }
  Snapshot s;
  bool ok = true;
  try {
    s.version = j.value("version", 1);
    s.id = j["id"].get<int64_t>();
    s.schema_id = j["schemaId"].get<int64_t>();
    s.base_manifest_list = j["baseManifestList"].get<std::string>();
    s.delta_manifest_list = j["deltaManifestList"].get<std::string>();
    s.commit_user = j.value("commitUser", std::string());
    s.commit_identifier = j.value("commitIdentifier", kBatchCommitIdentifier);
    s.commit_kind = j["commitKind"].get<std::string>();
    s.time_millis = j["timeMillis"].get<int64_t>();
    if (j.contains("logOffsets") && j["logOffsets"].is_object()) {
      for (auto it = j["logOffsets"].begin(); it != j["logOffsets"].end(); ++it) {
        s.log_offsets[std::stoi(it.key())] = it.value().get<int64_t>();
      }
    }
    if (j.contains("properties") && j["properties"].is_object()) {
      std::map<std::string, std::string> props;
      for (auto it = j["properties"].begin(); it != j["properties"].end(); ++it) {
        props[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
      }
      s.properties = std::move(props);
    }
  } catch (const std::exception& e) {
    return Status::Invalid("snapshot ", what, ": ", e.what());
  }
  ok &= GetOpt(j, "baseManifestListSize", &s.base_manifest_list_size);
  ok &= GetOpt(j, "deltaManifestListSize", &s.delta_manifest_list_size);
  ok &= GetOpt(j, "changelogManifestList", &s.changelog_manifest_list);
  ok &= GetOpt(j, "changelogManifestListSize", &s.changelog_manifest_list_size);
  ok &= GetOpt(j, "indexManifest", &s.index_manifest);
  ok &= GetOpt(j, "totalRecordCount", &s.total_record_count);
  ok &= GetOpt(j, "deltaRecordCount", &s.delta_record_count);
  ok &= GetOpt(j, "changelogRecordCount", &s.changelog_record_count);
  ok &= GetOpt(j, "watermark", &s.watermark);
  ok &= GetOpt(j, "statistics", &s.statistics);
  ok &= GetOpt(j, "nextRowId", &s.next_row_id);
  if (!ok) return Status::Invalid("snapshot ", what, ": a field has the wrong type");
  return s;
}

std::string Snapshot::ToJson() const {
  nlohmann::ordered_json j;
  j["version"] = version;
  j["id"] = id;
  j["schemaId"] = schema_id;
  j["baseManifestList"] = base_manifest_list;
  if (base_manifest_list_size) j["baseManifestListSize"] = *base_manifest_list_size;
  j["deltaManifestList"] = delta_manifest_list;
  if (delta_manifest_list_size) j["deltaManifestListSize"] = *delta_manifest_list_size;
  if (changelog_manifest_list) {
    j["changelogManifestList"] = *changelog_manifest_list;
  } else {
    j["changelogManifestList"] = nullptr;
  }
  if (changelog_manifest_list_size) j["changelogManifestListSize"] = *changelog_manifest_list_size;
  if (index_manifest) j["indexManifest"] = *index_manifest;
  j["commitUser"] = commit_user;
  j["commitIdentifier"] = commit_identifier;
  j["commitKind"] = commit_kind;
  j["timeMillis"] = time_millis;
  nlohmann::ordered_json offsets = nlohmann::ordered_json::object();
  for (const auto& [k, v] : log_offsets) offsets[std::to_string(k)] = v;
  j["logOffsets"] = offsets;
  if (total_record_count) j["totalRecordCount"] = *total_record_count;
  if (delta_record_count) j["deltaRecordCount"] = *delta_record_count;
  if (changelog_record_count) j["changelogRecordCount"] = *changelog_record_count;
  if (watermark) j["watermark"] = *watermark;
  if (statistics) j["statistics"] = *statistics;
  if (properties) {
    nlohmann::ordered_json p = nlohmann::ordered_json::object();
    for (const auto& [k, v] : *properties) p[k] = v;
    j["properties"] = p;
  }
  if (next_row_id) j["nextRowId"] = *next_row_id;
  return j.dump(2);
}

}  // namespace millpond::paimon
