// IngestMetrics on prometheus-cpp (core + pull).
#include "millpond/ingest/metrics.h"

#include <exception>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace millpond::ingest {

namespace {
const char* RoleName(TableRole role) {
  switch (role) {
    case TableRole::kData: return "data";
    case TableRole::kDeadLetter: return "dead_letter";
    case TableRole::kRaw: return "raw";
    case TableRole::kState: return "state";
  }
  return "data";
}
}  // namespace

struct IngestMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Labels labels;
  prometheus::Family<prometheus::Counter>* messages = nullptr;
  prometheus::Counter* messages_live = nullptr;
  prometheus::Counter* messages_replayed = nullptr;
  prometheus::Counter* dead_letters = nullptr;
  prometheus::Family<prometheus::Counter>* rows = nullptr;
  prometheus::Counter* commits = nullptr;
  prometheus::Histogram* commit_seconds = nullptr;
  prometheus::Gauge* position = nullptr;
  prometheus::Gauge* buffer_rows = nullptr;
  prometheus::Gauge* buffer_capacity = nullptr;
  prometheus::Gauge* lag = nullptr;
  prometheus::Counter* peer_commands = nullptr;
  prometheus::Gauge* connected = nullptr;
  prometheus::Counter* reconnects = nullptr;
  prometheus::Gauge* wal_bytes = nullptr;
  std::unique_ptr<prometheus::Exposer> exposer;
};

IngestMetrics::IngestMetrics(const std::string& source) : impl_(std::make_unique<Impl>()) {
  using namespace prometheus;
  auto& r = *impl_->registry;
  Labels l{{"source", source}};
  impl_->labels = l;
  impl_->messages = &BuildCounter()
                         .Name("millpond_ingest_messages_total")
                         .Help("Messages received from the source (replayed: re-read from the "
                               "write-ahead log after a restart)")
                         .Register(r);
  Labels live = l, replayed = l;
  live["replayed"] = "false";
  replayed["replayed"] = "true";
  impl_->messages_live = &impl_->messages->Add(live);
  impl_->messages_replayed = &impl_->messages->Add(replayed);
  impl_->dead_letters = &BuildCounter()
                             .Name("millpond_ingest_dead_letters_total")
                             .Help("Rows written to the dead-letter table")
                             .Register(r)
                             .Add(l);
  impl_->rows = &BuildCounter()
                     .Name("millpond_ingest_rows_committed_total")
                     .Help("Rows committed, by table")
                     .Register(r);
  impl_->commits = &BuildCounter()
                        .Name("millpond_ingest_commits_total")
                        .Help("Commit rounds (one snapshot per table written)")
                        .Register(r)
                        .Add(l);
  impl_->commit_seconds = &BuildHistogram()
                               .Name("millpond_ingest_commit_seconds")
                               .Help("Time to write and commit one round")
                               .Register(r)
                               .Add(l, Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1,
                                                                   0.25, 0.5, 1, 2.5, 5, 10});
  impl_->position = &BuildGauge()
                         .Name("millpond_ingest_committed_position")
                         .Help("Source position of the last commit")
                         .Register(r)
                         .Add(l);
  impl_->buffer_rows = &BuildGauge()
                            .Name("millpond_ingest_buffer_rows")
                            .Help("Rows waiting in the buffer between mapper and committer")
                            .Register(r)
                            .Add(l);
  impl_->buffer_capacity = &BuildGauge()
                                .Name("millpond_ingest_buffer_capacity_rows")
                                .Help("Capacity of the buffer; the source stops pulling when full")
                                .Register(r)
                                .Add(l);
  impl_->lag = &BuildGauge()
                    .Name("millpond_ingest_lag_seconds")
                    .Help("Age of the oldest received message not yet committed")
                    .Register(r)
                    .Add(l);
  impl_->peer_commands = &BuildCounter()
                              .Name("millpond_ingest_peer_commands_total")
                              .Help("Commands sent to the source's peer (Sparkplug rebirth)")
                              .Register(r)
                              .Add(l);
  impl_->connected = &BuildGauge()
                          .Name("millpond_ingest_connected")
                          .Help("1 while connected to the peer")
                          .Register(r)
                          .Add(l);
  impl_->reconnects = &BuildCounter()
                           .Name("millpond_ingest_reconnects_total")
                           .Help("Connections re-established after a loss")
                           .Register(r)
                           .Add(l);
  impl_->wal_bytes = &BuildGauge()
                          .Name("millpond_ingest_wal_bytes")
                          .Help("Bytes held in the write-ahead log")
                          .Register(r)
                          .Add(l);
}

IngestMetrics::~IngestMetrics() = default;

Status IngestMetrics::Serve(const std::string& bind) {
  try {
    impl_->exposer = std::make_unique<prometheus::Exposer>(bind);
  } catch (const std::exception& e) {
    return Status::IOError("cannot serve metrics on ", bind, ": ", e.what());
  }
  impl_->exposer->RegisterCollectable(impl_->registry);
  return Status::OK();
}

int IngestMetrics::port() const {
  if (!impl_->exposer) return 0;
  auto ports = impl_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void IngestMetrics::MessageIn(bool replayed) {
  (replayed ? impl_->messages_replayed : impl_->messages_live)->Increment();
}
void IngestMetrics::DeadLetters(int64_t n) {
  if (n > 0) impl_->dead_letters->Increment(static_cast<double>(n));
}
void IngestMetrics::RowsCommitted(const std::string& table, TableRole role, int64_t n) {
  prometheus::Labels l = impl_->labels;
  l["table"] = table;
  l["role"] = RoleName(role);
  impl_->rows->Add(l).Increment(static_cast<double>(n));
}
void IngestMetrics::Commit(double seconds, int64_t position) {
  impl_->commits->Increment();
  impl_->commit_seconds->Observe(seconds);
  impl_->position->Set(static_cast<double>(position));
}
void IngestMetrics::BufferRows(int64_t rows) { impl_->buffer_rows->Set(static_cast<double>(rows)); }
void IngestMetrics::BufferCapacity(int64_t rows) {
  impl_->buffer_capacity->Set(static_cast<double>(rows));
}
void IngestMetrics::Lag(double seconds) { impl_->lag->Set(seconds); }
void IngestMetrics::PeerCommands(int64_t n) {
  if (n > 0) impl_->peer_commands->Increment(static_cast<double>(n));
}
void IngestMetrics::Connected(bool connected) { impl_->connected->Set(connected ? 1 : 0); }
void IngestMetrics::Reconnect() { impl_->reconnects->Increment(); }
void IngestMetrics::WalBytes(int64_t bytes) { impl_->wal_bytes->Set(static_cast<double>(bytes)); }

std::string IngestMetrics::Text() const {
  prometheus::TextSerializer s;
  return s.Serialize(impl_->registry->Collect());
}

}  // namespace millpond::ingest
