// Internal to the ingest module: how RuleMapper evaluates expressions against one message (JSON
// document, topic levels, Sparkplug metrics, the tag being written). The functions keep no state;
// a Ctx lives for one message on the mapper's thread.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "millpond/ingest/mapping.h"
#include "millpond/ingest/sparkplug.h"

namespace millpond::ingest::mapping_internal {

using json = nlohmann::ordered_json;  // fields keep the order of the message

/// A JSON value as a Value (objects and arrays as their JSON text).
Value FromJson(const json& j);
/// "integer", "number", "string", ... (the datatype of a JSON tag).
const char* JsonTypeName(const json& j);
/// The column type a table created from a first message gets for this value.
paimon::DataTypePtr InferType(const json& j);
/// The value at `path` (steps from Expr), or null.
const json* WalkPath(const json* doc, const std::vector<std::string>& path);

/// One tag as a per-tag rule writes it.
struct TagValue {
  std::string name;
  Value value;
  std::string datatype;
  Value quality;
  std::string unit;
  Value ts;  // null: the message's
};

/// Everything an expression may refer to while one message is mapped.
struct Ctx {
  const SourceMessage* m = nullptr;
  const std::string* source = nullptr;
  std::vector<std::string_view> levels;
  const json* doc = nullptr;
  Value device, ts, group, node;
  const TagValue* tag = nullptr;
  const std::vector<sparkplug::ResolvedMetric>* metrics = nullptr;
  std::set<std::string>* metrics_used = nullptr;
};

Value EvalBuiltin(int builtin, int index, const Ctx& c);
Value Eval(const Expr& e, const Ctx& c);
std::vector<std::string_view> SplitLevels(const std::string& topic);
/// Leaf fields of an object as "a.b" names (non-empty objects are descended into).
void Flatten(const json& obj, const std::string& prefix,
             std::vector<std::pair<std::string, const json*>>* out);

}  // namespace millpond::ingest::mapping_internal
