// The OPC UA nodes file, and where the Python bridge and its interpreter are found.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "millpond/ingest/opcua_source.h"
#include "millpond/paimon/schema.h"
#include "modbus_yaml.h"

namespace millpond::ingest {

namespace opcua {

namespace y = yaml_util;

namespace {

Result<Node> NodeOf(const YAML::Node& n, const std::string& what, const std::string& where) {
  Node node;
  if (n.IsScalar()) {
    node.id = n.as<std::string>();
    return node;
  }
  ARROW_RETURN_NOT_OK(
      y::CheckKeys(n, {"node", "tag", "device", "unit", "min", "max", "table"}, what, where));
  if (!n["node"]) return y::Error(what, where, "node (the node id) is required");
  ARROW_ASSIGN_OR_RAISE(node.id, y::Text(n["node"], what, where + ".node"));
  if (n["tag"]) {
    ARROW_ASSIGN_OR_RAISE(node.tag, y::Text(n["tag"], what, where + ".tag"));
  }
  if (n["device"]) {
    ARROW_ASSIGN_OR_RAISE(node.device, y::Text(n["device"], what, where + ".device"));
  }
  ARROW_RETURN_NOT_OK(
      y::UnitLimitsTable(n, what, where, &node.unit, &node.limits, &node.table));
  return node;
}

Result<Config> Parse(const std::string& text, const std::string& what) {
  ARROW_ASSIGN_OR_RAISE(YAML::Node root, y::Parse(text, what));
  ARROW_RETURN_NOT_OK(y::CheckKeys(root,
                                   {"endpoint", "source", "table", "dead_letter_table",
                                    "raw_table", "device", "publishing_interval", "tables",
                                    "columns", "nodes", "browse"},
                                   what, "top level"));
  Config c;
  for (auto [key, field] : {std::make_pair("endpoint", &c.endpoint),
                            std::make_pair("source", &c.source), std::make_pair("table", &c.table),
                            std::make_pair("dead_letter_table", &c.dead_letter_table),
                            std::make_pair("raw_table", &c.raw_table),
                            std::make_pair("device", &c.device)}) {
    if (root[key]) {
      ARROW_ASSIGN_OR_RAISE(*field, y::Text(root[key], what, key));
    }
  }
  if (root["publishing_interval"]) {
    ARROW_ASSIGN_OR_RAISE(c.publishing_interval_ms,
                          y::DurationMs(root["publishing_interval"], what, "publishing_interval"));
  }
  ARROW_ASSIGN_OR_RAISE(c.tables, y::Tables(root["tables"], what));
  ARROW_ASSIGN_OR_RAISE(c.columns, y::Columns(root["columns"], what));
  std::set<std::string> ids;
  if (root["nodes"]) {
    if (!root["nodes"].IsSequence()) return y::Error(what, "nodes", "expected a list");
    for (size_t i = 0; i < root["nodes"].size(); ++i) {
      std::string where = "nodes[" + std::to_string(i) + "]";
      ARROW_ASSIGN_OR_RAISE(auto node, NodeOf(root["nodes"][i], what, where));
      if (node.id.empty()) return y::Error(what, where, "empty node id");
      if (!ids.insert(node.id).second) return y::Error(what, where, "node " + node.id + " twice");
      c.nodes.push_back(std::move(node));
    }
  }
  if (root["browse"]) {
    if (!root["browse"].IsSequence()) {
      return y::Error(what, "browse", "expected a list of node ids");
    }
    for (size_t i = 0; i < root["browse"].size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto id,
                            y::Text(root["browse"][i], what, "browse[" + std::to_string(i) + "]"));
      c.browse.push_back(id);
    }
  }
  if (c.nodes.empty() && c.browse.empty()) {
    return Status::Invalid(what, ": no nodes to subscribe to (nodes: or browse:)");
  }
  if (c.publishing_interval_ms < 1) {
    return y::Error(what, "publishing_interval", "must be positive");
  }
  return c;
}

}  // namespace

Result<Config> Config::FromYaml(const std::string& text, const std::string& what) {
  try {
    return Parse(text, what);
  } catch (const YAML::Exception& e) {
    return Status::Invalid(what, ": ", e.what());
  }
}

Result<Config> Config::Load(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto text, y::ReadFile(path));
  return FromYaml(text, path);
}

paimon::TableSchema OpcuaReadingsSchema() {
  paimon::TableSchema s;
  s.fields = *paimon::ParseColumns(
      "ts TIMESTAMP(6), server_ts TIMESTAMP(6), device STRING, tag STRING, node STRING, "
      "datatype STRING, value DOUBLE, value_int BIGINT, value_text STRING, quality STRING, "
      "unit STRING, ingest_ts TIMESTAMP(6)");
  return s;
}

}  // namespace opcua

namespace {

// Folders that may hold the source tree: the one the binary was built from, then the folders
// above the binary (build-x/millpond -> the repository).
std::vector<std::filesystem::path> SourceDirs() {
  std::vector<std::filesystem::path> dirs;
#ifdef MILLPOND_SOURCE_DIR
  dirs.emplace_back(MILLPOND_SOURCE_DIR);
#endif
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path().parent_path());
    dirs.push_back(exe.parent_path());
  }
  return dirs;
}

}  // namespace

Result<std::string> FindPython(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("MILLPOND_PYTHON"); env && *env) return std::string(env);
  for (const auto& dir : SourceDirs()) {
    auto p = dir / ".venv/bin/python";
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return std::string("python3");
}

Result<std::string> FindOpcuaBridge() {
  if (const char* env = std::getenv("MILLPOND_OPCUA_BRIDGE"); env && *env) {
    return std::string(env);
  }
  for (const auto& dir : SourceDirs()) {
    auto p = dir / "python/millpond_opcua/bridge.py";
    if (::access(p.c_str(), R_OK) == 0) return p.string();
  }
  return Status::IOError(
      "cannot find python/millpond_opcua/bridge.py (set $MILLPOND_OPCUA_BRIDGE)");
}

}  // namespace millpond::ingest
