// Expression evaluation for RuleMapper (mapping_eval.h).
#include "mapping_eval.h"

namespace millpond::ingest::mapping_internal {

Value FromJson(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return std::monostate{};
    case json::value_t::boolean: return j.get<bool>();
    case json::value_t::number_integer: return j.get<int64_t>();
    case json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return static_cast<double>(u);
      return static_cast<int64_t>(u);
    }
    case json::value_t::number_float: return j.get<double>();
    case json::value_t::string: return j.get<std::string>();
    default: return j.dump();
  }
}

const char* JsonTypeName(const json& j) {
  switch (j.type()) {
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    case json::value_t::string: return "string";
    case json::value_t::object: return "object";
    case json::value_t::array: return "array";
    default: return "null";
  }
}

paimon::DataTypePtr InferType(const json& j) {
  const char* t = "STRING";
  if (j.is_boolean()) t = "BOOLEAN";
  else if (j.is_number_integer()) t = "BIGINT";
  else if (j.is_number_float()) t = "DOUBLE";
  return *paimon::ParseDataType(t);
}

const json* WalkPath(const json* doc, const std::vector<std::string>& path) {
  const json* cur = doc;
  for (const auto& step : path) {
    if (!cur) return nullptr;
    if (step.size() > 2 && step.front() == '[' && step.back() == ']') {
      if (!cur->is_array()) return nullptr;
      size_t i = std::stoul(step.substr(1, step.size() - 2));
      if (i >= cur->size()) return nullptr;
      cur = &(*cur)[i];
    } else {
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(step);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    }
  }
  return cur;
}

Value EvalBuiltin(int builtin, int index, const Ctx& c) {
  const bool numeric_tag = c.tag && (std::holds_alternative<int64_t>(c.tag->value) ||
                                     std::holds_alternative<double>(c.tag->value) ||
                                     std::holds_alternative<bool>(c.tag->value));
  switch (static_cast<Builtin>(builtin)) {
    case Builtin::kTopic:
      if (index < 0) return c.m->address;
      if (static_cast<size_t>(index) < c.levels.size()) return std::string(c.levels[index]);
      return std::monostate{};
    case Builtin::kSource: return *c.source;
    case Builtin::kIngestTs:
    case Builtin::kReceivedAt: return Timestamp{c.m->received_micros};
    case Builtin::kTs:
      if (c.tag && !IsNull(c.tag->ts)) return c.tag->ts;
      return c.ts;
    case Builtin::kDevice: return c.device;
    case Builtin::kGroupId: return c.group;
    case Builtin::kEdgeNode: return c.node;
    case Builtin::kTag: return c.tag ? Value(c.tag->name) : Value();
    case Builtin::kValue: return c.tag ? c.tag->value : Value();
    case Builtin::kValueNumber: {
      if (!numeric_tag) return std::monostate{};
      if (auto* b = std::get_if<bool>(&c.tag->value)) return *b ? 1.0 : 0.0;
      if (auto* i = std::get_if<int64_t>(&c.tag->value)) return static_cast<double>(*i);
      return c.tag->value;
    }
    case Builtin::kValueInt: {
      if (!c.tag) return std::monostate{};
      if (auto* b = std::get_if<bool>(&c.tag->value)) return static_cast<int64_t>(*b ? 1 : 0);
      if (auto* i = std::get_if<int64_t>(&c.tag->value)) return *i;
      if (auto* t = std::get_if<Timestamp>(&c.tag->value)) return t->micros / 1000;
      return std::monostate{};
    }
    case Builtin::kValueText: {
      if (!c.tag || numeric_tag || IsNull(c.tag->value)) return std::monostate{};
      return ValueToString(c.tag->value);
    }
    case Builtin::kDatatype: return c.tag ? Value(c.tag->datatype) : Value();
    case Builtin::kQuality: return c.tag ? c.tag->quality : Value();
    case Builtin::kUnit:
      return c.tag && !c.tag->unit.empty() ? Value(c.tag->unit) : Value();
    case Builtin::kPayload: return c.m->payload;
  }
  return std::monostate{};
}

Value Eval(const Expr& e, const Ctx& c) {
  switch (e.kind) {
    case Expr::Kind::kLiteral: return e.literal;
    case Expr::Kind::kBuiltin: return EvalBuiltin(e.builtin, e.index, c);
    case Expr::Kind::kJsonPath: {
      const json* j = c.doc ? WalkPath(c.doc, e.path) : nullptr;
      if (j) return FromJson(*j);
      if (e.builtin >= 0) return EvalBuiltin(e.builtin, e.index, c);
      return std::monostate{};
    }
    case Expr::Kind::kMetric: {
      if (!c.metrics) return std::monostate{};
      for (const auto& m : *c.metrics) {
        if (m.name == e.name && m.error.empty()) {
          if (c.metrics_used) c.metrics_used->insert(m.name);
          return m.value;
        }
      }
      return std::monostate{};
    }
    case Expr::Kind::kTemplate: {
      std::string out;
      for (const auto& p : e.parts) {
        Value v = Eval(p, c);
        if (!IsNull(v)) out += ValueToString(v);
      }
      return out;
    }
  }
  return std::monostate{};
}

std::vector<std::string_view> SplitLevels(const std::string& topic) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = topic.find('/', start);
    if (slash == std::string::npos) {
      out.emplace_back(topic.data() + start, topic.size() - start);
      break;
    }
    out.emplace_back(topic.data() + start, slash - start);
    start = slash + 1;
  }
  return out;
}

void Flatten(const json& obj, const std::string& prefix,
             std::vector<std::pair<std::string, const json*>>* out) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    std::string name = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object() && !it->empty()) {
      Flatten(*it, name, out);
    } else {
      out->emplace_back(std::move(name), &*it);
    }
  }
}



}  // namespace millpond::ingest::mapping_internal
