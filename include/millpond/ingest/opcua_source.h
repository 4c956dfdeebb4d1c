// The OPC UA connector. No C++ OPC UA stack is packaged, so a Python bridge process
// (python/millpond_opcua/bridge.py, asyncua) subscribes to the nodes and writes each data change
// as one JSON line to a pipe; OpcuaSource reads the pipe, appends every line to the write-ahead
// log (from then on it counts as received), and delivers it; OpcuaMapper makes one tag row of it
// (source and server timestamps, status as quality). After a restart a new subscription sends
// every node's current value again: a change equal to the last one logged for its node (same
// timestamp and value; the log pins the newest line per node) is dropped, so none is written
// twice. One Run per instance; Committed may be called from another thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/ingest/mapping.h"
#include "millpond/ingest/modbus_rows.h"
#include "millpond/ingest/pipeline.h"
#include "millpond/ingest/wal.h"

namespace millpond::ingest {

class IngestMetrics;

namespace opcua {

struct Node {
  std::string id;      ///< node id, "ns=2;s=Press.Temperature"
  std::string tag;     ///< the tag name written (default: the node's browse name)
  std::string device;  ///< default: the file's device
  std::string unit;
  TagLimits limits;
  std::string table;   ///< "" = the default table
};

/// The nodes file (YAML). Format: docs/ingest-modbus-opcua.md.
struct Config {
  std::string endpoint;
  std::string source;
  std::string table;
  std::string dead_letter_table;
  std::string raw_table;
  std::string device;  ///< default device name (default: the endpoint's HOST:PORT)
  int64_t publishing_interval_ms = 100;
  std::vector<TableSpec> tables;
  std::map<std::string, std::string> columns;
  std::vector<Node> nodes;
  /// Folders whose variables are subscribed too; those not under nodes: go to the raw table.
  std::vector<std::string> browse;

  static Result<Config> FromYaml(const std::string& text, const std::string& what);
  static Result<Config> Load(const std::string& path);
};

/// The columns of the tag table created when it is absent.
paimon::TableSchema OpcuaReadingsSchema();

}  // namespace opcua

/// The Python interpreter for the bridge: `flag` when given, else $MILLPOND_PYTHON, else the
/// source tree's .venv/bin/python (the tree the binary was built from, or the folder above the
/// binary's), else python3 from PATH.
Result<std::string> FindPython(const std::string& flag);
/// python/millpond_opcua/bridge.py: $MILLPOND_OPCUA_BRIDGE, else in the source tree.
Result<std::string> FindOpcuaBridge();

struct OpcuaOptions {
  std::string source_id;
  std::string wal_dir;
  WriteAheadLog::Options wal;
  std::string python;
  std::string bridge;
  /// Stop after this long (< 0: until stopped).
  int64_t duration_ms = -1;
  /// Stop once no data change came for this long (< 0: never).
  int64_t idle_exit_ms = -1;
};

class OpcuaSource final : public Source {
 public:
  static Result<std::unique_ptr<OpcuaSource>> Make(const opcua::Config* config,
                                                   OpcuaOptions options,
                                                   IngestMetrics* metrics = nullptr);
  ~OpcuaSource() override;

  const std::string& id() const override { return options_.source_id; }
  Status Run(int64_t position_floor, Sink* sink, const std::atomic<bool>& stop) override;
  void Committed(int64_t position) override { committed_.store(position); }

  /// Data changes logged (new ones, not replays).
  int64_t changes() const { return changes_.load(); }
  /// Data changes dropped as repeats of one logged before a restart.
  int64_t duplicates() const { return duplicates_.load(); }

 private:
  OpcuaSource(const opcua::Config* config, OpcuaOptions options, IngestMetrics* metrics);

  const opcua::Config* config_;
  OpcuaOptions options_;
  IngestMetrics* metrics_;
  std::atomic<int64_t> committed_{0};
  std::atomic<int64_t> changes_{0};
  std::atomic<int64_t> duplicates_{0};
};

/// One data change (a JSON line of the bridge) to one tag row; nodes the file does not list go
/// to the raw table.
class OpcuaMapper final : public Mapper {
 public:
  static Result<std::unique_ptr<OpcuaMapper>> Make(const opcua::Config* config,
                                                   TagRowsOptions options);
  Status Prepare(TableSet* tables) override;
  Status Map(const SourceMessage& m, MapOutput* out) override;

 private:
  OpcuaMapper(const opcua::Config* config, std::unique_ptr<TagRows> rows);
  const opcua::Config* config_;
  std::unique_ptr<TagRows> rows_;
  std::string default_device_;
  std::unordered_map<std::string, const opcua::Node*> nodes_;
  std::unordered_map<const opcua::Node*, int> tables_;
};

}  // namespace millpond::ingest
