// RuleMapper: JSON and Sparkplug B messages to rows by a MappingConfig.
#include <algorithm>
#include <set>

#include "mapping_eval.h"
#include "millpond/ingest/mapping.h"
#include "millpond/ingest/sparkplug.h"
#include "source_util.h"

namespace millpond::ingest {

namespace {

using namespace mapping_internal;  // NOLINT: the evaluation helpers of this file's mapper

std::string DeriveName(const std::string& table, const char* suffix) { return table + suffix; }

}  // namespace

// ---------------------------------------------------------------------------------------------

struct RuleMapper::Impl {
  MappingConfig config;
  MapperOptions options;
  TableSet* tables = nullptr;
  int dead_letter = -1;
  int raw = -1;
  int state = -1;
  int auto_table = -1;
  sparkplug::HostState host;

  // What fills each column of a table for one rule.
  struct Plan {
    std::vector<std::optional<Expr>> columns;  // per table field; nullopt: null
  };
  struct CompiledRule {
    const Rule* rule = nullptr;
    int table = -1;
    std::set<std::string> consumed;  // top-level JSON fields the rule's expressions read
  };
  std::vector<CompiledRule> rules;
  std::map<std::pair<const Rule*, int>, Plan> plans;
  std::map<std::string, int> tag_tables;

  // Rows of the message being mapped, and its errors (one dead letter per message).
  std::vector<std::string> errors;

  Result<int> TableFor(const std::string& name) {
    auto it = tag_tables.find(name);
    if (it != tag_tables.end()) return it->second;
    ARROW_ASSIGN_OR_RAISE(int h, tables->Open(name));
    tag_tables[name] = h;
    return h;
  }

  Result<int> DeadLetterTable() {
    if (dead_letter < 0) {
      ARROW_ASSIGN_OR_RAISE(dead_letter, tables->OpenOrCreate(options.dead_letter_table,
                                                              DeadLetterSchema(),
                                                              TableRole::kDeadLetter));
    }
    return dead_letter;
  }

  Result<int> RawTable() {
    if (raw < 0) {
      ARROW_ASSIGN_OR_RAISE(raw, tables->OpenOrCreate(options.raw_table, RawSchema(),
                                                      TableRole::kRaw));
    }
    return raw;
  }

  // Builds a row of `handle` by name -> value; missing names are null. For the tables we create.
  Result<Row> NamedRow(int handle, const std::vector<std::pair<const char*, Value>>& cells) {
    const auto& schema = tables->info(handle).schema;
    Row row;
    row.table = handle;
    row.values.resize(schema.fields.size());
    for (const auto& [name, v] : cells) {
      int i = schema.FieldIndex(name);
      if (i < 0) continue;
      ARROW_ASSIGN_OR_RAISE(row.values[i], CastValue(v, *schema.fields[i].type));
    }
    return row;
  }

  Status AddDeadLetter(const SourceMessage& m, const std::string& error, MapOutput* out) {
    ARROW_ASSIGN_OR_RAISE(int h, DeadLetterTable());
    ARROW_ASSIGN_OR_RAISE(auto row, NamedRow(h, {{"received_at", Timestamp{m.received_micros}},
                                                 {"source", options.source_id},
                                                 {"topic", m.address},
                                                 {"error", SanitizeUtf8(error)},
                                                 {"raw", Bytes{m.payload}}}));
    out->rows.push_back(std::move(row));
    out->dead_letters += 1;
    return Status::OK();
  }

  Status AddRaw(const SourceMessage& m, const Value& device, const std::string& tag,
                const Value& value, const std::string& reason, bool with_payload,
                MapOutput* out) {
    ARROW_ASSIGN_OR_RAISE(int h, RawTable());
    Value dev = IsNull(device) ? Value() : Value(SanitizeUtf8(ValueToString(device)));
    ARROW_ASSIGN_OR_RAISE(
        auto row, NamedRow(h, {{"received_at", Timestamp{m.received_micros}},
                               {"source", options.source_id},
                               {"topic", m.address},
                               {"device", dev},
                               {"tag", tag.empty() ? Value() : Value(SanitizeUtf8(tag))},
                               {"value", IsNull(value) ? Value()
                                                       : Value(SanitizeUtf8(ValueToString(value)))},
                               {"reason", SanitizeUtf8(reason)},
                               {"raw", with_payload ? Value(Bytes{m.payload}) : Value()}}));
    out->rows.push_back(std::move(row));
    return Status::OK();
  }

  Status FlushErrors(const SourceMessage& m, MapOutput* out) {
    if (errors.empty()) return Status::OK();
    std::string msg = errors.front();
    if (errors.size() > 1) msg += " (and " + std::to_string(errors.size() - 1) + " more)";
    errors.clear();
    return AddDeadLetter(m, msg, out);
  }

  // The plan of `rule` for table `handle`: explicit columns, then defaults by column name.
  Result<const Plan*> PlanFor(const Rule& rule, int handle, const std::string& where) {
    auto key = std::make_pair(&rule, handle);
    auto it = plans.find(key);
    if (it != plans.end()) return &it->second;
    const auto& info = tables->info(handle);
    Plan plan;
    plan.columns.resize(info.schema.fields.size());
    for (const auto& [col, expr] : rule.columns) {
      int i = info.schema.FieldIndex(col);
      if (i < 0) {
        if (rule.lenient_columns) continue;
        return Status::Invalid(where, ".columns: table ", info.name, " has no column '", col,
                               "'");
      }
      plan.columns[i] = expr;
    }
    const bool sparkplug = options.format == PayloadFormat::kSparkplug;
    for (size_t i = 0; i < plan.columns.size(); ++i) {
      if (plan.columns[i] || rule.lenient_columns) continue;
      const std::string& name = info.schema.fields[i].name;
      int builtin = BuiltinIndex(name);
      Expr e;
      if (rule.per_tag) {
        if (builtin < 0 || static_cast<Builtin>(builtin) == Builtin::kPayload) continue;
        e.kind = Expr::Kind::kBuiltin;
        e.builtin = builtin;
      } else if (sparkplug) {
        if (builtin >= 0 && static_cast<Builtin>(builtin) != Builtin::kTag &&
            static_cast<Builtin>(builtin) != Builtin::kValue) {
          e.kind = Expr::Kind::kBuiltin;
          e.builtin = builtin;
        } else {
          e.kind = Expr::Kind::kMetric;
          e.name = name;
        }
      } else {
        // JSON, one row per message: the field of the same name, else a message built-in.
        e.kind = Expr::Kind::kJsonPath;
        e.path = {name};
        static const std::set<Builtin> kMessageBuiltins = {
            Builtin::kTopic, Builtin::kSource, Builtin::kIngestTs, Builtin::kReceivedAt,
            Builtin::kTs, Builtin::kDevice};
        if (builtin >= 0 && kMessageBuiltins.count(static_cast<Builtin>(builtin))) {
          e.builtin = builtin;
        }
      }
      plan.columns[i] = std::move(e);
    }
    return &plans.emplace(key, std::move(plan)).first->second;
  }

  // Evaluates a plan into a row (cast to the column types); a failure is recorded in errors.
  void EmitRow(int handle, const Plan& plan, const Ctx& ctx, MapOutput* out) {
    const auto& schema = tables->info(handle).schema;
    Row row;
    row.table = handle;
    row.values.resize(plan.columns.size());
    for (size_t i = 0; i < plan.columns.size(); ++i) {
      Value v = plan.columns[i] ? Eval(*plan.columns[i], ctx) : Value();
      auto cast = CastValue(v, *schema.fields[i].type);
      if (!cast.ok()) {
        std::string what = ctx.tag ? " (tag " + ctx.tag->name + ")" : "";
        errors.push_back("column " + schema.fields[i].name + what + ": " +
                         cast.status().message());
        return;
      }
      row.values[i] = std::move(*cast);
    }
    out->rows.push_back(std::move(row));
  }

  const TagSpec* MatchTag(const Rule& rule, const std::string& name) const {
    for (const auto& t : rule.tags) {
      if (GlobMatches(t.pattern, name)) return &t;
    }
    return nullptr;
  }

  // One row per tag, to the rule's table or the tag's own.
  Status EmitTag(const Rule& rule, int rule_table, const std::string& where, const TagSpec& spec,
                 TagValue tv, Ctx* ctx, MapOutput* out) {
    if (!spec.rename.empty()) tv.name = spec.rename;
    if (!spec.unit.empty()) tv.unit = spec.unit;
    if (spec.type) {
      auto cast = CastValue(tv.value, *spec.type);
      if (!cast.ok()) {
        errors.push_back("tag " + tv.name + ": " + cast.status().message());
        return Status::OK();
      }
      tv.value = std::move(*cast);
    }
    int handle = rule_table;
    if (!spec.table.empty()) {
      ARROW_ASSIGN_OR_RAISE(handle, TableFor(spec.table));
    }
    ARROW_ASSIGN_OR_RAISE(const Plan* plan, PlanFor(rule, handle, where));
    ctx->tag = &tv;
    EmitRow(handle, *plan, *ctx, out);
    ctx->tag = nullptr;
    return Status::OK();
  }

  bool DeviceAllowed(const Rule& rule, const Value& device) const {
    if (rule.devices.empty()) return true;
    if (IsNull(device)) return false;
    std::string d = ValueToString(device);
    for (const auto& p : rule.devices) {
      if (GlobMatches(p, d)) return true;
    }
    return false;
  }

  Status MapJson(const SourceMessage& m, MapOutput* out);
  Status MapAutoJson(const SourceMessage& m, const json& doc, MapOutput* out);
  Status MapSparkplug(const SourceMessage& m, MapOutput* out);
};

RuleMapper::RuleMapper(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RuleMapper::~RuleMapper() = default;

Result<std::unique_ptr<RuleMapper>> RuleMapper::Make(MappingConfig config, MapperOptions options) {
  if (options.default_table.empty()) return Status::Invalid("a mapper needs a default table");
  ARROW_RETURN_NOT_OK(table::Catalog::ParseIdentifier(options.default_table).status());
  if (config.format && *config.format != options.format) {
    return Status::Invalid("the map file is for format ",
                           *config.format == PayloadFormat::kJson ? "json" : "sparkplug",
                           " but the connector reads ",
                           options.format == PayloadFormat::kJson ? "json" : "sparkplug");
  }
  auto pick = [&](std::string* opt, const std::string& from_map, const char* suffix) {
    if (!opt->empty()) return;
    *opt = from_map.empty() ? DeriveName(options.default_table, suffix) : from_map;
  };
  pick(&options.dead_letter_table, config.dead_letter_table, "__dead_letters");
  pick(&options.raw_table, config.raw_table, "__raw");
  pick(&options.state_table, config.state_table, "__device_state");
  for (const auto* t : {&options.dead_letter_table, &options.raw_table, &options.state_table}) {
    ARROW_RETURN_NOT_OK(table::Catalog::ParseIdentifier(*t).status());
  }
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  impl->options = std::move(options);
  return std::unique_ptr<RuleMapper>(new RuleMapper(std::move(impl)));
}

Status RuleMapper::Prepare(TableSet* tables) {
  Impl& s = *impl_;
  s.tables = tables;
  const bool sparkplug = s.options.format == PayloadFormat::kSparkplug;
  // Tables declared in the map are created when absent.
  for (const auto& spec : s.config.tables) {
    ARROW_ASSIGN_OR_RAISE(bool exists, tables->Exists(spec.name));
    if (exists) {
      ARROW_RETURN_NOT_OK(tables->Open(spec.name).status());
      continue;
    }
    ARROW_RETURN_NOT_OK(source_util::CreateFromSpec(tables, spec));
  }
  // Tables of earlier runs are opened now, so their committed positions are known before the
  // source numbers new messages; absent ones are created on first use.
  for (const auto& [name, role] :
       {std::make_pair(s.options.dead_letter_table, TableRole::kDeadLetter),
        std::make_pair(s.options.raw_table, TableRole::kRaw)}) {
    ARROW_ASSIGN_OR_RAISE(bool exists, tables->Exists(name));
    if (exists) {
      ARROW_ASSIGN_OR_RAISE(int h, tables->Open(name, role));
      (role == TableRole::kDeadLetter ? s.dead_letter : s.raw) = h;
    }
  }
  if (sparkplug) {
    ARROW_ASSIGN_OR_RAISE(s.state, tables->OpenOrCreate(s.options.state_table,
                                                        DeviceStateSchema(), TableRole::kState));
    if (tables->info(s.state).schema.primary_keys.empty()) {
      return Status::Invalid("state table ", s.options.state_table,
                             " must have a primary key (group_id, edge_node, device)");
    }
  }
  if (s.config.auto_json) {
    ARROW_ASSIGN_OR_RAISE(bool exists, tables->Exists(s.options.default_table));
    if (exists) {
      ARROW_ASSIGN_OR_RAISE(s.auto_table, tables->Open(s.options.default_table));
    }
    return Status::OK();
  }
  for (size_t i = 0; i < s.config.rules.size(); ++i) {
    const Rule& rule = s.config.rules[i];
    Impl::CompiledRule cr;
    cr.rule = &rule;
    std::string name = rule.table.empty() ? s.options.default_table : rule.table;
    std::string where = "rules[" + std::to_string(i) + "]";
    ARROW_ASSIGN_OR_RAISE(bool exists, tables->Exists(name));
    if (!exists && sparkplug && name == s.options.default_table) {
      ARROW_ASSIGN_OR_RAISE(cr.table, tables->OpenOrCreate(name, SparkplugReadingsSchema()));
    } else {
      auto h = tables->Open(name);
      if (!h.ok()) {
        return Status::Invalid(where, ": table ", name,
                               " does not exist (create it, or declare it under tables:)");
      }
      cr.table = *h;
    }
    for (const auto& t : rule.tags) {
      if (!t.table.empty()) ARROW_RETURN_NOT_OK(s.TableFor(t.table).status());
    }
    ARROW_RETURN_NOT_OK(s.PlanFor(rule, cr.table, where).status());
    for (const auto& t : rule.tags) {
      if (!t.table.empty()) {
        ARROW_ASSIGN_OR_RAISE(int h, s.TableFor(t.table));
        ARROW_RETURN_NOT_OK(s.PlanFor(rule, h, where).status());
      }
    }
    auto consume = [&](const Expr& e) {
      if (e.kind == Expr::Kind::kJsonPath && !e.path.empty()) cr.consumed.insert(e.path[0]);
      for (const auto& p : e.parts) {
        if (p.kind == Expr::Kind::kJsonPath && !p.path.empty()) cr.consumed.insert(p.path[0]);
      }
    };
    if (rule.device) consume(*rule.device);
    if (rule.timestamp) consume(*rule.timestamp);
    for (const auto& [col, e] : rule.columns) consume(e);
    s.rules.push_back(std::move(cr));
  }
  return Status::OK();
}

std::string RuleMapper::StateKey(const SourceMessage& m) const {
  if (impl_->options.format != PayloadFormat::kSparkplug) return {};
  auto t = sparkplug::ParseTopic(m.address);
  if (!t.ok()) return {};
  if (t->type == sparkplug::MessageType::kNBirth) return "N/" + t->group + "/" + t->node;
  if (t->type == sparkplug::MessageType::kDBirth) {
    return "D/" + t->group + "/" + t->node + "/" + t->device;
  }
  return {};
}

Status RuleMapper::Map(const SourceMessage& m, MapOutput* out) {
  impl_->errors.clear();
  if (impl_->options.format == PayloadFormat::kSparkplug) return impl_->MapSparkplug(m, out);
  return impl_->MapJson(m, out);
}

Status RuleMapper::Impl::MapJson(const SourceMessage& m, MapOutput* out) {
  json doc;
  try {
    doc = json::parse(m.payload);
  } catch (const json::exception& e) {
    return AddDeadLetter(m, std::string("malformed JSON: ") + e.what(), out);
  }
  if (config.auto_json) return MapAutoJson(m, doc, out);
  Ctx ctx;
  ctx.m = &m;
  ctx.source = &options.source_id;
  ctx.levels = SplitLevels(m.address);
  ctx.doc = &doc;
  ctx.ts = Timestamp{m.received_micros};
  const CompiledRule* match = nullptr;
  for (const auto& r : rules) {
    if (TopicMatches(r.rule->topic, m.address)) {
      match = &r;
      break;
    }
  }
  if (!match) return AddRaw(m, Value(), "", Value(), "no rule matches the topic", true, out);
  const Rule& rule = *match->rule;
  size_t rule_index = static_cast<size_t>(match - rules.data());
  std::string where = "rules[" + std::to_string(rule_index) + "]";
  if (rule.device) ctx.device = Eval(*rule.device, ctx);
  if (!DeviceAllowed(rule, ctx.device)) {
    return AddDeadLetter(m, "unknown device '" + ValueToString(ctx.device) + "'", out);
  }
  if (rule.timestamp) {
    Value tv = Eval(*rule.timestamp, ctx);
    if (IsNull(tv)) {
      errors.push_back("timestamp: no value in the message");
    } else {
      auto t = ToTimestamp(tv);
      if (!t.ok()) {
        errors.push_back("timestamp: " + t.status().message());
      } else {
        ctx.ts = *t;
      }
    }
    if (!errors.empty()) return FlushErrors(m, out);
  }
  if (rule.per_tag) {
    if (!doc.is_object()) return AddDeadLetter(m, "expected a JSON object", out);
    std::vector<std::pair<std::string, const json*>> fields;
    Flatten(doc, "", &fields);
    for (const auto& [name, j] : fields) {
      std::string top = name.substr(0, name.find('.'));
      if (match->consumed.count(top)) continue;
      const TagSpec* spec = MatchTag(rule, name);
      if (spec && spec->ignore) continue;
      if (!spec) {
        if (rule.unmapped_to_raw) {
          ARROW_RETURN_NOT_OK(AddRaw(m, ctx.device, name, FromJson(*j), "tag not mapped",
                                     false, out));
        }
        continue;
      }
      TagValue tv;
      tv.name = name;
      tv.value = FromJson(*j);
      tv.datatype = JsonTypeName(*j);
      ARROW_RETURN_NOT_OK(EmitTag(rule, match->table, where, *spec, std::move(tv), &ctx, out));
    }
    return FlushErrors(m, out);
  }
  ARROW_ASSIGN_OR_RAISE(const Plan* plan, PlanFor(rule, match->table, where));
  EmitRow(match->table, *plan, ctx, out);
  if (rule.unmapped_to_raw && doc.is_object()) {
    std::set<std::string> used = match->consumed;
    for (const auto& c : plan->columns) {
      if (c && c->kind == Expr::Kind::kJsonPath && !c->path.empty()) used.insert(c->path[0]);
    }
    std::string unmapped;
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      if (!used.count(it.key())) unmapped += (unmapped.empty() ? "" : ", ") + it.key();
    }
    if (!unmapped.empty()) {
      ARROW_RETURN_NOT_OK(AddRaw(m, ctx.device, "", Value(), "fields not mapped: " + unmapped,
                                 true, out));
    }
  }
  return FlushErrors(m, out);
}

Status RuleMapper::Impl::MapAutoJson(const SourceMessage& m, const json& doc, MapOutput* out) {
  if (!doc.is_object() || doc.empty()) {
    return AddDeadLetter(m, "expected a JSON object with at least one field", out);
  }
  if (auto_table < 0) {
    ARROW_ASSIGN_OR_RAISE(bool exists, tables->Exists(options.default_table));
    if (!exists) {
      // The table takes its columns from this first message.
      paimon::TableSchema schema;
      for (auto it = doc.begin(); it != doc.end(); ++it) {
        paimon::DataField f;
        f.name = it.key();
        f.type = InferType(*it);
        schema.fields.push_back(std::move(f));
      }
      ARROW_ASSIGN_OR_RAISE(auto_table, tables->OpenOrCreate(options.default_table, schema));
    } else {
      ARROW_ASSIGN_OR_RAISE(auto_table, tables->Open(options.default_table));
    }
  }
  const auto& schema = tables->info(auto_table).schema;
  Row row;
  row.table = auto_table;
  row.values.resize(schema.fields.size());
  std::string unmapped;
  size_t found = 0;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    int i = schema.FieldIndex(it.key());
    if (i < 0) {
      unmapped += (unmapped.empty() ? "" : ", ") + it.key();
      continue;
    }
    ++found;
    auto cast = CastValue(FromJson(*it), *schema.fields[i].type);
    if (!cast.ok()) {
      errors.push_back("column " + it.key() + ": " + cast.status().message());
      continue;
    }
    row.values[i] = std::move(*cast);
  }
  for (size_t i = 0; i < schema.fields.size() && errors.empty(); ++i) {
    if (IsNull(row.values[i]) && !schema.fields[i].type->nullable) {
      errors.push_back("column " + schema.fields[i].name + " is NOT NULL and the message has no " +
                       "value for it");
    }
  }
  if (!errors.empty()) return FlushErrors(m, out);
  if (found > 0) out->rows.push_back(std::move(row));
  if (!unmapped.empty()) {
    ARROW_RETURN_NOT_OK(AddRaw(m, Value(), "", Value(),
                               "fields not in table " + options.default_table + ": " + unmapped,
                               true, out));
  }
  return Status::OK();
}

Status RuleMapper::Impl::MapSparkplug(const SourceMessage& m, MapOutput* out) {
  auto topic = sparkplug::ParseTopic(m.address);
  if (!topic.ok()) return AddDeadLetter(m, topic.status().message(), out);
  using sparkplug::MessageType;
  if (topic->type == MessageType::kState || topic->type == MessageType::kNCmd ||
      topic->type == MessageType::kDCmd) {
    return Status::OK();  // host and command traffic: not data
  }
  auto payload = sparkplug::DecodePayload(m.payload);
  if (!payload.ok()) return AddDeadLetter(m, payload.status().message(), out);
  const int64_t received_ms = m.received_micros / 1000;
  sparkplug::Event ev = host.Process(*topic, *payload, received_ms);
  if (ev.rebirth) {
    out->commands.push_back({sparkplug::NodeCommandTopic(topic->group, topic->node),
                             sparkplug::EncodeRebirthRequest(received_ms)});
  }
  const int64_t event_ms = payload->timestamp_ms.value_or(received_ms);
  for (const auto& sc : ev.state) {
    ARROW_ASSIGN_OR_RAISE(
        auto row, NamedRow(state, {{"group_id", topic->group},
                                   {"edge_node", topic->node},
                                   {"device", sc.device},
                                   {"online", sc.online},
                                   {"event", sc.event},
                                   {"bd_seq", sc.bd_seq ? Value(*sc.bd_seq) : Value()},
                                   {"event_time", Timestamp{event_ms * 1000}},
                                   {"received_at", Timestamp{m.received_micros}}}));
    out->rows.push_back(std::move(row));
  }
  if (!ev.error.empty()) return AddDeadLetter(m, ev.error, out);
  if (ev.metrics.empty()) return Status::OK();

  Ctx ctx;
  ctx.m = &m;
  ctx.source = &options.source_id;
  ctx.levels = SplitLevels(m.address);
  ctx.group = topic->group;
  ctx.node = topic->node;
  ctx.device = topic->device.empty() ? topic->node : topic->device;
  ctx.ts = Timestamp{event_ms * 1000};
  ctx.metrics = &ev.metrics;
  const std::string device_name = ValueToString(ctx.device);
  const CompiledRule* match = nullptr;
  for (const auto& r : rules) {
    const Rule& rule = *r.rule;
    if (TopicMatches(rule.topic, m.address) && GlobMatches(rule.group, topic->group) &&
        GlobMatches(rule.node, topic->node) &&
        GlobMatches(rule.device_pattern, topic->device.empty() ? topic->node : topic->device)) {
      match = &r;
      break;
    }
  }
  if (!match) {
    for (const auto& metric : ev.metrics) {
      ARROW_RETURN_NOT_OK(AddRaw(m, ctx.device, metric.name, metric.value,
                                 "no rule matches the device", false, out));
    }
    return Status::OK();
  }
  const Rule& rule = *match->rule;
  if (!DeviceAllowed(rule, ctx.device)) {
    return AddDeadLetter(m, "unknown device '" + device_name + "'", out);
  }
  std::string where = "rules[" + std::to_string(match - rules.data()) + "]";
  if (rule.per_tag) {
    for (const auto& metric : ev.metrics) {
      if (!metric.error.empty()) {
        if (metric.unsupported) {
          ARROW_RETURN_NOT_OK(AddRaw(m, ctx.device, metric.name, Value(), metric.error, false,
                                     out));
        } else {
          errors.push_back((metric.name.empty() ? std::string("metric") : "metric " + metric.name) +
                           ": " + metric.error);
        }
        continue;
      }
      if (metric.name == "bdSeq" || metric.name == sparkplug::kRebirthMetric) continue;
      const TagSpec* spec = MatchTag(rule, metric.name);
      if (spec && spec->ignore) continue;
      if (!spec) {
        if (rule.unmapped_to_raw) {
          ARROW_RETURN_NOT_OK(AddRaw(m, ctx.device, metric.name, metric.value, "tag not mapped",
                                     false, out));
        }
        continue;
      }
      TagValue tv;
      tv.name = metric.name;
      tv.value = metric.value;
      tv.datatype = sparkplug::DataTypeName(metric.datatype);
      tv.quality = metric.quality ? Value(*metric.quality) : Value();
      tv.unit = metric.unit;
      tv.ts = Timestamp{metric.timestamp_ms * 1000};
      ARROW_RETURN_NOT_OK(EmitTag(rule, match->table, where, *spec, std::move(tv), &ctx, out));
    }
    return FlushErrors(m, out);
  }
  std::set<std::string> used;
  ctx.metrics_used = &used;
  ARROW_ASSIGN_OR_RAISE(const Plan* plan, PlanFor(rule, match->table, where));
  EmitRow(match->table, *plan, ctx, out);
  for (const auto& metric : ev.metrics) {
    if (!metric.error.empty() && !metric.unsupported) {
      errors.push_back("metric " + metric.name + ": " + metric.error);
    } else if (!used.count(metric.name) && rule.unmapped_to_raw && metric.name != "bdSeq") {
      ARROW_RETURN_NOT_OK(AddRaw(m, ctx.device, metric.name, metric.value,
                                 metric.unsupported ? metric.error : "metric not mapped", false,
                                 out));
    }
  }
  return FlushErrors(m, out);
}

}  // namespace millpond::ingest
