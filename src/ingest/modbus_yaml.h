// YAML helpers shared by the Modbus map and the OPC UA nodes file (private to src/ingest).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "millpond/common/status.h"
#include "millpond/ingest/mapping.h"
#include "millpond/ingest/modbus_rows.h"

namespace millpond::ingest::yaml_util {

/// Errors read "<what>: <where>: <message>".
Status Error(const std::string& what, const std::string& where, const std::string& msg);
/// Refuses keys outside `allowed`.
Status CheckKeys(const YAML::Node& node, const std::set<std::string>& allowed,
                 const std::string& what, const std::string& where);
Result<std::string> Text(const YAML::Node& n, const std::string& what, const std::string& where);
Result<int64_t> Integer(const YAML::Node& n, const std::string& what, const std::string& where);
Result<double> Number(const YAML::Node& n, const std::string& what, const std::string& where);
/// A duration ("500ms", "2s", plain numbers are ms).
Result<int64_t> DurationMs(const YAML::Node& n, const std::string& what, const std::string& where);
/// The `tables:` list: name, columns, partition, primary_key, options.
Result<std::vector<TableSpec>> Tables(const YAML::Node& n, const std::string& what);
/// The `columns:` mapping: table column -> tag field name (checked).
Result<std::map<std::string, std::string>> Columns(const YAML::Node& n, const std::string& what);
/// The optional `unit`, `min`, `max` and `table` keys of a tag or node (absent keys leave the
/// outputs as they are).
Status UnitLimitsTable(const YAML::Node& n, const std::string& what, const std::string& where,
                       std::string* unit, TagLimits* limits, std::string* table);
/// Parses the text of a YAML file, the error naming `what`.
Result<YAML::Node> Parse(const std::string& text, const std::string& what);
/// Reads a whole file.
Result<std::string> ReadFile(const std::string& path);

}  // namespace millpond::ingest::yaml_util
