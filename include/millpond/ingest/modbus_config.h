// The Modbus map file: devices (host, port, unit id, poll interval), their tags (register area,
// address, type, byte and word order, scale, offset, unit, limits, target table), raw register
// ranges, and where rows go (default table, declared tables, column renames). Plan() turns the
// tags of each device into the few contiguous reads a poll makes.
// Format: docs/ingest-modbus-opcua.md.
// A ModbusConfig is a value; thread-safe to read.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/ingest/mapping.h"
#include "millpond/ingest/modbus_decode.h"
#include "millpond/ingest/modbus_rows.h"

namespace millpond::ingest::modbus {

struct Tag {
  std::string name;
  Area area = Area::kHolding;
  int address = 0;
  RegisterFormat format;
  std::string unit;
  TagLimits limits;
  std::string table;  ///< "" = the default table
  int block = -1;     ///< the read that holds it (Plan)
  int offset = 0;     ///< its first register (or bit) inside that read
};

/// A register range read but not decoded: its words go to the raw table.
struct RawRange {
  Area area = Area::kHolding;
  int address = 0;
  int count = 1;
  int block = -1;
  int offset = 0;
};

/// One Modbus request of a poll.
struct Block {
  Area area = Area::kHolding;
  int address = 0;
  int count = 0;
};

struct Device {
  std::string name;
  std::string host;
  int port = 502;
  int unit_id = 1;
  int64_t interval_ms = -1;  ///< -1: the map's (or --interval)
  std::vector<Tag> tags;
  std::vector<RawRange> raw;
  std::vector<Block> blocks;  ///< Plan
  /// Bytes of a poll payload after its header: 2 per register, 1 per bit (Plan).
  size_t payload_bytes = 0;
};

struct Config {
  std::string source;
  std::string table;
  std::string dead_letter_table;
  std::string raw_table;
  int64_t interval_ms = 1000;
  int64_t timeout_ms = 1000;
  /// Registers between two tags that one read may span anyway (0: only adjacent ones merge).
  int max_gap = 0;
  std::vector<TableSpec> tables;
  std::map<std::string, std::string> columns;
  /// Tags of devices that list none (and of every --device).
  std::vector<Tag> tags;
  std::vector<Device> devices;

  static Result<Config> FromYaml(const std::string& text, const std::string& what);
  static Result<Config> Load(const std::string& path);

  /// Adds a device named "HOST:PORT" (unit id `unit_id`) that reads the map's top-level tags.
  Status AddDevice(const std::string& host_port, int unit_id);
  /// Checks names and ranges and plans the reads of every device.
  Status Plan();
};

/// Parses "HOST:PORT" or "HOST" (port 502).
Status ParseHostPort(const std::string& text, std::string* host, int* port);

/// The columns of the tag table created when it is absent.
paimon::TableSchema ModbusReadingsSchema();

}  // namespace millpond::ingest::modbus
