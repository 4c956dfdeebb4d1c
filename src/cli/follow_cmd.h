// `millpond scan DB.T --follow`: streams every later change of a table with its row kind to stdout
// or a file until interrupted (SIGINT/SIGTERM) or, in bounded mode, until idle. Single-threaded.
#pragma once

#include <cstdint>
#include <string>

#include "millpond/common/status.h"

namespace millpond::cli {

struct FollowArgs {
  std::string table;           // DB.TABLE
  std::string columns;         // comma-separated; empty: all
  std::string where;           // filter text; empty: all rows
  std::string format = "csv";  // csv|jsonl|parquet|arrow (csv and jsonl are flushed per snapshot)
  std::string output;          // file; empty: stdout
  int64_t from_snapshot = -1;  // >= 1: start with the changes of this snapshot, no full read
  std::string consumer_id;     // records progress in <table>/consumer/consumer-<id>
  std::string interval = "1s";  // how often to look for a new snapshot (Paimon duration syntax)
  std::string until_idle;       // bounded mode: stop after this long without a new snapshot
};

/// Opens the warehouse, streams the table and returns when stopped. Installs SIGINT/SIGTERM
/// handlers for its duration that stop the stream cleanly (output closed, consumer saved).
Status RunFollow(const std::string& warehouse, const FollowArgs& args);

}  // namespace millpond::cli
