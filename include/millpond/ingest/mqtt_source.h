// The MQTT connector (libmosquitto): QoS 1 subscriptions on a persistent session (fixed client id,
// clean session off). libmosquitto queues the PUBACK of a QoS 1 message before the application
// sees it; this source runs the client loop itself in libmosquitto's "threaded" mode, so queued
// packets go out only when it calls mosquitto_loop_write: every message of a read is appended to
// the write-ahead log and flushed first, then the acknowledgements are released. A message whose
// acknowledgement was lost in a crash is redelivered by the broker and recognised against the
// log's unacknowledged tail. When the pipeline's buffer is full the socket is not read, so the
// broker holds the messages. Optionally the Sparkplug primary host: STATE birth and will.
// One Run per instance; Committed may be called from another thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/ingest/pipeline.h"
#include "millpond/ingest/wal.h"

namespace millpond::ingest {

struct MqttOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::vector<std::string> topics;
  int qos = 1;
  /// Fixed, so the broker keeps the session (and queues for us) across restarts.
  std::string client_id;
  /// Source id for positions (default: the client id).
  std::string source_id;
  std::string username;
  std::string password;
  int keepalive_s = 30;
  /// Where the write-ahead log lives (local folder).
  std::string wal_dir;
  WriteAheadLog::Options wal;
  /// Non-empty: act as Sparkplug primary host `host_id` (retained STATE birth, will on loss).
  std::string host_id;
  /// Stop after this long without a message (< 0: run until stopped).
  int64_t idle_exit_ms = -1;
  /// Most messages handled between two acknowledgement flushes.
  int max_read_batch = 2000;
};

/// Parses "tcp://host:port", "mqtt://host[:port]" or "host[:port]" (port default 1883).
Status ParseBrokerUri(const std::string& uri, MqttOptions* options);

class IngestMetrics;

class MqttSource final : public Source {
 public:
  static Result<std::unique_ptr<MqttSource>> Make(MqttOptions options,
                                                  IngestMetrics* metrics = nullptr);
  ~MqttSource() override;

  const std::string& id() const override { return options_.source_id; }
  Status Run(int64_t position_floor, Sink* sink, const std::atomic<bool>& stop) override;
  void Committed(int64_t position) override { committed_.store(position); }

  struct Client;  // internal: the state of one Run, shared with libmosquitto's callbacks

 private:
  explicit MqttSource(MqttOptions options, IngestMetrics* metrics);

  MqttOptions options_;
  IngestMetrics* metrics_;
  std::atomic<int64_t> committed_{0};
};

}  // namespace millpond::ingest
