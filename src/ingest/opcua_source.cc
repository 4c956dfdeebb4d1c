// OpcuaSource (the Python bridge over a pipe) and OpcuaMapper.
#include "millpond/ingest/opcua_source.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "mapping_eval.h"
#include "millpond/ingest/metrics.h"
#include "source_util.h"

namespace millpond::ingest {

namespace {

using json = nlohmann::ordered_json;
using mapping_internal::FromJson;
using SteadyClock = std::chrono::steady_clock;

using source_util::NowMicros;

// The bridge process: its stdout is our pipe; its stdin a pipe we hold, so it ends when we do.
class Bridge {
 public:
  ~Bridge() { Stop(); }

  Status Start(const std::vector<std::string>& argv) {
    int out[2], in[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) {
      return Status::IOError("pipe: ", std::strerror(errno));
    }
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) return Status::IOError("fork: ", std::strerror(errno));
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(1);
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(in[0], STDIN_FILENO);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      std::string msg =
          "millpond: error: cannot run " + argv[0] + ": " + std::strerror(errno) + "\n";
      (void)!::write(STDERR_FILENO, msg.data(), msg.size());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    out_ = out[0];
    in_ = in[1];
    return Status::OK();
  }

  int fd() const { return out_; }

  // Reads what is there; false at the end of the stream.
  Result<bool> Read(std::string* buffer) {
    char chunk[65536];
    ssize_t n = ::read(out_, chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) return true;
      return Status::IOError("reading the OPC UA bridge: ", std::strerror(errno));
    }
    if (n == 0) return false;
    buffer->append(chunk, static_cast<size_t>(n));
    return true;
  }

  // Waits for the process; its exit status text.
  std::string Wait() {
    if (pid_ <= 0) return "";
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
    return "unknown status";
  }

  void Stop() {
    if (in_ >= 0) ::close(in_), in_ = -1;
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      // Give it a moment to exit, then make sure.
      for (int i = 0; i < 100; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
      }
    }
    if (out_ >= 0) ::close(out_), out_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int in_ = -1;
};

// What identifies a data change across a restart: its timestamp and value.
std::string ChangeKey(const json& j) {
  std::string key;
  for (const char* f : {"source_ts", "server_ts"}) {
    auto it = j.find(f);
    if (it != j.end() && !it->is_null()) {
      key = it->dump();
      break;
    }
  }
  if (key.empty()) return "";  // no timestamp: never taken for a repeat
  auto v = j.find("value");
  return key + "|" + (v == j.end() ? "null" : v->dump());
}

}  // namespace

OpcuaSource::OpcuaSource(const opcua::Config* config, OpcuaOptions options,
                         IngestMetrics* metrics)
    : config_(config), options_(std::move(options)), metrics_(metrics) {}

OpcuaSource::~OpcuaSource() = default;

Result<std::unique_ptr<OpcuaSource>> OpcuaSource::Make(const opcua::Config* config,
                                                       OpcuaOptions options,
                                                       IngestMetrics* metrics) {
  if (options.source_id.empty()) return Status::Invalid("the OPC UA source needs an id");
  if (options.wal_dir.empty()) return Status::Invalid("the OPC UA source needs a log folder");
  if (options.python.empty() || options.bridge.empty()) {
    return Status::Invalid("the OPC UA source needs a Python interpreter and the bridge script");
  }
  return std::unique_ptr<OpcuaSource>(new OpcuaSource(config, std::move(options), metrics));
}

Status OpcuaSource::Run(int64_t position_floor, Sink* sink, const std::atomic<bool>& stop) {
  ARROW_ASSIGN_OR_RAISE(auto wal, WriteAheadLog::Open(options_.wal_dir, options_.wal));
  // The newest logged change per node: pinned in the log, and what a resend is compared with.
  std::map<std::string, WalRecord> newest;
  std::map<std::string, std::string> newest_key;
  Status st =
      source_util::ReplayWal(*wal, sink, stop, [&](const WalRecord& rec, const SourceMessage&) {
        newest[rec.address] = rec;
        json j = json::parse(rec.payload, nullptr, /*allow_exceptions=*/false);
        newest_key[rec.address] = j.is_object() ? ChangeKey(j) : "";
      });
  if (st.IsCancelled()) return Status::OK();
  ARROW_RETURN_NOT_OK(st);
  int64_t next_position = std::max(wal->last_position(), position_floor) + 1;

  std::vector<std::string> argv = {options_.python, "-u", options_.bridge, "--endpoint",
                                   config_->endpoint, "--interval",
                                   std::to_string(config_->publishing_interval_ms)};
  for (const auto& n : config_->nodes) argv.insert(argv.end(), {"--node", n.id});
  for (const auto& b : config_->browse) argv.insert(argv.end(), {"--browse", b});
  Bridge bridge;
  ARROW_RETURN_NOT_OK(bridge.Start(argv));

  const auto start = SteadyClock::now();
  auto last_change = start;
  bool connected = false;
  int64_t truncated = 0;
  std::string buffer;
  std::vector<SourceMessage> batch;
  Status error;
  bool eof = false;
  auto deliver = [&]() -> Status {
    if (batch.empty()) return Status::OK();
    ARROW_RETURN_NOT_OK(wal->Flush());
    for (const auto& m : batch) ARROW_RETURN_NOT_OK(sink->Deliver(m, nullptr));
    batch.clear();
    return Status::OK();
  };
  // One line of the bridge: an event, or a data change to log.
  auto line = [&](const std::string& text) -> Status {
    if (text.empty()) return Status::OK();
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      return Status::IOError("the OPC UA bridge wrote a line that is not a JSON object: ",
                             text.substr(0, 200));
    }
    if (j.contains("event")) {
      std::string ev = j.value("event", "");
      if (ev == "connected") {
        if (connected) return Status::OK();
        connected = true;
        if (metrics_) metrics_->Connected(true);
      } else if (ev == "disconnected") {
        if (connected && metrics_) {
          metrics_->Connected(false);
          metrics_->Reconnect();
        }
        connected = false;
      } else if (ev == "error") {
        return Status::IOError("OPC UA ", config_->endpoint, ": ", j.value("error", "error"));
      }
      return Status::OK();
    }
    std::string node = j.value("node", "");
    std::string key = ChangeKey(j);
    auto it = newest_key.find(node);
    if (!key.empty() && it != newest_key.end() && it->second == key) {
      duplicates_.fetch_add(1);  // the current value a new subscription sends again
      return Status::OK();
    }
    WalRecord rec;
    rec.position = next_position++;
    rec.received_micros = NowMicros();
    rec.address = node;
    rec.payload = text;
    ARROW_RETURN_NOT_OK(wal->Append(rec));
    newest[node] = rec;
    newest_key[node] = key;
    changes_.fetch_add(1);
    last_change = SteadyClock::now();
    SourceMessage m;
    m.position = rec.position;
    m.received_micros = rec.received_micros;
    m.address = std::move(rec.address);
    m.payload = std::move(rec.payload);
    batch.push_back(std::move(m));
    return Status::OK();
  };

  while (!stop.load() && error.ok() && !eof) {
    auto now = SteadyClock::now();
    if (options_.duration_ms >= 0 &&
        now - start >= std::chrono::milliseconds(options_.duration_ms)) {
      break;
    }
    if (options_.idle_exit_ms >= 0 && connected &&
        now - last_change >= std::chrono::milliseconds(options_.idle_exit_ms)) {
      break;
    }
    int64_t committed = committed_.load();
    if (committed > truncated) {
      std::vector<WalRecord> pinned;
      for (const auto& [n, rec] : newest) {
        if (rec.position <= committed) pinned.push_back(rec);
      }
      error = wal->Truncate(committed, pinned);
      if (!error.ok()) break;
      truncated = committed;
    }
    if (!sink->HasRoom()) {
      // Back-pressure: the pipe is not read, so the bridge blocks on it.
      sink->WaitForRoom(std::chrono::milliseconds(50));
      continue;
    }
    pollfd p{bridge.fd(), POLLIN, 0};
    int rc = ::poll(&p, 1, 100);
    if (rc < 0 && errno != EINTR) {
      error = Status::IOError("poll: ", std::strerror(errno));
      break;
    }
    if (rc <= 0) continue;
    auto more = bridge.Read(&buffer);
    if (!more.ok()) {
      error = more.status();
      break;
    }
    eof = !*more;
    size_t begin = 0;
    for (size_t nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n', begin)) {
      error = line(buffer.substr(begin, nl - begin));
      begin = nl + 1;
      if (!error.ok()) break;
    }
    buffer.erase(0, begin);
    if (error.ok()) error = deliver();
  }
  if (error.ok()) error = deliver();
  if (eof && error.ok() && !stop.load()) {
    error = Status::IOError("the OPC UA bridge (", options_.bridge, ") ended: ", bridge.Wait());
  }
  bridge.Stop();
  if (metrics_) metrics_->Connected(false);
  return error;
}

// ---------------------------------------------------------------------------------------------
// OpcuaMapper

OpcuaMapper::OpcuaMapper(const opcua::Config* config, std::unique_ptr<TagRows> rows)
    : config_(config), rows_(std::move(rows)) {
  for (const auto& n : config_->nodes) nodes_[n.id] = &n;
  default_device_ = config_->device;
  if (default_device_.empty()) {
    std::string rest = config_->endpoint.substr(std::min<size_t>(10, config_->endpoint.size()));
    default_device_ = rest.substr(0, rest.find('/'));
  }
}

Result<std::unique_ptr<OpcuaMapper>> OpcuaMapper::Make(const opcua::Config* config,
                                                       TagRowsOptions options) {
  ARROW_ASSIGN_OR_RAISE(auto rows, TagRows::Make(std::move(options)));
  return std::unique_ptr<OpcuaMapper>(new OpcuaMapper(config, std::move(rows)));
}

Status OpcuaMapper::Prepare(TableSet* tables) {
  ARROW_RETURN_NOT_OK(rows_->Prepare(tables));
  for (const auto& n : config_->nodes) {
    auto h = rows_->Table(n.table);
    if (!h.ok()) {
      return h.status().WithMessage("node ", n.id, ": ", h.status().message());
    }
    tables_[&n] = *h;
  }
  return Status::OK();
}

Status OpcuaMapper::Map(const SourceMessage& m, MapOutput* out) {
  json j = json::parse(m.payload, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("node")) {
    return rows_->DeadLetter(m, "not a data change of the OPC UA bridge", m.payload, out);
  }
  TagSample s;
  s.address = m.address;
  s.value = FromJson(j.value("value", json()));
  s.datatype = j.value("type", "");
  s.quality = j.value("status", "");
  const std::string name = j.value("name", m.address);
  auto micros = [&](const char* field) -> Value {
    auto it = j.find(field);
    if (it == j.end() || !it->is_number_integer()) return Value();
    return Timestamp{it->get<int64_t>()};
  };
  Value source_ts = micros("source_ts");
  s.server_ts = micros("server_ts");
  if (!IsNull(source_ts)) {
    s.ts = std::get<Timestamp>(source_ts);
  } else if (!IsNull(s.server_ts)) {
    s.ts = std::get<Timestamp>(s.server_ts);
  } else {
    s.ts = Timestamp{m.received_micros};
  }
  auto it = nodes_.find(m.address);
  if (it == nodes_.end()) {
    std::string device = default_device_;
    return rows_->Raw(m, device, name, IsNull(s.value) ? "" : ValueToString(s.value),
                      "node not mapped", m.payload, out);
  }
  const opcua::Node& node = *it->second;
  s.device = !node.device.empty() ? node.device : default_device_;
  s.tag = !node.tag.empty() ? node.tag : name;
  s.unit = node.unit;
  return rows_->Emit(tables_[&node], s, node.limits, m, out);
}

}  // namespace millpond::ingest
