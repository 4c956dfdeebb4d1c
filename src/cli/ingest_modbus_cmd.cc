// `millpond ingest modbus` (libmodbus polling) and `millpond ingest opcua` (asyncua through a
// Python bridge process): tag data into Paimon tables through the ingest pipeline. Both register
// under the `ingest` parent, which other connectors share (whichever file registers first
// creates it).
#include <signal.h>

#include <atomic>
#include <iostream>
#include <memory>

#include "command.h"
#include "stop_signals.h"
#include "millpond/fs/file_system.h"
#include "millpond/ingest/metrics.h"
#include "millpond/ingest/modbus_config.h"
#include "millpond/ingest/modbus_source.h"
#include "millpond/ingest/opcua_source.h"
#include "millpond/ingest/pipeline.h"
#include "millpond/table/catalog.h"
#include "millpond/table/maintenance.h"

namespace millpond::cli {

namespace {

// Options every tag connector shares.
struct CommonArgs {
  std::string table, source_id, wal_dir, dead_letter_table, raw_table;
  bool wal_sync = false;
  int64_t commit_rows = 100000;
  std::string commit_interval = "1s";
  int64_t buffer_rows = 200000;
  int metrics_port = -1;
  std::string metrics_bind = "0.0.0.0";
  std::string duration;
  std::string wal_segment_size = "64mb";
};

void AddCommonOptions(CLI::App* cmd, CommonArgs* a) {
  cmd->add_option("--table", a->table,
                  "DB.TABLE: the tag table (created when absent), and the base name of the "
                  "__dead_letters and __raw tables (or table: in the map)");
  cmd->add_option("--source-id", a->source_id,
                  "Id naming this source's position in snapshot properties");
  cmd->add_option("--wal-dir", a->wal_dir,
                  "Write-ahead log folder (default WAREHOUSE/_ingest/SOURCE-ID)");
  cmd->add_option("--wal-segment-size", a->wal_segment_size,
                  "Write-ahead log segment size; committed segments are deleted (default 64mb)");
  cmd->add_flag("--wal-sync", a->wal_sync, "fdatasync the log (survives power loss, slower)");
  cmd->add_option("--commit-rows", a->commit_rows, "Commit after this many rows");
  cmd->add_option("--commit-interval", a->commit_interval,
                  "...or once the oldest uncommitted row is this old (500ms, 2s)");
  cmd->add_option("--buffer-rows", a->buffer_rows,
                  "Rows buffered before the source backs off (back-pressure)");
  cmd->add_option("--dead-letter-table", a->dead_letter_table,
                  "Where bad values and failed reads go (default TABLE__dead_letters)");
  cmd->add_option("--raw-table", a->raw_table, "Where unmapped data goes (default TABLE__raw)");
  cmd->add_option("--metrics-port", a->metrics_port,
                  "Serve Prometheus metrics at http://HOST:PORT/metrics");
  cmd->add_option("--metrics-bind", a->metrics_bind, "Address the metrics server binds");
  cmd->add_option("--duration", a->duration, "Stop after this long (30s); default: until "
                                             "interrupted");
}

// The target table (--table, else the config file's) and the source id (--source-id, else the
// config file's, else "<kind>-<table>").
Result<std::pair<std::string, std::string>> ResolveTarget(const CommonArgs& common,
                                                          const std::string& config_table,
                                                          const std::string& config_source,
                                                          const std::string& kind,
                                                          const std::string& file) {
  std::string table = !common.table.empty() ? common.table : config_table;
  if (table.empty()) return Status::Invalid("--table is required (or table: in the ", file, ")");
  ARROW_RETURN_NOT_OK(table::Catalog::ParseIdentifier(table).status());
  std::string source_id = !common.source_id.empty() ? common.source_id
                          : !config_source.empty()  ? config_source
                                                    : kind + "-" + table;
  return std::make_pair(std::move(table), std::move(source_id));
}

Status CheckSourceId(const std::string& id) {
  for (char ch : id) {
    if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.')) {
      return Status::Invalid("source id '", id,
                             "' may hold only letters, digits, '-', '_' and '.' (--source-id)");
    }
  }
  return id.empty() ? Status::Invalid("empty source id") : Status::OK();
}

// What both connectors set up the same way.
struct Setup {
  std::unique_ptr<table::Catalog> catalog;
  std::string wal_dir;
  ingest::WriteAheadLog::Options wal;
  ingest::PipelineOptions pipeline;
  std::unique_ptr<ingest::IngestMetrics> metrics;
  int64_t duration_ms = -1;
};

Result<Setup> MakeSetup(const std::string& warehouse, const CommonArgs& a,
                        const std::string& source_id) {
  Setup s;
  ARROW_RETURN_NOT_OK(CheckSourceId(source_id));
  s.wal.sync = a.wal_sync;
  auto segment = table::ParseMemorySize(a.wal_segment_size);
  if (!segment.ok() || *segment < 4096) {
    return Status::Invalid("--wal-segment-size: expected a size of at least 4kb, not '",
                           a.wal_segment_size, "'");
  }
  s.wal.segment_bytes = *segment;
  if (!a.duration.empty()) {
    auto d = table::ParseDurationMillis(a.duration);
    if (!d.ok()) return Status::Invalid("--duration: ", d.status().message());
    s.duration_ms = *d;
  }
  s.pipeline.commit_rows = a.commit_rows;
  auto interval = table::ParseDurationMillis(a.commit_interval);
  if (!interval.ok()) return Status::Invalid("--commit-interval: ", interval.status().message());
  s.pipeline.commit_interval_ms = *interval;
  s.pipeline.buffer_rows = a.buffer_rows;
  if (a.metrics_port > 65535) return Status::Invalid("--metrics-port must be 0..65535");
  ARROW_ASSIGN_OR_RAISE(s.catalog, table::Catalog::Open(warehouse, /*create_if_missing=*/true));
  s.wal_dir = a.wal_dir;
  if (s.wal_dir.empty()) {
    if (!s.catalog->file_system()->is_local()) {
      return Status::Invalid("--wal-dir is required when the warehouse is not a local folder");
    }
    s.wal_dir = fs::JoinPath(s.catalog->root(), "_ingest/" + source_id);
  }
  if (a.metrics_port >= 0) {
    s.metrics = std::make_unique<ingest::IngestMetrics>(source_id);
    s.metrics->BufferCapacity(s.pipeline.buffer_rows);
    ARROW_RETURN_NOT_OK(s.metrics->Serve(a.metrics_bind + ":" + std::to_string(a.metrics_port)));
  }
  return s;
}

ingest::TagRowsOptions RowsOptions(const CommonArgs& a, const std::string& source_id,
                                   const std::string& table, const std::string& dead_letter,
                                   const std::string& raw) {
  ingest::TagRowsOptions o;
  o.source_id = source_id;
  o.default_table = table;
  o.dead_letter_table = !a.dead_letter_table.empty() ? a.dead_letter_table : dead_letter;
  o.raw_table = !a.raw_table.empty() ? a.raw_table : raw;
  return o;
}

// ---------------------------------------------------------------------------------------------
// ingest modbus

struct ModbusArgs {
  CommonArgs common;
  std::vector<std::string> devices;
  std::string map, interval, timeout;
  int unit_id = 1;
  int64_t polls = -1;
};

Status RunIngestModbus(const std::string& warehouse, const ModbusArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto config, ingest::modbus::Config::Load(a.map));
  for (const auto& d : a.devices) ARROW_RETURN_NOT_OK(config.AddDevice(d, a.unit_id));
  if (!a.interval.empty()) {
    auto d = table::ParseDurationMillis(a.interval);
    if (!d.ok()) return Status::Invalid("--interval: ", d.status().message());
    config.interval_ms = *d;
  }
  if (!a.timeout.empty()) {
    auto d = table::ParseDurationMillis(a.timeout);
    if (!d.ok()) return Status::Invalid("--timeout: ", d.status().message());
    config.timeout_ms = *d;
  }
  ARROW_RETURN_NOT_OK(config.Plan());
  ARROW_ASSIGN_OR_RAISE(auto target, ResolveTarget(a.common, config.table, config.source,
                                                   "modbus", "map file"));
  const auto& [table, source_id] = target;
  ARROW_ASSIGN_OR_RAISE(auto setup, MakeSetup(warehouse, a.common, source_id));

  auto rows = RowsOptions(a.common, source_id, table, config.dead_letter_table, config.raw_table);
  rows.default_schema = ingest::modbus::ModbusReadingsSchema();
  rows.tables = config.tables;
  rows.columns = config.columns;
  ARROW_ASSIGN_OR_RAISE(auto mapper, ingest::ModbusMapper::Make(&config, std::move(rows)));
  ingest::ModbusOptions mo;
  mo.source_id = source_id;
  mo.wal_dir = setup.wal_dir;
  mo.wal = setup.wal;
  mo.duration_ms = setup.duration_ms;
  mo.max_polls = a.polls;
  ARROW_ASSIGN_OR_RAISE(auto source, ingest::ModbusSource::Make(&config, mo, setup.metrics.get()));
  ARROW_ASSIGN_OR_RAISE(auto pipeline,
                        ingest::Pipeline::Make(setup.catalog.get(), source.get(), mapper.get(),
                                               setup.pipeline, setup.metrics.get()));
  Status st;
  {
    StopSignals signals;
    st = pipeline->Run(StopSignals::flag());
  }
  ARROW_RETURN_NOT_OK(st);
  const auto& s = source->stats();
  std::cout << "ingested " << pipeline->rows_committed() << " rows from "
            << config.devices.size() << " Modbus device(s): " << s.polls.load() << " polls, "
            << s.failed.load() << " failed, " << s.skipped.load()
            << " skipped (buffer full), " << s.reconnects.load() << " reconnects\n";
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// ingest opcua

struct OpcuaArgs {
  CommonArgs common;
  std::string endpoint, nodes, python, until_idle, publishing_interval;
};

Status RunIngestOpcua(const std::string& warehouse, const OpcuaArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto config, ingest::opcua::Config::Load(a.nodes));
  if (!a.endpoint.empty()) config.endpoint = a.endpoint;
  if (config.endpoint.empty()) {
    return Status::Invalid("--endpoint is required (opc.tcp://HOST:PORT, or endpoint: in the "
                           "nodes file)");
  }
  if (config.endpoint.rfind("opc.tcp://", 0) != 0) {
    return Status::Invalid("--endpoint must start with opc.tcp://, not '", config.endpoint, "'");
  }
  if (!a.publishing_interval.empty()) {
    auto d = table::ParseDurationMillis(a.publishing_interval);
    if (!d.ok()) return Status::Invalid("--publishing-interval: ", d.status().message());
    config.publishing_interval_ms = *d;
  }
  ARROW_ASSIGN_OR_RAISE(auto target, ResolveTarget(a.common, config.table, config.source,
                                                   "opcua", "nodes file"));
  const auto& [table, source_id] = target;
  ARROW_ASSIGN_OR_RAISE(auto setup, MakeSetup(warehouse, a.common, source_id));
  auto rows = RowsOptions(a.common, source_id, table, config.dead_letter_table, config.raw_table);
  rows.default_schema = ingest::opcua::OpcuaReadingsSchema();
  rows.tables = config.tables;
  rows.columns = config.columns;
  ARROW_ASSIGN_OR_RAISE(auto mapper, ingest::OpcuaMapper::Make(&config, std::move(rows)));
  ingest::OpcuaOptions oo;
  oo.source_id = source_id;
  oo.wal_dir = setup.wal_dir;
  oo.wal = setup.wal;
  oo.duration_ms = setup.duration_ms;
  ARROW_ASSIGN_OR_RAISE(oo.python, ingest::FindPython(a.python));
  ARROW_ASSIGN_OR_RAISE(oo.bridge, ingest::FindOpcuaBridge());
  if (!a.until_idle.empty()) {
    auto d = table::ParseDurationMillis(a.until_idle);
    if (!d.ok()) return Status::Invalid("--until-idle: ", d.status().message());
    oo.idle_exit_ms = *d;
  }
  ARROW_ASSIGN_OR_RAISE(auto source, ingest::OpcuaSource::Make(&config, oo, setup.metrics.get()));
  ARROW_ASSIGN_OR_RAISE(auto pipeline,
                        ingest::Pipeline::Make(setup.catalog.get(), source.get(), mapper.get(),
                                               setup.pipeline, setup.metrics.get()));
  Status st;
  {
    StopSignals signals;
    st = pipeline->Run(StopSignals::flag());
  }
  ARROW_RETURN_NOT_OK(st);
  std::cout << "ingested " << pipeline->rows_committed() << " rows from " << config.endpoint
            << " (" << source->changes() << " data changes, " << source->duplicates()
            << " repeated after a restart)\n";
  return Status::OK();
}

void RegisterIngestTags(CLI::App& app, const std::string& warehouse, std::vector<Command>* out) {
  CLI::App* ingest = IngestCommand(app);

  auto margs = std::make_shared<ModbusArgs>();
  auto* mb = ingest->add_subcommand(
      "modbus",
      "Poll Modbus TCP devices (holding/input registers, coils, discrete inputs) and commit\n"
      "every complete poll exactly once: one row per tag (device, tag, value, quality, unit,\n"
      "timestamps). The --map file lists the tags (area, address, type, byte/word order,\n"
      "scale, offset, unit, limits) and optionally the devices (docs/ingest-modbus-opcua.md).\n"
      "Example: millpond ingest modbus --device 10.0.0.5:502 --map press.yaml --interval 1s "
      "--table plant.modbus");
  mb->add_option("--device", margs->devices,
                 "HOST:PORT of a device that reads the map's tags (repeatable)");
  mb->add_option("--map", margs->map, "YAML map file: tags and devices")->required();
  mb->add_option("--interval", margs->interval, "Poll interval (1s, 200ms; 0: back to back)");
  mb->add_option("--timeout", margs->timeout, "Response timeout of a device (default 1s)");
  mb->add_option("--unit-id", margs->unit_id, "Modbus unit id of the --device devices (default 1)");
  mb->add_option("--polls", margs->polls, "Stop after this many polls of every device");
  AddCommonOptions(mb, &margs->common);
  out->push_back({mb, [margs, &warehouse]() { return RunIngestModbus(warehouse, *margs); }});

  auto oargs = std::make_shared<OpcuaArgs>();
  auto* ua = ingest->add_subcommand(
      "opcua",
      "Subscribe to OPC UA variables (data changes with source timestamps) through a Python\n"
      "bridge (asyncua) and commit them exactly once: one row per data change. The --nodes\n"
      "file lists the node ids (tag names, devices, units, limits) and folders to browse.\n"
      "Python: --python, else $MILLPOND_PYTHON, else the repository's .venv, else python3.\n"
      "Example: millpond ingest opcua --endpoint opc.tcp://10.0.0.7:4840 --nodes press.yaml "
      "--table plant.opcua");
  ua->add_option("--endpoint", oargs->endpoint, "Server, opc.tcp://HOST:PORT[/PATH]");
  ua->add_option("--nodes", oargs->nodes, "YAML file: nodes to subscribe to")->required();
  ua->add_option("--python", oargs->python, "Python interpreter with asyncua");
  ua->add_option("--publishing-interval", oargs->publishing_interval,
                 "Subscription publishing interval (default 100ms)");
  ua->add_option("--until-idle", oargs->until_idle,
                 "Stop once no data change came for this long");
  AddCommonOptions(ua, &oargs->common);
  out->push_back({ua, [oargs, &warehouse]() { return RunIngestOpcua(warehouse, *oargs); }});
}

}  // namespace

static const bool kRegistered = AddCommands(&RegisterIngestTags);

}  // namespace millpond::cli
