// SIGINT and SIGTERM as a stop request for long-running commands (scan --follow, ingest): a
// StopSignals installs the handlers for its lifetime and restores the previous ones after. The
// flag is a lock-free atomic, so the handler is async-signal-safe. One StopSignals at a time.
#pragma once

#include <atomic>
#include <csignal>

namespace millpond::cli {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  /// Becomes true when SIGINT or SIGTERM arrives (false when the StopSignals is made).
  static const std::atomic<bool>& flag();

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace millpond::cli
