// `scan --follow`: StreamScan to an OutputWriter, flushed after every snapshot.
#include "follow_cmd.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>

#include <arrow/record_batch.h>

#include "data_io.h"
#include "stop_signals.h"
#include "millpond/paimon/schema.h"
#include "millpond/table/catalog.h"
#include "millpond/table/maintenance.h"
#include "millpond/table/stream_scan.h"

namespace millpond::cli {

namespace {


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
    st = stream->Run(sink, &StopSignals::flag());
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
