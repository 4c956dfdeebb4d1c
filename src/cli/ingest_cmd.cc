// `millpond ingest mqtt`: the MQTT connector (JSON or Sparkplug B) into Paimon tables through the
// ingest pipeline. Registers under the `ingest` parent, which other connectors share.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "command.h"
#include "stop_signals.h"
#include "millpond/fs/file_system.h"
#include "millpond/ingest/mapping.h"
#include "millpond/ingest/metrics.h"
#include "millpond/ingest/mqtt_source.h"
#include "millpond/ingest/pipeline.h"
#include "millpond/table/catalog.h"
#include "millpond/table/maintenance.h"

namespace millpond::cli {

namespace {


struct MqttArgs {
  std::string broker, table, format, map, client_id, source_id, username, password, wal_dir;
  std::vector<std::string> topics;
  int qos = 1;
  int keepalive = 30;
  bool wal_sync = false;
  int64_t commit_rows = 100000;
  std::string commit_interval = "1s";
  int64_t buffer_rows = 200000;
  std::string dead_letter_table, raw_table, state_table, host_id;
  int metrics_port = -1;
  std::string metrics_bind = "0.0.0.0";
  std::string until_idle;
  std::string wal_segment_size = "64mb";
};

Status RunIngestMqtt(const std::string& warehouse, const MqttArgs& a) {
  ARROW_RETURN_NOT_OK(table::Catalog::ParseIdentifier(a.table).status());
  ingest::MappingConfig config;
  if (!a.map.empty()) {
    ARROW_ASSIGN_OR_RAISE(config, ingest::MappingConfig::Load(a.map));
  }
  ingest::PayloadFormat format = config.format.value_or(ingest::PayloadFormat::kJson);
  if (!a.format.empty()) {
    ARROW_ASSIGN_OR_RAISE(format, ingest::ParsePayloadFormat(a.format));
    if (config.format && *config.format != format) {
      return Status::Invalid("--format ", a.format, " contradicts the map file ", a.map);
    }
  }
  if (a.map.empty()) config = ingest::MappingConfig::Default(format);

  ingest::MqttOptions mo;
  ARROW_RETURN_NOT_OK(ingest::ParseBrokerUri(a.broker, &mo));
  mo.topics = a.topics;
  if (mo.topics.empty()) {
    if (format != ingest::PayloadFormat::kSparkplug) {
      return Status::Invalid("--topic is required (an MQTT filter such as 'plant/#')");
    }
    mo.topics = {"spBv1.0/#"};
  }
  mo.qos = a.qos;
  mo.client_id = a.client_id.empty() ? "millpond-" + a.table : a.client_id;
  mo.source_id = !a.source_id.empty() ? a.source_id
                 : !config.source.empty() ? config.source
                                          : mo.client_id;
  for (char ch : mo.source_id) {
    if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.')) {
      return Status::Invalid("source id '", mo.source_id,
                             "' may hold only letters, digits, '-', '_' and '.' (--source-id)");
    }
  }
  mo.username = a.username;
  mo.password = a.password;
  if (mo.password.empty()) {
    const char* env = std::getenv("MILLPOND_MQTT_PASSWORD");
    if (env) mo.password = env;
  }
  mo.keepalive_s = a.keepalive;
  mo.wal.sync = a.wal_sync;
  auto segment = table::ParseMemorySize(a.wal_segment_size);
  if (!segment.ok() || *segment < 4096) {
    return Status::Invalid("--wal-segment-size: expected a size of at least 4kb, not '",
                           a.wal_segment_size, "'");
  }
  mo.wal.segment_bytes = *segment;
  mo.host_id = a.host_id;
  if (!a.host_id.empty() && format != ingest::PayloadFormat::kSparkplug) {
    return Status::Invalid("--host-id is for --format sparkplug");
  }
  if (!a.until_idle.empty()) {
    auto idle = table::ParseDurationMillis(a.until_idle);
    if (!idle.ok()) return Status::Invalid("--until-idle: ", idle.status().message());
    mo.idle_exit_ms = *idle;
  }
  ARROW_ASSIGN_OR_RAISE(auto catalog, table::Catalog::Open(warehouse, /*create_if_missing=*/true));
  mo.wal_dir = a.wal_dir;
  if (mo.wal_dir.empty()) {
    if (!catalog->file_system()->is_local()) {
      return Status::Invalid("--wal-dir is required when the warehouse is not a local folder");
    }
    mo.wal_dir = fs::JoinPath(catalog->root(), "_ingest/" + mo.source_id);
  }

  ingest::PipelineOptions po;
  po.commit_rows = a.commit_rows;
  auto interval = table::ParseDurationMillis(a.commit_interval);
  if (!interval.ok()) return Status::Invalid("--commit-interval: ", interval.status().message());
  po.commit_interval_ms = *interval;
  po.buffer_rows = a.buffer_rows;

  std::unique_ptr<ingest::IngestMetrics> metrics;
  if (a.metrics_port >= 0) {
    if (a.metrics_port > 65535) return Status::Invalid("--metrics-port must be 0..65535");
    metrics = std::make_unique<ingest::IngestMetrics>(mo.source_id);
    metrics->BufferCapacity(po.buffer_rows);
    ARROW_RETURN_NOT_OK(metrics->Serve(a.metrics_bind + ":" + std::to_string(a.metrics_port)));
  }

  ingest::MapperOptions mapo;
  mapo.source_id = mo.source_id;
  mapo.format = format;
  mapo.default_table = a.table;
  mapo.dead_letter_table = a.dead_letter_table;
  mapo.raw_table = a.raw_table;
  mapo.state_table = a.state_table;
  ARROW_ASSIGN_OR_RAISE(auto mapper, ingest::RuleMapper::Make(std::move(config), mapo));
  ARROW_ASSIGN_OR_RAISE(auto source, ingest::MqttSource::Make(mo, metrics.get()));
  ARROW_ASSIGN_OR_RAISE(auto pipeline, ingest::Pipeline::Make(catalog.get(), source.get(),
                                                               mapper.get(), po, metrics.get()));
  Status st;
  {
    StopSignals signals;
    st = pipeline->Run(StopSignals::flag());
  }
  ARROW_RETURN_NOT_OK(st);
  std::cout << "ingested " << pipeline->rows_committed() << " rows from " << a.broker << "\n";
  return Status::OK();
}

void RegisterIngestMqtt(CLI::App& app, const std::string& warehouse, std::vector<Command>* out) {
  CLI::App* ingest = IngestCommand(app);
  auto args = std::make_shared<MqttArgs>();
  auto* cmd = ingest->add_subcommand(
      "mqtt",
      "Subscribe to an MQTT broker (QoS 1, persistent session) and commit what arrives into\n"
      "tables, exactly once across crashes (write-ahead log + positions in snapshots).\n"
      "JSON: fields to same-name columns (the table is created from the first message), or a\n"
      "--map file; Sparkplug B: metrics to readings, device state to a primary-key table.\n"
      "Example: millpond ingest mqtt --broker tcp://127.0.0.1:1883 --topic 'plant/#' "
      "--table plant.readings");
  cmd->add_option("--broker", args->broker, "Broker, tcp://HOST:PORT")->required();
  cmd->add_option("--topic", args->topics,
                  "Topic filter (repeatable; Sparkplug default spBv1.0/#)");
  cmd->add_option("--table", args->table,
                  "DB.TABLE: the target (and the base name of the __dead_letters, __raw and "
                  "__device_state tables)")
      ->required();
  cmd->add_option("--format", args->format, "json (default) or sparkplug");
  cmd->add_option("--map", args->map, "YAML mapping file (docs/ingest.md)");
  cmd->add_option("--client-id", args->client_id,
                  "MQTT client id, fixed so the broker keeps the session (default millpond-TABLE)");
  cmd->add_option("--source-id", args->source_id,
                  "Id naming this source's position in snapshot properties (default: client id)");
  cmd->add_option("--qos", args->qos, "Subscription QoS (default 1)");
  cmd->add_option("--username", args->username, "Broker user name");
  cmd->add_option("--password", args->password,
                  "Broker password (default $MILLPOND_MQTT_PASSWORD, which `ps` does not show)");
  cmd->add_option("--keepalive", args->keepalive, "MQTT keepalive in seconds");
  cmd->add_option("--wal-dir", args->wal_dir,
                  "Write-ahead log folder (default WAREHOUSE/_ingest/SOURCE-ID)");
  cmd->add_option("--wal-segment-size", args->wal_segment_size,
                  "Write-ahead log segment size; committed segments are deleted (default 64mb)");
  cmd->add_flag("--wal-sync", args->wal_sync,
                "fdatasync the log before acknowledging (survives power loss, slower)");
  cmd->add_option("--commit-rows", args->commit_rows, "Commit after this many rows");
  cmd->add_option("--commit-interval", args->commit_interval,
                  "...or once the oldest uncommitted row is this old (500ms, 2s)");
  cmd->add_option("--buffer-rows", args->buffer_rows,
                  "Rows buffered before the broker is no longer read (back-pressure)");
  cmd->add_option("--dead-letter-table", args->dead_letter_table,
                  "Where undecodable messages go (default TABLE__dead_letters)");
  cmd->add_option("--raw-table", args->raw_table,
                  "Where unmapped data goes (default TABLE__raw)");
  cmd->add_option("--state-table", args->state_table,
                  "Sparkplug device state (default TABLE__device_state)");
  cmd->add_option("--host-id", args->host_id,
                  "Sparkplug primary host id: publish spBv1.0/STATE/ID (retained, with a will)");
  cmd->add_option("--metrics-port", args->metrics_port,
                  "Serve Prometheus metrics at http://HOST:PORT/metrics");
  cmd->add_option("--metrics-bind", args->metrics_bind, "Address the metrics server binds");
  cmd->add_option("--until-idle", args->until_idle,
                  "Stop once no message came for this long (10s); default: until interrupted");
  out->push_back({cmd, [args, &warehouse]() { return RunIngestMqtt(warehouse, *args); }});
}

}  // namespace

static const bool kRegistered = AddCommands(&RegisterIngestMqtt);

}  // namespace millpond::cli
