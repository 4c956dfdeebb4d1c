// Counters, gauges and the commit-latency histogram of one ingest pipeline, served in Prometheus
// text format over HTTP (prometheus-cpp). Every method is thread-safe (the source thread and the
// committer both report).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "millpond/common/status.h"
#include "millpond/ingest/pipeline.h"

namespace millpond::ingest {

class IngestMetrics {
 public:
  /// Metrics labelled with `source` (the source id).
  explicit IngestMetrics(const std::string& source);
  ~IngestMetrics();

  /// Serves GET /metrics on `bind` ("0.0.0.0:9464"); port 0 picks a free one (see port()).
  Status Serve(const std::string& bind);
  int port() const;

  void MessageIn(bool replayed);
  void DeadLetters(int64_t n);
  void RowsCommitted(const std::string& table, TableRole role, int64_t n);
  /// One commit round: its duration and the position it committed.
  void Commit(double seconds, int64_t position);
  void BufferRows(int64_t rows);
  void BufferCapacity(int64_t rows);
  /// Age of the oldest received message not yet committed (0 when all are).
  void Lag(double seconds);
  void PeerCommands(int64_t n);
  void Connected(bool connected);
  void Reconnect();
  void WalBytes(int64_t bytes);

  /// The text exposition of every metric (what GET /metrics returns).
  std::string Text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace millpond::ingest
