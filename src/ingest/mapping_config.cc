// MappingConfig: the YAML map file, expressions, topic filters and the default mappings.
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "millpond/ingest/mapping.h"
#include "millpond/paimon/schema.h"

namespace millpond::ingest {

Result<PayloadFormat> ParsePayloadFormat(const std::string& text) {
  if (text == "json") return PayloadFormat::kJson;
  if (text == "sparkplug" || text == "sparkplug_b" || text == "spb") {
    return PayloadFormat::kSparkplug;
  }
  return Status::Invalid("format must be json or sparkplug, not '", text, "'");
}

bool TopicMatches(const std::string& filter, const std::string& topic) {
  size_t f = 0, t = 0;
  while (f < filter.size()) {
    size_t fe = filter.find('/', f);
    if (fe == std::string::npos) fe = filter.size();
    std::string_view level(filter.data() + f, fe - f);
    if (level == "#") return true;
    if (t > topic.size()) return false;
    size_t te = topic.find('/', t);
    if (te == std::string::npos) te = topic.size();
    if (level != "+" && level != std::string_view(topic.data() + t, te - t)) return false;
    f = fe + 1;
    t = te + 1;
    if (fe == filter.size()) return te == topic.size();
  }
  return t > topic.size();
}

bool GlobMatches(const std::string& pattern, const std::string& text) {
  size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

Result<std::vector<std::string>> ParseJsonPath(const std::string& text) {
  // "$" then (".key" | "[N]" | "['key']")*
  std::vector<std::string> steps;
  size_t i = 1;
  while (i < text.size()) {
    if (text[i] == '.') {
      size_t j = i + 1;
      while (j < text.size() && text[j] != '.' && text[j] != '[') ++j;
      if (j == i + 1) return Status::Invalid("empty key in JSON path '", text, "'");
      steps.push_back(text.substr(i + 1, j - i - 1));
      i = j;
    } else if (text[i] == '[') {
      size_t j = text.find(']', i);
      if (j == std::string::npos) return Status::Invalid("unclosed [ in JSON path '", text, "'");
      std::string inner = text.substr(i + 1, j - i - 1);
      if (inner.size() >= 2 && (inner.front() == '\'' || inner.front() == '"') &&
          inner.back() == inner.front()) {
        steps.push_back(inner.substr(1, inner.size() - 2));
      } else {
        if (inner.empty() || inner.find_first_not_of("0123456789") != std::string::npos) {
          return Status::Invalid("bad index [", inner, "] in JSON path '", text, "'");
        }
        steps.push_back("[" + inner + "]");
      }
      i = j + 1;
    } else {
      return Status::Invalid("bad JSON path '", text, "' (use $.a.b[0])");
    }
  }
  return steps;
}

const char* const kBuiltinNames[] = {
    "topic", "source",       "ingest_ts", "received_at", "ts",       "device",  "group_id",
    "edge_node", "tag",      "value",     "value_number", "value_int", "value_text", "datatype",
    "quality",   "unit",     "payload"};

// The inside of ${...}.
Result<Expr> ParseReference(const std::string& inner, const std::string& whole) {
  Expr e;
  if (!inner.empty() && inner[0] == '$') {
    e.kind = Expr::Kind::kJsonPath;
    ARROW_ASSIGN_OR_RAISE(e.path, ParseJsonPath(inner));
    return e;
  }
  if (inner.rfind("metric:", 0) == 0) {
    e.kind = Expr::Kind::kMetric;
    e.name = inner.substr(7);
    if (e.name.empty()) return Status::Invalid("empty metric name in '", whole, "'");
    return e;
  }
  e.kind = Expr::Kind::kBuiltin;
  std::string name = inner;
  size_t lb = name.find('[');
  if (lb != std::string::npos) {
    if (name.substr(0, lb) != "topic" || name.back() != ']') {
      return Status::Invalid("unknown reference '${", inner, "}' in '", whole, "'");
    }
    std::string idx = name.substr(lb + 1, name.size() - lb - 2);
    if (idx.empty() || idx.find_first_not_of("0123456789") != std::string::npos) {
      return Status::Invalid("bad topic level '${", inner, "}' in '", whole, "'");
    }
    e.index = std::stoi(idx);
    name = "topic";
  }
  e.builtin = BuiltinIndex(name);
  if (e.builtin < 0) {
    std::string known;
    for (const char* b : kBuiltinNames) known += (known.empty() ? "" : ", ") + std::string(b);
    return Status::Invalid("unknown reference '${", inner, "}' in '", whole, "' (known: ", known,
                           ", topic[N], metric:NAME, $.json.path)");
  }
  e.name = name;
  return e;
}

}  // namespace

int BuiltinIndex(const std::string& name) {
  for (size_t i = 0; i < sizeof(kBuiltinNames) / sizeof(kBuiltinNames[0]); ++i) {
    if (name == kBuiltinNames[i]) return static_cast<int>(i);
  }
  return -1;
}

Result<Expr> Expr::Parse(const std::string& text, bool plain) {
  Expr e;
  if (text == "$" || text.rfind("$.", 0) == 0 || text.rfind("$[", 0) == 0) {
    e.kind = Kind::kJsonPath;
    ARROW_ASSIGN_OR_RAISE(e.path, ParseJsonPath(text));
    return e;
  }
  if (text.find("${") == std::string::npos) {
    e.kind = Kind::kLiteral;
    e.literal = text;
    if (plain) {
      if (text == "true" || text == "false") {
        e.literal = text == "true";
      } else if (!text.empty()) {
        try {
          size_t used = 0;
          long long i = std::stoll(text, &used);
          if (used == text.size()) {
            e.literal = static_cast<int64_t>(i);
          } else {
            double d = std::stod(text, &used);
            if (used == text.size()) e.literal = d;
          }
        } catch (...) {
        }
      }
    }
    return e;
  }
  std::vector<Expr> parts;
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find("${", i);
    if (open == std::string::npos) {
      Expr lit;
      lit.literal = text.substr(i);
      parts.push_back(std::move(lit));
      break;
    }
    if (open > i) {
      Expr lit;
      lit.literal = text.substr(i, open - i);
      parts.push_back(std::move(lit));
    }
    size_t close = text.find('}', open);
    if (close == std::string::npos) return Status::Invalid("unclosed ${ in '", text, "'");
    ARROW_ASSIGN_OR_RAISE(auto ref, ParseReference(text.substr(open + 2, close - open - 2), text));
    parts.push_back(std::move(ref));
    i = close + 1;
  }
  if (parts.size() == 1) return parts[0];
  e.kind = Kind::kTemplate;
  e.parts = std::move(parts);
  return e;
}

// ---------------------------------------------------------------------------------------------
// YAML

namespace {

class YamlError {
 public:
  explicit YamlError(std::string what) : what_(std::move(what)) {}
  Status operator()(const std::string& where, const std::string& msg) const {
    return Status::Invalid(what_, ": ", where, ": ", msg);
  }

 private:
  std::string what_;
};

Status CheckKeys(const YAML::Node& node, const std::set<std::string>& allowed,
                 const std::string& where, const YamlError& err) {
  if (!node.IsMap()) return err(where, "expected a mapping");
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      std::string known;
      for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
      return err(where, "unknown key '" + key + "' (known: " + known + ")");
    }
  }
  return Status::OK();
}

Result<std::string> Scalar(const YAML::Node& n, const std::string& where, const YamlError& err) {
  if (!n.IsScalar()) return err(where, "expected a text value");
  return n.as<std::string>();
}

Result<Expr> ExprOf(const YAML::Node& n, const std::string& where, const YamlError& err) {
  if (!n.IsScalar()) return err(where, "expected an expression");
  auto e = Expr::Parse(n.as<std::string>(), n.Tag() == "?");
  if (!e.ok()) return err(where, e.status().message());
  return e;
}

Result<TagSpec> TagOf(const std::string& pattern, const YAML::Node& v, const std::string& where,
                      const YamlError& err) {
  TagSpec t;
  t.pattern = pattern;
  if (!v || v.IsNull()) return t;
  if (v.IsScalar()) {
    std::string s = v.as<std::string>();
    if (s == "ignore") {
      t.ignore = true;
    } else {
      t.rename = s;
    }
    return t;
  }
  ARROW_RETURN_NOT_OK(CheckKeys(v, {"tag", "unit", "type", "table", "ignore"}, where, err));
  if (v["tag"]) {
    ARROW_ASSIGN_OR_RAISE(t.rename, Scalar(v["tag"], where + ".tag", err));
  }
  if (v["unit"]) {
    ARROW_ASSIGN_OR_RAISE(t.unit, Scalar(v["unit"], where + ".unit", err));
  }
  if (v["table"]) {
    ARROW_ASSIGN_OR_RAISE(t.table, Scalar(v["table"], where + ".table", err));
  }
  if (v["ignore"]) t.ignore = v["ignore"].as<bool>();
  if (v["type"]) {
    ARROW_ASSIGN_OR_RAISE(auto text, Scalar(v["type"], where + ".type", err));
    auto type = paimon::ParseDataType(text);
    if (!type.ok()) return err(where + ".type", type.status().message());
    if (!IngestibleType(**type)) return err(where + ".type", "cannot ingest type " + text);
    t.type = *type;
  }
  return t;
}

Result<Rule> RuleOf(const YAML::Node& n, const std::string& where, const YamlError& err) {
  ARROW_RETURN_NOT_OK(CheckKeys(n,
                                {"topic", "group", "node", "device_id", "devices", "table",
                                 "device", "timestamp", "tags", "columns", "unmapped"},
                                where, err));
  Rule r;
  if (n["topic"]) {
    ARROW_ASSIGN_OR_RAISE(r.topic, Scalar(n["topic"], where + ".topic", err));
  }
  if (n["group"]) {
    ARROW_ASSIGN_OR_RAISE(r.group, Scalar(n["group"], where + ".group", err));
  }
  if (n["node"]) {
    ARROW_ASSIGN_OR_RAISE(r.node, Scalar(n["node"], where + ".node", err));
  }
  if (n["device_id"]) {
    ARROW_ASSIGN_OR_RAISE(r.device_pattern, Scalar(n["device_id"], where + ".device_id", err));
  }
  if (n["devices"]) {
    if (!n["devices"].IsSequence()) return err(where + ".devices", "expected a list of patterns");
    for (const auto& d : n["devices"]) {
      ARROW_ASSIGN_OR_RAISE(auto s, Scalar(d, where + ".devices", err));
      r.devices.push_back(s);
    }
  }
  if (n["table"]) {
    ARROW_ASSIGN_OR_RAISE(r.table, Scalar(n["table"], where + ".table", err));
  }
  if (n["device"]) {
    ARROW_ASSIGN_OR_RAISE(r.device, ExprOf(n["device"], where + ".device", err));
  }
  if (n["timestamp"]) {
    ARROW_ASSIGN_OR_RAISE(r.timestamp, ExprOf(n["timestamp"], where + ".timestamp", err));
  }
  if (n["unmapped"]) {
    ARROW_ASSIGN_OR_RAISE(auto u, Scalar(n["unmapped"], where + ".unmapped", err));
    if (u != "raw" && u != "ignore") return err(where + ".unmapped", "must be raw or ignore");
    r.unmapped_to_raw = u == "raw";
  }
  if (const auto& tags = n["tags"]) {
    r.per_tag = true;
    if (tags.IsScalar()) {
      r.tags.push_back({tags.as<std::string>(), "", "", nullptr, "", false});
    } else if (tags.IsSequence()) {
      for (const auto& t : tags) {
        ARROW_ASSIGN_OR_RAISE(auto s, Scalar(t, where + ".tags", err));
        r.tags.push_back({s, "", "", nullptr, "", false});
      }
    } else if (tags.IsMap()) {
      for (const auto& kv : tags) {
        std::string pattern = kv.first.as<std::string>();
        ARROW_ASSIGN_OR_RAISE(auto t, TagOf(pattern, kv.second, where + ".tags." + pattern, err));
        r.tags.push_back(std::move(t));
      }
    } else {
      return err(where + ".tags", "expected a pattern, a list or a mapping");
    }
  }
  if (const auto& cols = n["columns"]) {
    if (!cols.IsMap()) return err(where + ".columns", "expected a mapping column: expression");
    for (const auto& kv : cols) {
      std::string col = kv.first.as<std::string>();
      ARROW_ASSIGN_OR_RAISE(auto e, ExprOf(kv.second, where + ".columns." + col, err));
      r.columns.emplace_back(col, std::move(e));
    }
  }
  return r;
}

}  // namespace

Result<MappingConfig> MappingConfig::FromYaml(const std::string& text, const std::string& what) {
  YamlError err(what);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::Invalid(what, ": not valid YAML: ", e.what());
  }
  MappingConfig c;
  try {
    if (!root || root.IsNull()) return err("top level", "the file is empty");
    ARROW_RETURN_NOT_OK(CheckKeys(root,
                                  {"source", "format", "dead_letter_table", "raw_table",
                                   "state_table", "tables", "rules"},
                                  "top level", err));
    if (root["source"]) {
      ARROW_ASSIGN_OR_RAISE(c.source, Scalar(root["source"], "source", err));
    }
    if (root["format"]) {
      ARROW_ASSIGN_OR_RAISE(auto f, Scalar(root["format"], "format", err));
      auto pf = ParsePayloadFormat(f);
      if (!pf.ok()) return err("format", pf.status().message());
      c.format = *pf;
    }
    if (root["dead_letter_table"]) {
      ARROW_ASSIGN_OR_RAISE(c.dead_letter_table,
                            Scalar(root["dead_letter_table"], "dead_letter_table", err));
    }
    if (root["raw_table"]) {
      ARROW_ASSIGN_OR_RAISE(c.raw_table, Scalar(root["raw_table"], "raw_table", err));
    }
    if (root["state_table"]) {
      ARROW_ASSIGN_OR_RAISE(c.state_table, Scalar(root["state_table"], "state_table", err));
    }
    if (const auto& tables = root["tables"]) {
      if (!tables.IsMap()) return err("tables", "expected a mapping DB.TABLE: {columns: ...}");
      for (const auto& kv : tables) {
        TableSpec t;
        t.name = kv.first.as<std::string>();
        std::string where = "tables." + t.name;
        const auto& v = kv.second;
        if (v && !v.IsNull()) {
          ARROW_RETURN_NOT_OK(
              CheckKeys(v, {"columns", "partition", "primary_key", "options"}, where, err));
          if (v["columns"]) {
            ARROW_ASSIGN_OR_RAISE(t.columns, Scalar(v["columns"], where + ".columns", err));
            auto parsed = paimon::ParseColumns(t.columns);
            if (!parsed.ok()) return err(where + ".columns", parsed.status().message());
          }
          if (v["partition"]) {
            ARROW_ASSIGN_OR_RAISE(t.partition, Scalar(v["partition"], where + ".partition", err));
          }
          if (v["primary_key"]) {
            ARROW_ASSIGN_OR_RAISE(t.primary_key,
                                  Scalar(v["primary_key"], where + ".primary_key", err));
          }
          if (const auto& o = v["options"]) {
            if (!o.IsMap()) return err(where + ".options", "expected a mapping");
            for (const auto& okv : o) t.options[okv.first.as<std::string>()] =
                okv.second.as<std::string>();
          }
        }
        c.tables.push_back(std::move(t));
      }
    }
    const auto& rules = root["rules"];
    if (!rules) return err("rules", "missing (a map file needs at least one rule)");
    if (!rules.IsSequence() || rules.size() == 0) return err("rules", "expected a list of rules");
    for (size_t i = 0; i < rules.size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto r, RuleOf(rules[i], "rules[" + std::to_string(i) + "]", err));
      c.rules.push_back(std::move(r));
    }
  } catch (const YAML::Exception& e) {
    return Status::Invalid(what, ": ", e.what());
  }
  return c;
}

Result<MappingConfig> MappingConfig::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot read map file ", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return FromYaml(ss.str(), path);
}

MappingConfig MappingConfig::Default(PayloadFormat format) {
  MappingConfig c;
  c.format = format;
  Rule r;
  if (format == PayloadFormat::kJson) {
    c.auto_json = true;
  } else {
    r.per_tag = true;
    r.tags.push_back({"*", "", "", nullptr, "", false});
    auto col = [&](const char* name, const char* expr) {
      r.columns.emplace_back(name, *Expr::Parse(expr));
    };
    col("ts", "${ts}");
    col("group_id", "${group_id}");
    col("edge_node", "${edge_node}");
    col("device", "${device}");
    col("tag", "${tag}");
    col("datatype", "${datatype}");
    col("value", "${value_number}");
    col("value_int", "${value_int}");
    col("value_text", "${value_text}");
    col("quality", "${quality}");
    col("unit", "${unit}");
    col("ingest_ts", "${ingest_ts}");
    r.lenient_columns = true;
  }
  c.rules.push_back(std::move(r));
  return c;
}

// ---------------------------------------------------------------------------------------------
// Schemas of the tables the mapper creates

namespace {
paimon::TableSchema SchemaOf(const char* columns) {
  paimon::TableSchema s;
  s.fields = *paimon::ParseColumns(columns);
  return s;
}
}  // namespace

paimon::TableSchema DeadLetterSchema() {
  return SchemaOf(
      "received_at TIMESTAMP(3), source STRING, topic STRING, error STRING, raw BYTES");
}

paimon::TableSchema RawSchema() {
  return SchemaOf(
      "received_at TIMESTAMP(3), source STRING, topic STRING, device STRING, tag STRING, "
      "value STRING, reason STRING, raw BYTES");
}

paimon::TableSchema DeviceStateSchema() {
  auto s = SchemaOf(
      "group_id STRING NOT NULL, edge_node STRING NOT NULL, device STRING NOT NULL, "
      "online BOOLEAN, event STRING, bd_seq BIGINT, event_time TIMESTAMP(3), "
      "received_at TIMESTAMP(3)");
  s.primary_keys = {"group_id", "edge_node", "device"};
  s.options["bucket"] = "1";
  return s;
}

paimon::TableSchema SparkplugReadingsSchema() {
  return SchemaOf(
      "ts TIMESTAMP(3), group_id STRING, edge_node STRING, device STRING, tag STRING, "
      "datatype STRING, value DOUBLE, value_int BIGINT, value_text STRING, quality INT, "
      "unit STRING, ingest_ts TIMESTAMP(3)");
}

}  // namespace millpond::ingest
