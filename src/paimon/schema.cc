// TableSchema JSON codec.
#include "millpond/paimon/schema.h"

#include <algorithm>
#include <functional>

#include <nlohmann/json.hpp>

namespace millpond::paimon {

Status AssignFieldIds(TableSchema* schema) {
  std::vector<std::string> seen;
  int32_t id = 0;
  for (auto& f : schema->fields) {
    if (f.name.empty()) return Status::Invalid("empty column name");
    if (std::find(seen.begin(), seen.end(), f.name) != seen.end()) {
      return Status::Invalid("duplicate column '", f.name, "'");
    }
    seen.push_back(f.name);
    f.id = id++;
  }
  std::function<void(DataTypePtr&)> assign = [&](DataTypePtr& t) {
    if (!t) return;
    auto copy = std::make_shared<DataType>(*t);
    for (auto& f : copy->fields) {
      f.id = id++;
      assign(f.type);
    }
    assign(copy->element);
    assign(copy->key);
    assign(copy->value);
    t = copy;
  };
  for (auto& f : schema->fields) assign(f.type);
  schema->highest_field_id = id - 1;
  return Status::OK();
}

Result<std::vector<DataField>> ParseColumns(const std::string& spec) {
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  for (char c : spec) {
    if (c == '<' || c == '(') ++depth;
    if (c == '>' || c == ')') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  std::vector<DataField> fields;
  for (auto& p : parts) {
    size_t b = p.find_first_not_of(" \t\n");
    if (b == std::string::npos) continue;
    p = p.substr(b);
    std::string name;
    size_t i = 0;
    if (p[0] == '`' || p[0] == '"') {
      size_t e = p.find(p[0], 1);
      if (e == std::string::npos) return Status::Invalid("--schema: unterminated quoted name in '", p, "'");
      name = p.substr(1, e - 1);
      i = e + 1;
    } else {
      while (i < p.size() && !std::isspace(static_cast<unsigned char>(p[i]))) ++i;
      name = p.substr(0, i);
    }
    std::string type_text = p.substr(i);
    if (type_text.find_first_not_of(" \t\n") == std::string::npos) {
      return Status::Invalid("--schema: column '", name, "' has no type");
    }
    auto type = ParseDataType(type_text);
    if (!type.ok()) return Status::Invalid("--schema: column '", name, "': ", type.status().message());
    DataField f;
    f.name = name;
    f.type = *type;
    fields.push_back(std::move(f));
  }
  if (fields.empty()) return Status::Invalid("--schema: no columns given");
  return fields;
}

std::vector<std::string> SplitNames(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    size_t b = cur.find_first_not_of(" \t");
    size_t e = cur.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(cur.substr(b, e - b + 1));
    cur.clear();
  };
  for (char c : text) {
    if (c == ',') {
      flush();
    } else {
      cur += c;
    }
  }
  flush();
  return out;
}

Result<TableSchema> TableSchema::FromJson(const std::string& text, const std::string& what) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Invalid("schema ", what, ": not valid JSON");
  }
  if (!j.contains("fields") || !j["fields"].is_array() || !j.contains("id")) {
    return Status::Invalid("schema ", what, ": missing id or fields");
  }
  TableSchema s;
  s.version = j.value("version", 1);
  if (!j["id"].is_number_integer()) return Status::Invalid("schema ", what, ": bad id");
  s.id = j["id"].get<int64_t>();
  for (const auto& fj : j["fields"]) {
    auto f = DataFieldFromJson(fj);
    if (!f.ok()) return Status::Invalid("schema ", what, ": ", f.status().message());
    s.fields.push_back(std::move(*f));
  }
  s.highest_field_id = j.value("highestFieldId", -1);
  auto strings = [&](const char* key, std::vector<std::string>* out) -> Status {
    if (!j.contains(key)) return Status::OK();
    if (!j[key].is_array()) return Status::Invalid("schema ", what, ": ", key, " is not a list");
    for (const auto& v : j[key]) {
      if (!v.is_string()) return Status::Invalid("schema ", what, ": bad ", key);
      out->push_back(v.get<std::string>());
    }
    return Status::OK();
  };
  ARROW_RETURN_NOT_OK(strings("partitionKeys", &s.partition_keys));
  ARROW_RETURN_NOT_OK(strings("primaryKeys", &s.primary_keys));
  if (j.contains("options") && j["options"].is_object()) {
    for (auto it = j["options"].begin(); it != j["options"].end(); ++it) {
      s.options[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    }
  }
  if (j.contains("comment") && j["comment"].is_string()) s.comment = j["comment"].get<std::string>();
  s.time_millis = j.value("timeMillis", int64_t{0});
  return s;
}

std::string TableSchema::ToJson() const {
  nlohmann::ordered_json j;
  j["version"] = version;
  j["id"] = id;
  nlohmann::ordered_json fields_json = nlohmann::ordered_json::array();
  for (const auto& f : fields) fields_json.push_back(nlohmann::ordered_json::parse(DataFieldToJson(f).dump()));
  j["fields"] = fields_json;
  j["highestFieldId"] = highest_field_id;
  j["partitionKeys"] = partition_keys;
  j["primaryKeys"] = primary_keys;
  nlohmann::ordered_json opts = nlohmann::ordered_json::object();
  for (const auto& [k, v] : options) opts[k] = v;
  j["options"] = opts;
  if (comment) j["comment"] = *comment;
  j["timeMillis"] = time_millis;
  return j.dump(2);
}

int TableSchema::FieldIndex(const std::string& name) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int TableSchema::FieldIndexById(int32_t fid) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].id == fid) return static_cast<int>(i);
  }
  return -1;
}

std::string TableSchema::Option(const std::string& key, const std::string& dflt) const {
  auto it = options.find(key);
  return it == options.end() ? dflt : it->second;
}

int32_t TableSchema::NumBuckets() const {
  std::string b = Option("bucket", "-1");
  try {
    return std::stoi(b);
  } catch (...) {
    return -1;
  }
}

std::vector<std::string> TableSchema::BucketKeys() const {
  std::string bk = Option("bucket-key", "");
  if (!bk.empty()) return SplitNames(bk);
  std::vector<std::string> out;
  for (const auto& pk : primary_keys) {
    bool is_partition = false;
    for (const auto& p : partition_keys) is_partition |= p == pk;
    if (!is_partition) out.push_back(pk);
  }
  return out;
}

std::vector<DataField> TableSchema::DataFields() const { return fields; }

}  // namespace millpond::paimon
