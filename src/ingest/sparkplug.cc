// Sparkplug B topics, payloads and host state.
#include "millpond/ingest/sparkplug.h"

#include <limits>

#include "sparkplug_b.pb.h"

namespace millpond::ingest::sparkplug {

namespace pb = millpond::sparkplug;

const char* MessageTypeName(MessageType t) {
  switch (t) {
    case MessageType::kNBirth: return "NBIRTH";
    case MessageType::kNDeath: return "NDEATH";
    case MessageType::kDBirth: return "DBIRTH";
    case MessageType::kDDeath: return "DDEATH";
    case MessageType::kNData: return "NDATA";
    case MessageType::kDData: return "DDATA";
    case MessageType::kNCmd: return "NCMD";
    case MessageType::kDCmd: return "DCMD";
    case MessageType::kState: return "STATE";
  }
  return "?";
}

Result<Topic> ParseTopic(std::string_view topic) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t slash = topic.find('/', start);
    parts.push_back(topic.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  auto bad = [&](const char* why) {
    return Status::Invalid("not a Sparkplug B topic (", why, "): ", std::string(topic));
  };
  if (parts.empty() || parts[0] != kNamespace) return bad("namespace is not spBv1.0");
  Topic t;
  if (parts.size() == 3 && parts[1] == "STATE") {
    t.type = MessageType::kState;
    t.node = std::string(parts[2]);
    return t;
  }
  if (parts.size() != 4 && parts.size() != 5) return bad("wrong number of levels");
  for (const auto& p : parts) {
    if (p.empty()) return bad("empty level");
  }
  static const std::pair<const char*, MessageType> kTypes[] = {
      {"NBIRTH", MessageType::kNBirth}, {"NDEATH", MessageType::kNDeath},
      {"DBIRTH", MessageType::kDBirth}, {"DDEATH", MessageType::kDDeath},
      {"NDATA", MessageType::kNData},   {"DDATA", MessageType::kDData},
      {"NCMD", MessageType::kNCmd},     {"DCMD", MessageType::kDCmd}};
  bool found = false;
  for (const auto& [name, type] : kTypes) {
    if (parts[2] == name) {
      t.type = type;
      found = true;
    }
  }
  if (!found) return bad("unknown message type");
  const bool device_type = t.type == MessageType::kDBirth || t.type == MessageType::kDDeath ||
                           t.type == MessageType::kDData || t.type == MessageType::kDCmd;
  if (device_type != (parts.size() == 5)) return bad("device level does not fit the type");
  t.group = std::string(parts[1]);
  t.node = std::string(parts[3]);
  if (parts.size() == 5) t.device = std::string(parts[4]);
  return t;
}

std::string NodeCommandTopic(const std::string& group, const std::string& node) {
  return std::string(kNamespace) + "/" + group + "/NCMD/" + node;
}

std::string StateTopic(const std::string& host_id) {
  return std::string(kNamespace) + "/STATE/" + host_id;
}

std::string StatePayload(bool online, int64_t timestamp_ms) {
  return std::string("{\"online\":") + (online ? "true" : "false") +
         ",\"timestamp\":" + std::to_string(timestamp_ms) + "}";
}

std::string DataTypeName(uint32_t datatype) {
  static const char* kNames[] = {"Unknown",  "Int8",     "Int16",    "Int32",   "Int64",
                                 "UInt8",    "UInt16",   "UInt32",   "UInt64",  "Float",
                                 "Double",   "Boolean",  "String",   "DateTime", "Text",
                                 "UUID",     "DataSet",  "Bytes",    "File",    "Template",
                                 "PropertySet", "PropertySetList"};
  if (datatype < sizeof(kNames) / sizeof(kNames[0])) return kNames[datatype];
  return "Unknown(" + std::to_string(datatype) + ")";
}

Result<Value> DecodeValue(const RawValue& raw, uint32_t datatype) {
  using K = RawValue::Kind;
  auto mismatch = [&]() {
    return Status::Invalid("a ", DataTypeName(datatype), " metric carries no fitting value");
  };
  const bool integral = raw.kind == K::kInt || raw.kind == K::kLong;
  switch (datatype) {
    case kInt8:
      if (!integral) return mismatch();
      return Value(static_cast<int64_t>(static_cast<int8_t>(static_cast<uint8_t>(raw.bits))));
    case kInt16:
      if (!integral) return mismatch();
      return Value(static_cast<int64_t>(static_cast<int16_t>(static_cast<uint16_t>(raw.bits))));
    case kInt32:
      if (!integral) return mismatch();
      return Value(static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(raw.bits))));
    case kInt64:
      if (!integral) return mismatch();
      return Value(static_cast<int64_t>(raw.bits));
    case kUInt8:
      if (!integral) return mismatch();
      return Value(static_cast<int64_t>(static_cast<uint8_t>(raw.bits)));
    case kUInt16:
      if (!integral) return mismatch();
      return Value(static_cast<int64_t>(static_cast<uint16_t>(raw.bits)));
    case kUInt32:
      if (!integral) return mismatch();
      return Value(static_cast<int64_t>(static_cast<uint32_t>(raw.bits)));
    case kUInt64:
      if (!integral) return mismatch();
      if (raw.bits > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Value(static_cast<double>(raw.bits));
      }
      return Value(static_cast<int64_t>(raw.bits));
    case kFloat:
    case kDouble:
      if (raw.kind == K::kFloat || raw.kind == K::kDouble) return Value(raw.real);
      return mismatch();
    case kBoolean:
      if (raw.kind != K::kBool) return mismatch();
      return Value(raw.bits != 0);
    case kString:
    case kText:
    case kUUID:
      if (raw.kind != K::kString) return mismatch();
      return Value(raw.text);
    case kDateTime:
      if (!integral) return mismatch();
      return Value(Timestamp{static_cast<int64_t>(raw.bits) * 1000});
    case kBytes:
    case kFile:
      if (raw.kind != K::kBytes) return mismatch();
      return Value(Bytes{raw.text});
    default:
      return Status::NotImplemented("Sparkplug datatype ", DataTypeName(datatype),
                                    " has no column mapping");
  }
}

namespace {

RawValue RawOf(const pb::Payload::Metric& m) {
  RawValue v;
  using K = RawValue::Kind;
  switch (m.value_case()) {
    case pb::Payload::Metric::kIntValue: v.kind = K::kInt; v.bits = m.int_value(); break;
    case pb::Payload::Metric::kLongValue: v.kind = K::kLong; v.bits = m.long_value(); break;
    case pb::Payload::Metric::kFloatValue: v.kind = K::kFloat; v.real = m.float_value(); break;
    case pb::Payload::Metric::kDoubleValue: v.kind = K::kDouble; v.real = m.double_value(); break;
    case pb::Payload::Metric::kBooleanValue:
      v.kind = K::kBool;
      v.bits = m.boolean_value() ? 1 : 0;
      break;
    case pb::Payload::Metric::kStringValue: v.kind = K::kString; v.text = m.string_value(); break;
    case pb::Payload::Metric::kBytesValue: v.kind = K::kBytes; v.text = m.bytes_value(); break;
    case pb::Payload::Metric::VALUE_NOT_SET: v.kind = K::kNone; break;
    default: v.kind = K::kComplex; break;
  }
  return v;
}

}  // namespace

Result<Payload> DecodePayload(std::string_view bytes) {
  pb::Payload p;
  if (!p.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::Invalid("not a Sparkplug B payload (protobuf does not parse)");
  }
  Payload out;
  if (p.has_timestamp()) out.timestamp_ms = static_cast<int64_t>(p.timestamp());
  if (p.has_seq()) out.seq = p.seq();
  out.metrics.reserve(static_cast<size_t>(p.metrics_size()));
  for (const auto& m : p.metrics()) {
    Metric metric;
    metric.name = m.name();
    if (m.has_alias()) metric.alias = m.alias();
    if (m.has_datatype()) metric.datatype = m.datatype();
    if (m.has_timestamp()) metric.timestamp_ms = static_cast<int64_t>(m.timestamp());
    metric.is_null = m.is_null();
    metric.is_historical = m.is_historical();
    metric.value = RawOf(m);
    if (m.has_properties()) {
      const auto& ps = m.properties();
      for (int i = 0; i < ps.keys_size() && i < ps.values_size(); ++i) {
        const auto& key = ps.keys(i);
        const auto& pv = ps.values(i);
        if (pv.is_null()) continue;
        if (key == "Quality" || key == "quality") {
          if (pv.has_int_value()) {
            metric.quality = static_cast<int64_t>(static_cast<int32_t>(pv.int_value()));
          } else if (pv.has_long_value()) {
            metric.quality = static_cast<int64_t>(pv.long_value());
          }
        } else if ((key == "engUnit" || key == "EngUnit" || key == "engUnits" || key == "unit" ||
                    key == "Units" || key == "units") &&
                   pv.has_string_value()) {
          metric.unit = pv.string_value();
        }
      }
    }
    out.metrics.push_back(std::move(metric));
  }
  return out;
}

std::string EncodeRebirthRequest(int64_t timestamp_ms) {
  pb::Payload p;
  p.set_timestamp(static_cast<uint64_t>(timestamp_ms));
  auto* m = p.add_metrics();
  m->set_name(kRebirthMetric);
  m->set_timestamp(static_cast<uint64_t>(timestamp_ms));
  m->set_datatype(kBoolean);
  m->set_boolean_value(true);
  return p.SerializeAsString();
}

// ---------------------------------------------------------------------------------------------
// HostState

bool HostState::Online(const std::string& group, const std::string& node,
                       const std::string& device) const {
  auto it = nodes_.find(group + '/' + node);
  if (it == nodes_.end() || !it->second.born) return false;
  if (device.empty()) return true;
  auto d = it->second.devices.find(device);
  return d != it->second.devices.end() && d->second.born;
}

void HostState::RequestRebirth(Node* node, const std::string& reason, int64_t received_ms,
                               Event* out) {
  if (node->last_rebirth_ms >= 0 && received_ms - node->last_rebirth_ms < kRebirthBackoffMs) {
    return;  // asked recently; the birth is on its way
  }
  node->last_rebirth_ms = received_ms;
  out->rebirth = true;
  out->rebirth_reason = reason;
}

void HostState::CheckSeq(Node* node, const Payload& payload, Event* out) {
  if (!payload.seq) return;
  uint64_t seq = *payload.seq;
  if (node->last_seq && seq != (*node->last_seq + 1) % 256) {
    out->rebirth_reason = "sequence gap: expected " + std::to_string((*node->last_seq + 1) % 256) +
                          ", got " + std::to_string(seq);
    out->rebirth = true;
  }
  node->last_seq = seq;
}

void HostState::Register(Node* node, Device* device, const Payload& payload) {
  for (const auto& m : payload.metrics) {
    if (m.name.empty()) continue;
    MetricDef def{m.name, m.datatype.value_or(kUnknown), m.unit};
    if (m.alias) node->by_alias[*m.alias] = def;
    (device ? device->by_name : node->by_name)[m.name] = def;
  }
}

void HostState::Resolve(const Node& node, const Device* device, const Payload& payload,
                        int64_t received_ms, bool birth, Event* out) const {
  for (const auto& m : payload.metrics) {
    ResolvedMetric r;
    r.timestamp_ms = m.timestamp_ms.value_or(payload.timestamp_ms.value_or(received_ms));
    r.quality = m.quality;
    r.historical = m.is_historical;
    const MetricDef* def = nullptr;
    if (m.alias) {
      auto it = node.by_alias.find(*m.alias);
      if (it != node.by_alias.end()) def = &it->second;
    }
    if (!def && !m.name.empty()) {
      const auto& names = device ? device->by_name : node.by_name;
      auto it = names.find(m.name);
      if (it != names.end()) def = &it->second;
    }
    if (!def && !birth) {
      r.name = m.name;
      r.error = m.alias && m.name.empty() ? "unknown alias " + std::to_string(*m.alias)
                                          : "metric '" + m.name + "' is not in the birth";
      out->metrics.push_back(std::move(r));
      continue;
    }
    r.name = !m.name.empty() ? m.name : def->name;
    r.datatype = m.datatype.value_or(def ? def->datatype : kUnknown);
    r.unit = !m.unit.empty() ? m.unit : (def ? def->unit : std::string());
    if (m.is_null || m.value.kind == RawValue::Kind::kNone) {
      r.value = std::monostate{};
    } else {
      auto v = DecodeValue(m.value, r.datatype);
      if (v.ok()) {
        r.value = std::move(*v);
      } else {
        r.unsupported = v.status().IsNotImplemented();
        r.error = v.status().message();
      }
    }
    out->metrics.push_back(std::move(r));
  }
}

Event HostState::Process(const Topic& topic, const Payload& payload, int64_t received_ms) {
  Event out;
  if (topic.type == MessageType::kNCmd || topic.type == MessageType::kDCmd ||
      topic.type == MessageType::kState) {
    return out;
  }
  Node& node = nodes_[topic.group + '/' + topic.node];
  auto bd_seq_of = [&]() -> std::optional<int64_t> {
    for (const auto& m : payload.metrics) {
      if (m.name == "bdSeq" && (m.value.kind == RawValue::Kind::kLong ||
                                m.value.kind == RawValue::Kind::kInt)) {
        return static_cast<int64_t>(m.value.bits);
      }
    }
    return std::nullopt;
  };
  const std::string node_name = topic.group + "/" + topic.node;
  switch (topic.type) {
    case MessageType::kNBirth: {
      node = Node{};
      node.born = true;
      node.bd_seq = bd_seq_of();
      node.last_seq = payload.seq;
      Register(&node, nullptr, payload);
      Resolve(node, nullptr, payload, received_ms, /*birth=*/true, &out);
      out.state.push_back({"", true, "NBIRTH", node.bd_seq});
      return out;
    }
    case MessageType::kNDeath: {
      auto bd = bd_seq_of();
      if (node.born && node.bd_seq && bd && *bd != *node.bd_seq) return out;  // a stale death
      node.born = false;
      node.last_seq.reset();
      out.state.push_back({"", false, "NDEATH", bd});
      for (auto& [name, d] : node.devices) {
        if (d.born) out.state.push_back({name, false, "NDEATH", bd});
        d.born = false;
      }
      return out;
    }
    default:
      break;
  }
  if (!node.born) {
    out.error = "unknown edge node " + node_name + " (no NBIRTH)";
    if (!topic.device.empty()) {
      out.error = "unknown device " + node_name + "/" + topic.device + " (no NBIRTH)";
    }
    RequestRebirth(&node, "data before NBIRTH", received_ms, &out);
    return out;
  }
  CheckSeq(&node, payload, &out);
  bool gap = out.rebirth;
  std::string gap_reason = out.rebirth_reason;
  out.rebirth = false;
  switch (topic.type) {
    case MessageType::kDBirth: {
      Device& d = node.devices[topic.device];
      d = Device{};
      d.born = true;
      Register(&node, &d, payload);
      Resolve(node, &d, payload, received_ms, /*birth=*/true, &out);
      out.state.push_back({topic.device, true, "DBIRTH", node.bd_seq});
      break;
    }
    case MessageType::kDDeath: {
      auto it = node.devices.find(topic.device);
      if (it != node.devices.end()) it->second.born = false;
      out.state.push_back({topic.device, false, "DDEATH", node.bd_seq});
      break;
    }
    case MessageType::kNData:
      Resolve(node, nullptr, payload, received_ms, /*birth=*/false, &out);
      break;
    case MessageType::kDData: {
      auto it = node.devices.find(topic.device);
      if (it == node.devices.end() || !it->second.born) {
        out.error = "unknown device " + node_name + "/" + topic.device + " (no DBIRTH)";
        RequestRebirth(&node, "data before DBIRTH", received_ms, &out);
        return out;
      }
      Resolve(node, &it->second, payload, received_ms, /*birth=*/false, &out);
      break;
    }
    default:
      break;
  }
  if (gap) RequestRebirth(&node, gap_reason, received_ms, &out);
  for (const auto& m : out.metrics) {
    if (!m.error.empty() && !m.unsupported) {
      RequestRebirth(&node, m.error, received_ms, &out);
      break;
    }
  }
  return out;
}

}  // namespace millpond::ingest::sparkplug
