// Marks and leases as small JSON files.
#include "gc_protocol.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "pack_format.h"

namespace millpond::blob {
namespace {

bool ParseMarkName(const std::string& name, int64_t* created) {
  // mark-<13 digits>-<16 hex>.json
  if (name.size() != 5 + 13 + 1 + 16 + 5 || name.rfind("mark-", 0) != 0 ||
      name.substr(name.size() - 5) != ".json") {
    return false;
  }
  *created = std::strtoll(name.substr(5, 13).c_str(), nullptr, 10);
  return true;
}

}  // namespace

Result<std::vector<std::pair<int64_t, std::string>>> ListMarks(const StoreLayout& layout) {
  MP_ASSIGN_OR_RAISE(auto infos, ListDir(*layout.fs(), layout.gc_dir()));
  std::vector<std::pair<int64_t, std::string>> out;
  for (const auto& info : infos) {
    int64_t created;
    std::string name = info.base_name();
    if (ParseMarkName(name, &created)) out.emplace_back(created, name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<Mark> ReadMark(const StoreLayout& layout, const std::string& name) {
  const std::string path = layout.gc_dir() + "/" + name;
  MP_ASSIGN_OR_RAISE(std::string text, layout.fs()->ReadFile(path));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("created") || !j["created"].is_number_integer() ||
      !j.contains("blobs") || !j["blobs"].is_array() || !j.contains("chunks") ||
      !j["chunks"].is_array()) {
    return Status::IOError("GC mark ", path, " is corrupt");
  }
  Mark m;
  m.name = name;
  m.created = j["created"].get<int64_t>();
  for (const char* key : {"blobs", "chunks"}) {
    auto& out = std::string_view(key) == "blobs" ? m.blobs : m.chunks;
    for (const auto& h : j[key]) {
      if (!h.is_string()) return Status::IOError("GC mark ", path, " is corrupt");
      MP_ASSIGN_OR_RAISE(auto id, BlobId::Parse(h.get<std::string>()));
      out.push_back(id);
    }
  }
  return m;
}

Status WriteMark(const StoreLayout& layout, Mark* mark) {
  nlohmann::json j;
  j["version"] = 1;
  j["created"] = mark->created;
  j["blobs"] = nlohmann::json::array();
  j["chunks"] = nlohmann::json::array();
  for (const auto& b : mark->blobs) j["blobs"].push_back(b.Hex());
  for (const auto& c : mark->chunks) j["chunks"].push_back(c.Hex());
  char name[64];
  std::snprintf(name, sizeof(name), "mark-%013lld-%s.json",
                static_cast<long long>(mark->created), Hex64(RandomU64()).c_str());
  mark->name = name;
  MP_ASSIGN_OR_RAISE(bool created,
                     layout.fs()->CreateIfAbsent(layout.gc_dir() + "/" + name, j.dump()));
  if (!created) return Status::IOError("GC mark ", name, " exists already");
  return Status::OK();
}

std::string LeasePath(const StoreLayout& layout, uint64_t writer) {
  return layout.lease_dir() + "/" + Hex64(writer) + ".json";
}

Status WriteLease(const StoreLayout& layout, const Lease& lease) {
  nlohmann::json j = {{"version", 1}, {"refreshed", lease.refreshed},
                      {"seen_mark", lease.seen_mark}};
  return layout.fs()->WriteFileAtomic(LeasePath(layout, lease.writer), j.dump());
}

Result<std::vector<Lease>> ReadLeases(const StoreLayout& layout) {
  MP_ASSIGN_OR_RAISE(auto infos, ListDir(*layout.fs(), layout.lease_dir()));
  std::vector<Lease> out;
  for (const auto& info : infos) {
    std::string name = info.base_name();
    if (name.size() != 16 + 5 || name.substr(16) != ".json") continue;
    Lease l;
    l.writer = std::strtoull(name.substr(0, 16).c_str(), nullptr, 16);
    auto text = layout.fs()->ReadFile(info.path());
    if (!text.ok()) {
      MP_ASSIGN_OR_RAISE(bool exists, layout.fs()->Exists(info.path()));
      if (!exists) continue;  // released meanwhile
      return text.status();
    }
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_object() && j.contains("refreshed") && j["refreshed"].is_number_integer() &&
        j.contains("seen_mark") && j["seen_mark"].is_number_integer()) {
      l.refreshed = j["refreshed"].get<int64_t>();
      l.seen_mark = j["seen_mark"].get<int64_t>();
    } else {
      // Unreadable: treat as a writer that has seen nothing, until it expires by file age.
      l.refreshed = std::chrono::duration_cast<std::chrono::milliseconds>(
                        info.mtime().time_since_epoch())
                        .count();
      l.seen_mark = -1;
    }
    out.push_back(l);
  }
  return out;
}

}  // namespace millpond::blob
