// `scan --follow`: StreamScan to an OutputWriter, flushed after every snapshot.
#include "follow_cmd.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>

#include <arrow/record_batch.h>

#include "data_io.h"
#include "millpond/paimon/schema.h"
#include "millpond/table/catalog.h"
#include "millpond/table/maintenance.h"
#include "millpond/table/stream_scan.h"

namespace millpond::cli {

namespace {

// Set from the signal handler: a lock-free atomic is async-signal-safe.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void OnStopSignal(int) { g_stop.store(true); }

// Installs the stop handlers for its lifetime and restores the previous ones after.
class StopSignals {
 public:
  StopSignals() {
    g_stop.store(false);
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocking sleep or write returns early
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace

Status RunFollow(const std::string& warehouse, const FollowArgs& args) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, table::Catalog::Open(warehouse, /*create_if_missing=*/false));
  ARROW_ASSIGN_OR_RAISE(auto t, catalog->GetTable(args.table));
  table::StreamOptions o;
  o.columns = paimon::SplitNames(args.columns);
  o.where = args.where;
  if (args.from_snapshot >= 0) {
    if (args.from_snapshot < 1) return Status::Invalid("--from-snapshot must be at least 1");
    o.from_snapshot = args.from_snapshot;
  }
  o.consumer_id = args.consumer_id;
  auto interval = table::ParseDurationMillis(args.interval);
  if (!interval.ok()) return Status::Invalid("--interval: ", interval.status().message());
  o.interval_millis = *interval;
  if (!args.until_idle.empty()) {
    auto idle = table::ParseDurationMillis(args.until_idle);
    if (!idle.ok()) return Status::Invalid("--until-idle: ", idle.status().message());
    o.until_idle_millis = *idle;
  }
  ARROW_ASSIGN_OR_RAISE(auto stream, table::StreamScan::Make(t->file_system(), t->path(), o));
  ARROW_ASSIGN_OR_RAISE(auto out, OutputWriter::Open(args.output, args.format,
                                                     stream->output_schema()));
  const bool to_stdout = args.output.empty() || args.output == "-";
  table::StreamSink sink;
  sink.write = [&](const std::shared_ptr<arrow::RecordBatch>& b) { return out->Write(b); };
  sink.end_snapshot = [&](int64_t) -> Status {
    // The writers hand each batch to their stream at once; stdout is buffered by iostreams/stdio.
    if (to_stdout) {
      std::cout.flush();
      if (std::fflush(stdout) != 0 || !std::cout) {
        return Status::IOError("cannot write to stdout (closed pipe?)");
      }
    }
    return Status::OK();
  };
  Status st;
  {
    StopSignals signals;
    st = stream->Run(sink, &g_stop);
  }
  Status closed = out->Close();
  if (to_stdout) {
    std::cout.flush();
    std::fflush(stdout);
  }
  ARROW_RETURN_NOT_OK(st);
  return closed;
}

}  // namespace millpond::cli
