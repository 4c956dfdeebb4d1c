// TagRows: tag samples to rows, dead letters and raw rows (Modbus and OPC UA).
#include "millpond/ingest/modbus_rows.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "millpond/paimon/schema.h"
#include "millpond/table/catalog.h"
#include "millpond/table/maintenance.h"
#include "modbus_yaml.h"
#include "source_util.h"

namespace millpond::ingest {

namespace {

struct FieldName {
  const char* name;
  TagField field;
};
constexpr FieldName kFieldNames[] = {
    {"ts", TagField::kTs},           {"source_ts", TagField::kTs},
    {"server_ts", TagField::kServerTs}, {"ingest_ts", TagField::kIngestTs},
    {"received_at", TagField::kIngestTs}, {"device", TagField::kDevice},
    {"tag", TagField::kTag},         {"address", TagField::kAddress},
    {"node", TagField::kAddress},    {"value", TagField::kValue},
    {"value_int", TagField::kValueInt}, {"value_text", TagField::kValueText},
    {"datatype", TagField::kDatatype}, {"quality", TagField::kQuality},
    {"unit", TagField::kUnit},       {"poll", TagField::kPoll},
    {"source", TagField::kSource}};

bool IsNumericType(const paimon::DataType& t) {
  using paimon::TypeRoot;
  switch (t.root) {
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt:
    case TypeRoot::kInt:
    case TypeRoot::kBigInt:
    case TypeRoot::kFloat:
    case TypeRoot::kDouble:
    case TypeRoot::kDecimal:
    case TypeRoot::kBoolean: return true;
    default: return false;
  }
}

std::optional<double> NumberOf(const Value& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* b = std::get_if<bool>(&v)) return *b ? 1.0 : 0.0;
  return std::nullopt;
}

}  // namespace

TagField TagFieldByName(const std::string& name) {
  for (const auto& f : kFieldNames) {
    if (name == f.name) return f.field;
  }
  return TagField::kNone;
}

Result<std::unique_ptr<TagRows>> TagRows::Make(TagRowsOptions options) {
  if (options.default_table.empty()) {
    return Status::Invalid("no target table (--table, or table: in the map file)");
  }
  ARROW_RETURN_NOT_OK(table::Catalog::ParseIdentifier(options.default_table).status());
  if (options.dead_letter_table.empty()) {
    options.dead_letter_table = options.default_table + "__dead_letters";
  }
  if (options.raw_table.empty()) options.raw_table = options.default_table + "__raw";
  for (const auto* t : {&options.dead_letter_table, &options.raw_table}) {
    ARROW_RETURN_NOT_OK(table::Catalog::ParseIdentifier(*t).status());
  }
  for (const auto& [col, field] : options.columns) {
    if (TagFieldByName(field) == TagField::kNone) {
      std::string known;
      for (const auto& f : kFieldNames) known += (known.empty() ? "" : ", ") + std::string(f.name);
      return Status::Invalid("columns: ", col, ": unknown field '", field, "' (known: ", known,
                             ")");
    }
  }
  return std::unique_ptr<TagRows>(new TagRows(std::move(options)));
}

Status TagRows::Prepare(TableSet* tables) {
  tables_ = tables;
  for (const auto& spec : options_.tables) {
    ARROW_ASSIGN_OR_RAISE(bool exists, tables->Exists(spec.name));
    if (!exists) {
      ARROW_RETURN_NOT_OK(source_util::CreateFromSpec(tables, spec));
    }
    ARROW_RETURN_NOT_OK(Table(spec.name).status());
  }
  ARROW_ASSIGN_OR_RAISE(bool exists, tables->Exists(options_.default_table));
  if (!exists) {
    ARROW_RETURN_NOT_OK(
        tables->OpenOrCreate(options_.default_table, options_.default_schema).status());
  }
  ARROW_RETURN_NOT_OK(Table("").status());
  // Tables of earlier runs are opened now, so their committed positions count before the source
  // numbers new messages; absent ones are created on first use.
  for (const auto& [name, role] :
       {std::make_pair(options_.dead_letter_table, TableRole::kDeadLetter),
        std::make_pair(options_.raw_table, TableRole::kRaw)}) {
    ARROW_ASSIGN_OR_RAISE(bool e, tables->Exists(name));
    if (e) {
      ARROW_ASSIGN_OR_RAISE(int h, tables->Open(name, role));
      (role == TableRole::kDeadLetter ? dead_letter_ : raw_) = h;
    }
  }
  return Status::OK();
}

Result<int> TagRows::Table(const std::string& name) {
  const std::string& n = name.empty() ? options_.default_table : name;
  auto it = handles_.find(n);
  if (it != handles_.end()) return it->second;
  auto h = tables_->Open(n);
  if (!h.ok()) {
    if (h.status().IsKeyError() || h.status().IsIOError()) {
      return Status::Invalid("table ", n,
                             " does not exist (create it, or declare it under tables:)");
    }
    return h.status();
  }
  handles_[n] = *h;
  ARROW_RETURN_NOT_OK(Plan(*h).status());
  return *h;
}

Result<const std::vector<TagField>*> TagRows::Plan(int handle) {
  auto it = plans_.find(handle);
  if (it != plans_.end()) return &it->second;
  const auto& info = tables_->info(handle);
  std::vector<TagField> plan;
  for (const auto& f : info.schema.fields) {
    auto c = options_.columns.find(f.name);
    TagField field = TagFieldByName(c != options_.columns.end() ? c->second : f.name);
    if (field == TagField::kNone && !f.type->nullable) {
      return Status::Invalid("table ", info.name, ": column ", f.name,
                             " is NOT NULL and no tag field fills it (map it under columns:)");
    }
    plan.push_back(field);
  }
  return &plans_.emplace(handle, std::move(plan)).first->second;
}

Status TagRows::Emit(int handle, const TagSample& s, const TagLimits& limits,
                     const SourceMessage& m, MapOutput* out) {
  auto num = NumberOf(s.value);
  if (num && ((limits.min && *num < *limits.min) || (limits.max && *num > *limits.max))) {
    std::ostringstream msg;
    msg << "device " << s.device << " tag " << s.tag << ": value " << ValueToString(s.value)
        << " outside [" << (limits.min ? ValueToString(*limits.min) : "-inf") << ", "
        << (limits.max ? ValueToString(*limits.max) : "inf") << "]";
    return DeadLetter(m, msg.str(), ValueToString(s.value), out);
  }
  if (num && std::isnan(*num) && std::holds_alternative<double>(s.value)) {
    return DeadLetter(m, "device " + s.device + " tag " + s.tag + ": value is NaN", "NaN", out);
  }
  ARROW_ASSIGN_OR_RAISE(const auto* plan, Plan(handle));
  const auto& schema = tables_->info(handle).schema;
  bool has_text = false;
  for (TagField f : *plan) has_text |= f == TagField::kValueText;
  Row row;
  row.table = handle;
  row.values.resize(plan->size());
  for (size_t i = 0; i < plan->size(); ++i) {
    const auto& type = *schema.fields[i].type;
    Value v;
    switch ((*plan)[i]) {
      case TagField::kNone: break;
      case TagField::kTs: v = s.ts; break;
      case TagField::kServerTs: v = s.server_ts; break;
      case TagField::kIngestTs: v = Timestamp{m.received_micros}; break;
      case TagField::kDevice: v = s.device; break;
      case TagField::kTag: v = s.tag; break;
      case TagField::kAddress: v = s.address.empty() ? Value() : Value(s.address); break;
      case TagField::kValue:
        v = s.value;
        // Text goes to value_text when the table has one and `value` is numeric.
        if (has_text && std::holds_alternative<std::string>(v) && IsNumericType(type)) v = Value();
        break;
      case TagField::kValueInt:
        if (auto* b = std::get_if<bool>(&s.value)) v = static_cast<int64_t>(*b ? 1 : 0);
        if (std::holds_alternative<int64_t>(s.value)) v = s.value;
        break;
      case TagField::kValueText:
        if (std::holds_alternative<std::string>(s.value)) v = s.value;
        break;
      case TagField::kDatatype: v = s.datatype.empty() ? Value() : Value(s.datatype); break;
      case TagField::kQuality: v = s.quality.empty() ? Value() : Value(s.quality); break;
      case TagField::kUnit: v = s.unit.empty() ? Value() : Value(s.unit); break;
      case TagField::kPoll: v = s.poll; break;
      case TagField::kSource: v = options_.source_id; break;
    }
    auto cast = CastValue(v, type);
    if (!cast.ok()) {
      return DeadLetter(m,
                        "device " + s.device + " tag " + s.tag + ": column " +
                            schema.fields[i].name + ": " + cast.status().message(),
                        ValueToString(s.value), out);
    }
    row.values[i] = std::move(*cast);
  }
  out->rows.push_back(std::move(row));
  return Status::OK();
}

namespace {
Result<Row> NamedRow(const TableInfo& info, int handle,
                     const std::vector<std::pair<const char*, Value>>& cells) {
  Row row;
  row.table = handle;
  row.values.resize(info.schema.fields.size());
  for (const auto& [name, v] : cells) {
    int i = info.schema.FieldIndex(name);
    if (i < 0) continue;
    ARROW_ASSIGN_OR_RAISE(row.values[i], CastValue(v, *info.schema.fields[i].type));
  }
  return row;
}
}  // namespace

Status TagRows::DeadLetter(const SourceMessage& m, const std::string& error,
                           const std::string& raw, MapOutput* out) {
  if (dead_letter_ < 0) {
    ARROW_ASSIGN_OR_RAISE(dead_letter_,
                          tables_->OpenOrCreate(options_.dead_letter_table, DeadLetterSchema(),
                                                TableRole::kDeadLetter));
  }
  ARROW_ASSIGN_OR_RAISE(auto row, NamedRow(tables_->info(dead_letter_), dead_letter_,
                                           {{"received_at", Timestamp{m.received_micros}},
                                            {"source", options_.source_id},
                                            {"topic", SanitizeUtf8(m.address)},
                                            {"error", SanitizeUtf8(error)},
                                            {"raw", Bytes{raw}}}));
  out->rows.push_back(std::move(row));
  out->dead_letters += 1;
  return Status::OK();
}

Status TagRows::Raw(const SourceMessage& m, const std::string& device, const std::string& tag,
                    const std::string& value, const std::string& reason, const std::string& raw,
                    MapOutput* out) {
  if (raw_ < 0) {
    ARROW_ASSIGN_OR_RAISE(raw_, tables_->OpenOrCreate(options_.raw_table, RawSchema(),
                                                      TableRole::kRaw));
  }
  ARROW_ASSIGN_OR_RAISE(
      auto row, NamedRow(tables_->info(raw_), raw_,
                         {{"received_at", Timestamp{m.received_micros}},
                          {"source", options_.source_id},
                          {"topic", SanitizeUtf8(m.address)},
                          {"device", SanitizeUtf8(device)},
                          {"tag", tag.empty() ? Value() : Value(SanitizeUtf8(tag))},
                          {"value", SanitizeUtf8(value)},
                          {"reason", reason},
                          {"raw", raw.empty() ? Value() : Value(Bytes{raw})}}));
  out->rows.push_back(std::move(row));
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------

namespace yaml_util {

Status Error(const std::string& what, const std::string& where, const std::string& msg) {
  return Status::Invalid(what, ": ", where, ": ", msg);
}

Status CheckKeys(const YAML::Node& node, const std::set<std::string>& allowed,
                 const std::string& what, const std::string& where) {
  if (!node.IsMap()) return Error(what, where, "expected a mapping");
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      std::string known;
      for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
      return Error(what, where, "unknown key '" + key + "' (known: " + known + ")");
    }
  }
  return Status::OK();
}

Result<std::string> Text(const YAML::Node& n, const std::string& what, const std::string& where) {
  if (!n.IsScalar()) return Error(what, where, "expected a text value");
  return n.as<std::string>();
}

Result<int64_t> Integer(const YAML::Node& n, const std::string& what, const std::string& where) {
  ARROW_ASSIGN_OR_RAISE(auto s, Text(n, what, where));
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used, 0);
    if (used == s.size()) return static_cast<int64_t>(v);
  } catch (...) {
  }
  return Error(what, where, "expected an integer, not '" + s + "'");
}

Result<double> Number(const YAML::Node& n, const std::string& what, const std::string& where) {
  ARROW_ASSIGN_OR_RAISE(auto s, Text(n, what, where));
  try {
    size_t used = 0;
    double v = std::stod(s, &used);
    if (used == s.size()) return v;
  } catch (...) {
  }
  return Error(what, where, "expected a number, not '" + s + "'");
}

Result<int64_t> DurationMs(const YAML::Node& n, const std::string& what,
                           const std::string& where) {
  ARROW_ASSIGN_OR_RAISE(auto s, Text(n, what, where));
  auto d = table::ParseDurationMillis(s);
  if (!d.ok()) return Error(what, where, d.status().message());
  return *d;
}

Result<std::vector<TableSpec>> Tables(const YAML::Node& n, const std::string& what) {
  std::vector<TableSpec> out;
  if (!n) return out;
  if (!n.IsSequence()) return Error(what, "tables", "expected a list");
  for (size_t i = 0; i < n.size(); ++i) {
    std::string where = "tables[" + std::to_string(i) + "]";
    const YAML::Node& t = n[i];
    ARROW_RETURN_NOT_OK(
        CheckKeys(t, {"name", "columns", "partition", "primary_key", "options"}, what, where));
    TableSpec spec;
    if (!t["name"]) return Error(what, where, "name is required");
    ARROW_ASSIGN_OR_RAISE(spec.name, Text(t["name"], what, where + ".name"));
    auto id = table::Catalog::ParseIdentifier(spec.name);
    if (!id.ok()) return Error(what, where + ".name", id.status().message());
    if (t["columns"]) {
      ARROW_ASSIGN_OR_RAISE(spec.columns, Text(t["columns"], what, where + ".columns"));
      auto cols = paimon::ParseColumns(spec.columns);
      if (!cols.ok()) return Error(what, where + ".columns", cols.status().message());
    }
    if (t["partition"]) {
      ARROW_ASSIGN_OR_RAISE(spec.partition, Text(t["partition"], what, where + ".partition"));
    }
    if (t["primary_key"]) {
      ARROW_ASSIGN_OR_RAISE(spec.primary_key,
                            Text(t["primary_key"], what, where + ".primary_key"));
    }
    if (t["options"]) {
      if (!t["options"].IsMap()) return Error(what, where + ".options", "expected a mapping");
      for (const auto& kv : t["options"]) {
        spec.options[kv.first.as<std::string>()] = kv.second.as<std::string>();
      }
    }
    out.push_back(std::move(spec));
  }
  return out;
}

Result<std::map<std::string, std::string>> Columns(const YAML::Node& n, const std::string& what) {
  std::map<std::string, std::string> out;
  if (!n) return out;
  if (!n.IsMap()) return Error(what, "columns", "expected a mapping of column: field");
  for (const auto& kv : n) {
    std::string col = kv.first.as<std::string>();
    ARROW_ASSIGN_OR_RAISE(auto field, Text(kv.second, what, "columns." + col));
    if (TagFieldByName(field) == TagField::kNone) {
      return Error(what, "columns." + col, "unknown field '" + field + "'");
    }
    out[col] = field;
  }
  return out;
}

Status UnitLimitsTable(const YAML::Node& n, const std::string& what, const std::string& where,
                       std::string* unit, TagLimits* limits, std::string* table) {
  if (n["unit"]) {
    ARROW_ASSIGN_OR_RAISE(*unit, Text(n["unit"], what, where + ".unit"));
  }
  if (n["min"]) {
    ARROW_ASSIGN_OR_RAISE(limits->min, Number(n["min"], what, where + ".min"));
  }
  if (n["max"]) {
    ARROW_ASSIGN_OR_RAISE(limits->max, Number(n["max"], what, where + ".max"));
  }
  if (n["table"]) {
    ARROW_ASSIGN_OR_RAISE(*table, Text(n["table"], what, where + ".table"));
  }
  return Status::OK();
}

Result<YAML::Node> Parse(const std::string& text, const std::string& what) {
  try {
    YAML::Node n = YAML::Load(text);
    if (!n.IsMap()) return Status::Invalid(what, ": expected a YAML mapping at the top");
    return n;
  } catch (const YAML::Exception& e) {
    return Status::Invalid(what, ": not valid YAML: ", e.what());
  }
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read ", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace yaml_util

}  // namespace millpond::ingest
