// WriteAheadLog: segment files of CRC-framed records.
#include "millpond/ingest/wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

namespace millpond::ingest {

namespace {

constexpr size_t kFrameHeader = 8;   // body length, CRC-32 of the body
constexpr size_t kBodyHeader = 25;   // type, position, received, tag, address length
constexpr uint32_t kMaxBody = 512u << 20;
constexpr int64_t kRollCommittedBytes = 1 << 20;
constexpr const char* kPinnedFile = "pinned.log";
constexpr const char* kLockFile = "LOCK";

void PutU32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string* s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what, " ", path, ": ", std::strerror(errno));
}

Result<std::string> ReadWhole(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  std::string out;
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = Errno("cannot read", path);
      ::close(fd);
      return st;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", path);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::OK();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", dir);
  ::fsync(fd);
  ::close(fd);
  return Status::OK();
}

// Parses records from `data`; returns the offset after the last whole, valid record.
size_t ParseRecords(const std::string& data, std::vector<WalRecord>* out) {
  size_t off = 0;
  while (off + kFrameHeader <= data.size()) {
    uint32_t len = GetU32(data.data() + off);
    uint32_t crc = GetU32(data.data() + off + 4);
    if (len < kBodyHeader || len > kMaxBody || off + kFrameHeader + len > data.size()) break;
    const char* body = data.data() + off + kFrameHeader;
    if (static_cast<uint32_t>(::crc32(0, reinterpret_cast<const Bytef*>(body), len)) != crc) break;
    WalRecord r;
    r.type = static_cast<WalRecordType>(static_cast<uint8_t>(body[0]));
    r.position = static_cast<int64_t>(GetU64(body + 1));
    r.received_micros = static_cast<int64_t>(GetU64(body + 9));
    r.tag = GetU32(body + 17);
    uint32_t alen = GetU32(body + 21);
    if (alen > len - kBodyHeader) break;
    if (r.type != WalRecordType::kMessage) break;
    r.address.assign(body + kBodyHeader, alen);
    r.payload.assign(body + kBodyHeader + alen, len - kBodyHeader - alen);
    if (out) out->push_back(std::move(r));
    off += kFrameHeader + len;
  }
  return off;
}

// A segment is named after the position its first message has (or would have), so the last
// position survives even when every segment holding messages was truncated away.
std::string SegmentName(int64_t base) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "wal-%020lld.log", static_cast<long long>(base));
  return buf;
}

}  // namespace

std::string EncodeWalRecord(const WalRecord& r) {
  std::string body;
  body.reserve(kBodyHeader + r.address.size() + r.payload.size());
  body.push_back(static_cast<char>(r.type));
  PutU64(&body, static_cast<uint64_t>(r.position));
  PutU64(&body, static_cast<uint64_t>(r.received_micros));
  PutU32(&body, r.tag);
  PutU32(&body, static_cast<uint32_t>(r.address.size()));
  body += r.address;
  body += r.payload;
  std::string out;
  out.reserve(kFrameHeader + body.size());
  PutU32(&out, static_cast<uint32_t>(body.size()));
  PutU32(&out, static_cast<uint32_t>(::crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                              static_cast<uInt>(body.size()))));
  out += body;
  return out;
}

WriteAheadLog::~WriteAheadLog() {
  if (!buffer_.empty()) (void)Flush();
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::unique_ptr<WriteAheadLog>> WriteAheadLog::Open(const std::string& dir,
                                                            Options options) {
  std::unique_ptr<WriteAheadLog> wal(new WriteAheadLog());
  wal->dir_ = dir;
  wal->options_ = options;
  // mkdir -p
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      std::string part = dir.substr(0, i);
      if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
        return Errno("cannot create write-ahead log folder", part);
      }
    }
  }
  std::string lock_path = dir + "/" + kLockFile;
  wal->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (wal->lock_fd_ < 0) return Errno("cannot open", lock_path);
  if (::flock(wal->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status::IOError("write-ahead log ", dir, " is in use by another ingester");
  }

  DIR* d = ::opendir(dir.c_str());
  if (!d) return Errno("cannot list", dir);
  std::vector<int64_t> seqs;
  while (dirent* e = ::readdir(d)) {
    long long seq = 0;
    char tail = 0;
    if (std::sscanf(e->d_name, "wal-%lld.lo%c", &seq, &tail) == 2 && tail == 'g' &&
        std::strlen(e->d_name) == SegmentName(seq).size()) {
      seqs.push_back(seq);
    }
  }
  ::closedir(d);
  std::sort(seqs.begin(), seqs.end());

  // Pinned records count towards the last position too.
  std::string pinned_path = dir + "/" + kPinnedFile;
  if (::access(pinned_path.c_str(), F_OK) == 0) {
    ARROW_ASSIGN_OR_RAISE(auto data, ReadWhole(pinned_path));
    std::vector<WalRecord> recs;
    if (ParseRecords(data, &recs) != data.size()) {
      return Status::IOError("write-ahead log file ", pinned_path, " is damaged");
    }
    for (const auto& r : recs) {
      wal->pinned_positions_.push_back(r.position);
      wal->last_position_ = std::max(wal->last_position_, r.position);
    }
  }

  for (size_t i = 0; i < seqs.size(); ++i) {
    Segment s;
    s.base = seqs[i];
    s.path = dir + "/" + SegmentName(s.base);
    wal->last_position_ = std::max(wal->last_position_, s.base - 1);
    ARROW_ASSIGN_OR_RAISE(auto data, ReadWhole(s.path));
    std::vector<WalRecord> recs;
    size_t good = ParseRecords(data, &recs);
    if (good != data.size()) {
      if (i + 1 != seqs.size()) {
        return Status::IOError("write-ahead log segment ", s.path, " is damaged at byte ", good);
      }
      // A torn write at the end of the newest segment: the crash came before it was complete,
      // so its message was never acknowledged. Cut it off.
      if (::truncate(s.path.c_str(), static_cast<off_t>(good)) != 0) {
        return Errno("cannot repair", s.path);
      }
    }
    s.size = static_cast<int64_t>(good);
    for (const auto& r : recs) {
      if (r.type != WalRecordType::kMessage) continue;
      if (s.first_position == 0) s.first_position = r.position;
      s.last_position = r.position;
      wal->last_position_ = std::max(wal->last_position_, r.position);
    }
    wal->segments_.push_back(std::move(s));
  }
  if (wal->segments_.empty()) {
    ARROW_RETURN_NOT_OK(wal->OpenSegment());
  } else {
    const auto& last = wal->segments_.back();
    wal->fd_ = ::open(last.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (wal->fd_ < 0) return Errno("cannot open", last.path);
  }
  return wal;
}

Status WriteAheadLog::OpenSegment() {
  Segment s;
  s.base = last_position_ + 1;
  if (!segments_.empty() && segments_.back().base == s.base) return Status::OK();
  s.path = dir_ + "/" + SegmentName(s.base);
  int fd = ::open(s.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", s.path);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  segments_.push_back(std::move(s));
  return SyncDir(dir_);
}

int64_t WriteAheadLog::bytes() const {
  int64_t n = 0;
  for (const auto& s : segments_) n += s.size;
  return n + static_cast<int64_t>(buffer_.size());
}

Status WriteAheadLog::Replay(const std::function<Status(const WalRecord&)>& fn) const {
  std::string pinned_path = dir_ + "/" + kPinnedFile;
  if (::access(pinned_path.c_str(), F_OK) == 0) {
    ARROW_ASSIGN_OR_RAISE(auto data, ReadWhole(pinned_path));
    std::vector<WalRecord> recs;
    ParseRecords(data, &recs);
    for (const auto& r : recs) ARROW_RETURN_NOT_OK(fn(r));
  }
  for (const auto& s : segments_) {
    ARROW_ASSIGN_OR_RAISE(auto data, ReadWhole(s.path));
    std::vector<WalRecord> recs;
    ParseRecords(data.substr(0, static_cast<size_t>(s.size)), &recs);
    for (const auto& r : recs) ARROW_RETURN_NOT_OK(fn(r));
  }
  return Status::OK();
}

Status WriteAheadLog::Append(const WalRecord& record) {
  if (record.type == WalRecordType::kMessage) {
    if (record.position <= last_position_) {
      return Status::Invalid("write-ahead log ", dir_, ": position ", record.position,
                             " after ", last_position_);
    }
    last_position_ = record.position;
    if (buffered_first_ == 0) buffered_first_ = record.position;
    buffered_last_ = record.position;
  }
  buffer_ += EncodeWalRecord(record);
  return Status::OK();
}

Status WriteAheadLog::Flush() {
  if (buffer_.empty()) return Status::OK();
  Segment& s = segments_.back();
  ARROW_RETURN_NOT_OK(WriteAll(fd_, buffer_.data(), buffer_.size(), s.path));
  if (options_.sync && ::fdatasync(fd_) != 0) return Errno("cannot sync", s.path);
  s.size += static_cast<int64_t>(buffer_.size());
  if (buffered_first_ != 0) {
    if (s.first_position == 0) s.first_position = buffered_first_;
    s.last_position = buffered_last_;
  }
  buffer_.clear();
  buffered_first_ = buffered_last_ = 0;
  if (s.size >= options_.segment_bytes) ARROW_RETURN_NOT_OK(OpenSegment());
  return Status::OK();
}

Status WriteAheadLog::Truncate(int64_t position, const std::vector<WalRecord>& pinned) {
  ARROW_RETURN_NOT_OK(Flush());
  Segment& open = segments_.back();
  if (open.last_position <= position && open.size >= kRollCommittedBytes) {
    ARROW_RETURN_NOT_OK(OpenSegment());
  }
  size_t drop = 0;
  while (drop + 1 < segments_.size() && segments_[drop].last_position <= position) ++drop;
  if (drop == 0 && pinned_positions_.empty() && pinned.empty()) return Status::OK();
  // The first message position still in a segment: pinned records before it are kept apart.
  int64_t first_kept = last_position_ + 1;
  for (size_t i = drop; i < segments_.size(); ++i) {
    if (segments_[i].first_position != 0) {
      first_kept = segments_[i].first_position;
      break;
    }
  }
  std::vector<WalRecord> keep;
  for (const auto& r : pinned) {
    if (r.position < first_kept) keep.push_back(r);
  }
  std::sort(keep.begin(), keep.end(),
            [](const WalRecord& a, const WalRecord& b) { return a.position < b.position; });
  std::vector<int64_t> positions;
  for (const auto& r : keep) positions.push_back(r.position);
  // The pinned file is replaced before the segments holding the originals go.
  if (positions != pinned_positions_) ARROW_RETURN_NOT_OK(WritePinned(keep));
  for (size_t i = 0; i < drop; ++i) {
    if (::unlink(segments_[i].path.c_str()) != 0 && errno != ENOENT) {
      return Errno("cannot delete", segments_[i].path);
    }
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(drop));
  return Status::OK();
}

Status WriteAheadLog::WritePinned(const std::vector<WalRecord>& pinned) {
  std::string path = dir_ + "/" + kPinnedFile;
  std::string tmp = path + ".tmp";
  std::string data;
  for (const auto& r : pinned) data += EncodeWalRecord(r);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", tmp);
  Status st = WriteAll(fd, data.data(), data.size(), tmp);
  if (st.ok() && ::fdatasync(fd) != 0) st = Errno("cannot sync", tmp);
  ::close(fd);
  ARROW_RETURN_NOT_OK(st);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("cannot rename", tmp);
  ARROW_RETURN_NOT_OK(SyncDir(dir_));
  pinned_positions_.clear();
  for (const auto& r : pinned) pinned_positions_.push_back(r.position);
  return Status::OK();
}

}  // namespace millpond::ingest
