// The Modbus map file and read planning.
#include "millpond/ingest/modbus_config.h"

#include <algorithm>
#include <set>

#include "modbus_yaml.h"

namespace millpond::ingest::modbus {

namespace y = yaml_util;

namespace {

constexpr int kMaxRegistersPerRead = 125;  // Modbus: read holding/input registers
constexpr int kMaxBitsPerRead = 2000;      // Modbus: read coils/discrete inputs

Result<Tag> TagOf(const YAML::Node& n, const std::string& what, const std::string& where) {
  ARROW_RETURN_NOT_OK(y::CheckKeys(n,
                                   {"name", "area", "register", "address", "type", "byte_order",
                                    "word_order", "order", "scale", "offset", "unit", "min",
                                    "max", "table"},
                                   what, where));
  Tag t;
  if (!n["name"]) return y::Error(what, where, "name is required");
  ARROW_ASSIGN_OR_RAISE(t.name, y::Text(n["name"], what, where + ".name"));
  if (t.name.empty()) return y::Error(what, where + ".name", "must not be empty");
  const YAML::Node area = n["area"] ? n["area"] : n["register"];
  if (area) {
    ARROW_ASSIGN_OR_RAISE(auto text, y::Text(area, what, where + ".area"));
    auto a = ParseArea(text);
    if (!a.ok()) return y::Error(what, where + ".area", a.status().message());
    t.area = *a;
  }
  if (!n["address"]) return y::Error(what, where, "address is required");
  ARROW_ASSIGN_OR_RAISE(int64_t addr, y::Integer(n["address"], what, where + ".address"));
  if (addr < 0 || addr > 65535) {
    return y::Error(what, where + ".address", "must be 0..65535, not " + std::to_string(addr));
  }
  t.address = static_cast<int>(addr);
  t.format.type = IsBitArea(t.area) ? DataType::kBool : DataType::kUint16;
  if (n["type"]) {
    ARROW_ASSIGN_OR_RAISE(auto text, y::Text(n["type"], what, where + ".type"));
    auto ty = ParseDataType(text);
    if (!ty.ok()) return y::Error(what, where + ".type", ty.status().message());
    if (IsBitArea(t.area) && *ty != DataType::kBool) {
      return y::Error(what, where + ".type",
                      std::string(AreaName(t.area)) + "s hold one bit: the type is bool");
    }
    t.format.type = *ty;
  }
  if (n["order"]) {
    ARROW_ASSIGN_OR_RAISE(auto text, y::Text(n["order"], what, where + ".order"));
    Status st = ParseByteOrder(text, &t.format);
    if (!st.ok()) return y::Error(what, where + ".order", st.message());
  }
  if (n["byte_order"]) {
    ARROW_ASSIGN_OR_RAISE(auto text, y::Text(n["byte_order"], what, where + ".byte_order"));
    Status st = ParseEndianness(text, "byte_order", &t.format.byte_swap);
    if (!st.ok()) return y::Error(what, where + ".byte_order", st.message());
  }
  if (n["word_order"]) {
    ARROW_ASSIGN_OR_RAISE(auto text, y::Text(n["word_order"], what, where + ".word_order"));
    Status st = ParseEndianness(text, "word_order", &t.format.word_swap);
    if (!st.ok()) return y::Error(what, where + ".word_order", st.message());
  }
  if (n["scale"]) {
    ARROW_ASSIGN_OR_RAISE(t.format.scale, y::Number(n["scale"], what, where + ".scale"));
  }
  if (n["offset"]) {
    ARROW_ASSIGN_OR_RAISE(t.format.offset, y::Number(n["offset"], what, where + ".offset"));
  }
  ARROW_RETURN_NOT_OK(
      y::UnitLimitsTable(n, what, where, &t.unit, &t.limits, &t.table));
  if (t.address + RegisterCount(t.format.type) > 65536) {
    return y::Error(what, where, "register range ends past 65535");
  }
  return t;
}

Result<std::vector<Tag>> TagsOf(const YAML::Node& n, const std::string& what,
                                const std::string& where) {
  std::vector<Tag> out;
  if (!n.IsSequence()) return y::Error(what, where, "expected a list of tags");
  std::set<std::string> names;
  for (size_t i = 0; i < n.size(); ++i) {
    std::string w = where + "[" + std::to_string(i) + "]";
    ARROW_ASSIGN_OR_RAISE(auto t, TagOf(n[i], what, w));
    if (!names.insert(t.name).second) return y::Error(what, w, "duplicate tag name " + t.name);
    out.push_back(std::move(t));
  }
  return out;
}

Result<RawRange> RawOf(const YAML::Node& n, const std::string& what, const std::string& where) {
  ARROW_RETURN_NOT_OK(y::CheckKeys(n, {"area", "address", "count"}, what, where));
  RawRange r;
  if (n["area"]) {
    ARROW_ASSIGN_OR_RAISE(auto text, y::Text(n["area"], what, where + ".area"));
    auto a = ParseArea(text);
    if (!a.ok()) return y::Error(what, where + ".area", a.status().message());
    r.area = *a;
  }
  if (!n["address"]) return y::Error(what, where, "address is required");
  ARROW_ASSIGN_OR_RAISE(int64_t addr, y::Integer(n["address"], what, where + ".address"));
  int64_t count = 1;
  if (n["count"]) {
    ARROW_ASSIGN_OR_RAISE(count, y::Integer(n["count"], what, where + ".count"));
  }
  const int limit = IsBitArea(r.area) ? kMaxBitsPerRead : kMaxRegistersPerRead;
  if (addr < 0 || count < 1 || count > limit || addr + count > 65536) {
    return y::Error(what, where, "address/count out of range (count 1.." + std::to_string(limit) +
                                     ", within 0..65535)");
  }
  r.address = static_cast<int>(addr);
  r.count = static_cast<int>(count);
  return r;
}

Result<Device> DeviceOf(const YAML::Node& n, const std::string& what, const std::string& where) {
  ARROW_RETURN_NOT_OK(y::CheckKeys(
      n, {"name", "address", "host", "port", "unit_id", "interval", "tags", "raw"}, what, where));
  Device d;
  if (n["address"]) {
    ARROW_ASSIGN_OR_RAISE(auto text, y::Text(n["address"], what, where + ".address"));
    Status st = ParseHostPort(text, &d.host, &d.port);
    if (!st.ok()) return y::Error(what, where + ".address", st.message());
  }
  if (n["host"]) {
    ARROW_ASSIGN_OR_RAISE(d.host, y::Text(n["host"], what, where + ".host"));
  }
  if (n["port"]) {
    ARROW_ASSIGN_OR_RAISE(int64_t port, y::Integer(n["port"], what, where + ".port"));
    if (port < 1 || port > 65535) return y::Error(what, where + ".port", "must be 1..65535");
    d.port = static_cast<int>(port);
  }
  if (d.host.empty()) return y::Error(what, where, "address (HOST:PORT) is required");
  d.name = d.host + ":" + std::to_string(d.port);
  if (n["name"]) {
    ARROW_ASSIGN_OR_RAISE(d.name, y::Text(n["name"], what, where + ".name"));
  }
  if (n["unit_id"]) {
    ARROW_ASSIGN_OR_RAISE(int64_t u, y::Integer(n["unit_id"], what, where + ".unit_id"));
    if (u < 0 || u > 255) return y::Error(what, where + ".unit_id", "must be 0..255");
    d.unit_id = static_cast<int>(u);
  }
  if (n["interval"]) {
    ARROW_ASSIGN_OR_RAISE(d.interval_ms, y::DurationMs(n["interval"], what, where + ".interval"));
  }
  if (n["tags"]) {
    ARROW_ASSIGN_OR_RAISE(d.tags, TagsOf(n["tags"], what, where + ".tags"));
  }
  if (n["raw"]) {
    if (!n["raw"].IsSequence()) return y::Error(what, where + ".raw", "expected a list");
    for (size_t i = 0; i < n["raw"].size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto r,
                            RawOf(n["raw"][i], what, where + ".raw[" + std::to_string(i) + "]"));
      d.raw.push_back(r);
    }
  }
  return d;
}

Result<Config> Parse(const std::string& text, const std::string& what) {
  ARROW_ASSIGN_OR_RAISE(YAML::Node root, y::Parse(text, what));
  ARROW_RETURN_NOT_OK(y::CheckKeys(root,
                                   {"source", "table", "dead_letter_table", "raw_table",
                                    "interval", "timeout", "max_gap", "tables", "columns", "tags",
                                    "devices"},
                                   what, "top level"));
  Config c;
  if (root["source"]) {
    ARROW_ASSIGN_OR_RAISE(c.source, y::Text(root["source"], what, "source"));
  }
  if (root["table"]) {
    ARROW_ASSIGN_OR_RAISE(c.table, y::Text(root["table"], what, "table"));
  }
  if (root["dead_letter_table"]) {
    ARROW_ASSIGN_OR_RAISE(c.dead_letter_table,
                          y::Text(root["dead_letter_table"], what, "dead_letter_table"));
  }
  if (root["raw_table"]) {
    ARROW_ASSIGN_OR_RAISE(c.raw_table, y::Text(root["raw_table"], what, "raw_table"));
  }
  if (root["interval"]) {
    ARROW_ASSIGN_OR_RAISE(c.interval_ms, y::DurationMs(root["interval"], what, "interval"));
  }
  if (root["timeout"]) {
    ARROW_ASSIGN_OR_RAISE(c.timeout_ms, y::DurationMs(root["timeout"], what, "timeout"));
  }
  if (root["max_gap"]) {
    ARROW_ASSIGN_OR_RAISE(int64_t g, y::Integer(root["max_gap"], what, "max_gap"));
    if (g < 0 || g > 100) return y::Error(what, "max_gap", "must be 0..100");
    c.max_gap = static_cast<int>(g);
  }
  ARROW_ASSIGN_OR_RAISE(c.tables, y::Tables(root["tables"], what));
  ARROW_ASSIGN_OR_RAISE(c.columns, y::Columns(root["columns"], what));
  if (root["tags"]) {
    ARROW_ASSIGN_OR_RAISE(c.tags, TagsOf(root["tags"], what, "tags"));
  }
  if (root["devices"]) {
    if (!root["devices"].IsSequence()) return y::Error(what, "devices", "expected a list");
    for (size_t i = 0; i < root["devices"].size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(
          auto d, DeviceOf(root["devices"][i], what, "devices[" + std::to_string(i) + "]"));
      c.devices.push_back(std::move(d));
    }
  }
  return c;
}

}  // namespace

Status ParseHostPort(const std::string& text, std::string* host, int* port) {
  std::string rest = text;
  if (rest.rfind("tcp://", 0) == 0) rest = rest.substr(6);
  size_t colon = rest.rfind(':');
  std::string p = "502";
  *host = rest;
  if (colon != std::string::npos) {
    *host = rest.substr(0, colon);
    p = rest.substr(colon + 1);
  }
  if (host->empty()) return Status::Invalid("device '", text, "': no host (expected HOST:PORT)");
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(p) < 1 || std::stoi(p) > 65535) {
    return Status::Invalid("device '", text, "': bad port '", p, "'");
  }
  *port = std::stoi(p);
  return Status::OK();
}

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

Status Config::AddDevice(const std::string& host_port, int unit_id) {
  Device d;
  ARROW_RETURN_NOT_OK(ParseHostPort(host_port, &d.host, &d.port));
  d.name = d.host + ":" + std::to_string(d.port);
  if (unit_id < 0 || unit_id > 255) return Status::Invalid("--unit-id must be 0..255");
  d.unit_id = unit_id;
  devices.push_back(std::move(d));
  return Status::OK();
}

Status Config::Plan() {
  if (devices.empty()) {
    return Status::Invalid("no device to poll (--device HOST:PORT, or devices: in the map)");
  }
  if (interval_ms < 0) return Status::Invalid("the poll interval must not be negative");
  if (timeout_ms < 1) return Status::Invalid("the timeout must be positive");
  std::set<std::string> names;
  for (auto& d : devices) {
    if (!names.insert(d.name).second) return Status::Invalid("two devices are named ", d.name);
    if (d.tags.empty()) d.tags = tags;
    if (d.tags.empty() && d.raw.empty()) {
      return Status::Invalid("device ", d.name, " has no tags (tags: in the map)");
    }
    if (d.interval_ms < 0) d.interval_ms = interval_ms;
    // Each tag and raw range is an interval of its area; sorted and merged into reads.
    struct Span {
      Area area;
      int begin, end;  // [begin, end)
      int* block;
      int* offset;
    };
    std::vector<Span> spans;
    for (auto& t : d.tags) {
      int n = IsBitArea(t.area) ? 1 : RegisterCount(t.format.type);
      spans.push_back({t.area, t.address, t.address + n, &t.block, &t.offset});
    }
    for (auto& r : d.raw) spans.push_back({r.area, r.address, r.address + r.count, &r.block,
                                           &r.offset});
    std::stable_sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
      return a.area != b.area ? a.area < b.area : a.begin < b.begin;
    });
    d.blocks.clear();
    for (const auto& s : spans) {
      const int limit = IsBitArea(s.area) ? kMaxBitsPerRead : kMaxRegistersPerRead;
      bool merge = false;
      if (!d.blocks.empty()) {
        Block& b = d.blocks.back();
        int end = b.address + b.count;
        merge = b.area == s.area && s.begin <= end + max_gap &&
                std::max(end, s.end) - b.address <= limit;
        if (merge) b.count = std::max(end, s.end) - b.address;
      }
      if (!merge) d.blocks.push_back({s.area, s.begin, s.end - s.begin});
      *s.block = static_cast<int>(d.blocks.size()) - 1;
      *s.offset = s.begin - d.blocks.back().address;
    }
    d.payload_bytes = 0;
    for (const auto& b : d.blocks) {
      d.payload_bytes += static_cast<size_t>(b.count) * (IsBitArea(b.area) ? 1 : 2);
    }
  }
  return Status::OK();
}

paimon::TableSchema ModbusReadingsSchema() {
  paimon::TableSchema s;
  s.fields = *paimon::ParseColumns(
      "ts TIMESTAMP(6), device STRING, tag STRING, value DOUBLE, value_int BIGINT, "
      "quality STRING, unit STRING, poll BIGINT, ingest_ts TIMESTAMP(6)");
  return s;
}

}  // namespace millpond::ingest::modbus
