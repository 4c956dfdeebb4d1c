// Sparkplug B (Eclipse Sparkplug 3.0) as a primary host application sees it: topic names,
// protobuf payloads (sparkplug_b.proto), metric values decoded by datatype (signed integers from
// their two's-complement carriers), and HostState, which follows births, deaths, aliases and
// sequence numbers of every edge node and device and says when to ask for a rebirth.
// Free functions are thread-safe; a HostState is used by one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/ingest/value.h"

namespace millpond::ingest::sparkplug {

inline constexpr const char* kNamespace = "spBv1.0";
/// The metric of an NCMD that asks an edge node to publish its births again.
inline constexpr const char* kRebirthMetric = "Node Control/Rebirth";

enum class MessageType { kNBirth, kNDeath, kDBirth, kDDeath, kNData, kDData, kNCmd, kDCmd, kState };
const char* MessageTypeName(MessageType t);

struct Topic {
  MessageType type = MessageType::kNData;
  std::string group;
  std::string node;    ///< edge node id; for STATE, the host id
  std::string device;  ///< empty for node-level messages
};

/// Parses "spBv1.0/<group>/<TYPE>/<node>[/<device>]" and "spBv1.0/STATE/<host>".
Result<Topic> ParseTopic(std::string_view topic);
/// "spBv1.0/<group>/NCMD/<node>".
std::string NodeCommandTopic(const std::string& group, const std::string& node);
/// "spBv1.0/STATE/<host_id>".
std::string StateTopic(const std::string& host_id);
/// The primary host's STATE payload: {"online":true|false,"timestamp":<ms>}.
std::string StatePayload(bool online, int64_t timestamp_ms);

/// Sparkplug datatypes (Metric.datatype).
enum DataType : uint32_t {
  kUnknown = 0, kInt8 = 1, kInt16 = 2, kInt32 = 3, kInt64 = 4, kUInt8 = 5, kUInt16 = 6,
  kUInt32 = 7, kUInt64 = 8, kFloat = 9, kDouble = 10, kBoolean = 11, kString = 12,
  kDateTime = 13, kText = 14, kUUID = 15, kDataSet = 16, kBytes = 17, kFile = 18,
  kTemplate = 19, kPropertySet = 20, kPropertySetList = 21,
};
/// "Int8", "Double", ...; "Unknown(N)" for others.
std::string DataTypeName(uint32_t datatype);

/// A metric value as it travels, before its datatype (possibly only known from the birth) says
/// how to read it.
struct RawValue {
  enum class Kind { kNone, kInt, kLong, kFloat, kDouble, kBool, kString, kBytes, kComplex };
  Kind kind = Kind::kNone;
  uint64_t bits = 0;  // kInt (uint32 carrier), kLong, kBool
  double real = 0;    // kFloat, kDouble
  std::string text;   // kString, kBytes
};

/// Reads `raw` as `datatype`: Int8/16/32 sign-extended from their width, Int64 as int64, UInt*
/// as int64 (UInt64 above 2^63 as double), Float/Double as double, Boolean, String/Text/UUID as
/// text, DateTime as a Timestamp, Bytes/File as Bytes. DataSet, Template and property sets are
/// NotImplemented; a carrier that does not fit the datatype is Invalid.
Result<Value> DecodeValue(const RawValue& raw, uint32_t datatype);

struct Metric {
  std::string name;
  std::optional<uint64_t> alias;
  std::optional<uint32_t> datatype;
  std::optional<int64_t> timestamp_ms;
  bool is_null = false;
  bool is_historical = false;
  RawValue value;
  std::optional<int64_t> quality;  ///< property "Quality"
  std::string unit;                ///< property "engUnit" (or "EngUnit", "unit", "Units")
};

struct Payload {
  std::optional<int64_t> timestamp_ms;
  std::optional<uint64_t> seq;
  std::vector<Metric> metrics;
};

/// Decodes a Sparkplug B protobuf payload (Invalid for bytes that are not one).
Result<Payload> DecodePayload(std::string_view bytes);
/// The NCMD payload asking for a rebirth: metric "Node Control/Rebirth" = true.
std::string EncodeRebirthRequest(int64_t timestamp_ms);

/// A metric resolved against its birth: name, datatype and value known.
struct ResolvedMetric {
  std::string name;
  uint32_t datatype = kUnknown;
  Value value;
  int64_t timestamp_ms = 0;
  std::optional<int64_t> quality;
  std::string unit;
  bool historical = false;
  /// Why the metric could not be resolved or decoded (then the other fields are partial).
  std::string error;
  bool unsupported = false;  ///< DataSet, Template, ...: valid Sparkplug, no column for it
};

/// An edge node or device going online or offline.
struct StateChange {
  std::string device;  ///< empty: the edge node itself
  bool online = false;
  std::string event;   ///< NBIRTH, NDEATH, DBIRTH, DDEATH
  std::optional<int64_t> bd_seq;
};

/// What HostState made of one message.
struct Event {
  std::vector<ResolvedMetric> metrics;
  std::vector<StateChange> state;
  /// The whole message cannot be used (data from an unknown node or device): a dead letter.
  std::string error;
  /// Ask the edge node for a rebirth (sequence gap, unknown alias, data before birth).
  bool rebirth = false;
  std::string rebirth_reason;
};

class HostState {
 public:
  /// Minimum time between two rebirth requests to one edge node (by message receive time, so
  /// replaying the log behaves as the live run did).
  static constexpr int64_t kRebirthBackoffMs = 5000;

  /// Follows one message received at `received_ms` (NCMD, DCMD and STATE give an empty Event).
  Event Process(const Topic& topic, const Payload& payload, int64_t received_ms);
  /// Whether the device (empty: the node) is known to be online.
  bool Online(const std::string& group, const std::string& node, const std::string& device) const;

 private:
  struct MetricDef {
    std::string name;
    uint32_t datatype = kUnknown;
    std::string unit;
  };
  struct Device {
    bool born = false;
    std::map<std::string, MetricDef> by_name;
  };
  struct Node {
    bool born = false;
    std::optional<int64_t> bd_seq;
    std::optional<uint64_t> last_seq;
    int64_t last_rebirth_ms = -1;
    std::map<uint64_t, MetricDef> by_alias;
    std::map<std::string, MetricDef> by_name;  // node-level metrics
    std::map<std::string, Device> devices;
  };
  void Resolve(const Node& node, const Device* device, const Payload& payload, int64_t received_ms,
               bool birth, Event* out) const;
  void Register(Node* node, Device* device, const Payload& payload);
  void CheckSeq(Node* node, const Payload& payload, Event* out);
  void RequestRebirth(Node* node, const std::string& reason, int64_t received_ms, Event* out);

  std::map<std::string, Node> nodes_;  // key: group + '/' + node
};

}  // namespace millpond::ingest::sparkplug
