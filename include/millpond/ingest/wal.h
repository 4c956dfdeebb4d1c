// The ingest write-ahead log: a source appends every message it receives here before it
// acknowledges the message to its peer, so that a message the peer considers delivered survives
// a crash of the ingester. The lake commit (positions in snapshot properties) is the checkpoint;
// Truncate drops what every table has committed. Local files only (POSIX), one writer; not
// thread-safe. Format: docs/ingest.md ("The write-ahead log").
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "millpond/common/status.h"

namespace millpond::ingest {

/// The record type byte leaves room for other kinds of records; today there is one.
enum class WalRecordType : uint8_t {
  kMessage = 1,  ///< a received message at `position`
};

struct WalRecord {
  WalRecordType type = WalRecordType::kMessage;
  int64_t position = 0;
  int64_t received_micros = 0;
  uint32_t tag = 0;     ///< source-specific (MQTT: the packet identifier)
  std::string address;  ///< MQTT topic, register, path
  std::string payload;
};

class WriteAheadLog {
 public:
  struct Options {
    /// A segment file is closed and a new one begun once it is this large.
    int64_t segment_bytes = 64ll << 20;
    /// Flush() also fdatasyncs: what was acknowledged survives power loss, not only a crash of the
    /// process.
    bool sync = false;
  };

  /// Opens (creating) the log in `dir`. A torn record at the end of the newest segment (a crash
  /// in the middle of a write) is cut off; damage anywhere else is an error naming the file.
  static Result<std::unique_ptr<WriteAheadLog>> Open(const std::string& dir, Options options);
  ~WriteAheadLog();

  /// Calls `fn` for every record kept: the pinned ones (see Truncate), then the segments', in
  /// the order they were appended.
  Status Replay(const std::function<Status(const WalRecord&)>& fn) const;

  /// The highest message position ever appended (0 for a new log).
  int64_t last_position() const { return last_position_; }
  /// Bytes held in segment files.
  int64_t bytes() const;
  const std::string& dir() const { return dir_; }

  /// Buffers a record. Positions must increase.
  Status Append(const WalRecord& record);
  /// Writes buffered records to the segment file (and with `sync`, fdatasyncs it). Once it returns,
  /// a crash of the process loses none of them.
  Status Flush();
  /// Deletes every segment whose messages are all at or before `position` (rolling the open one
  /// when it is all committed and past 1 MiB), then keeps copies of those `pinned` records that are
  /// no longer in a segment: state the source needs to decode later messages (Sparkplug births).
  Status Truncate(int64_t position, const std::vector<WalRecord>& pinned);

 private:
  struct Segment {
    int64_t base = 0;  // the position its first message has (its file name)
    std::string path;
    int64_t first_position = 0;  // 0: no message yet
    int64_t last_position = 0;
    int64_t size = 0;
  };
  WriteAheadLog() = default;
  Status OpenSegment();
  Status WritePinned(const std::vector<WalRecord>& pinned);

  std::string dir_;
  Options options_;
  std::vector<Segment> segments_;  // ascending; the last one is open for appends
  int fd_ = -1;
  int lock_fd_ = -1;  // flock: one ingester per log
  std::string buffer_;
  int64_t buffered_first_ = 0;
  int64_t buffered_last_ = 0;
  int64_t last_position_ = 0;
  std::vector<int64_t> pinned_positions_;
};

/// Encodes one record as the log stores it (length, CRC-32, body); exposed for tests.
std::string EncodeWalRecord(const WalRecord& r);

}  // namespace millpond::ingest
