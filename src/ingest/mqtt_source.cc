// MqttSource: libmosquitto driven by hand (threaded mode, our own poll loop).
#include "millpond/ingest/mqtt_source.h"

#include <mosquitto.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "millpond/ingest/metrics.h"
#include "millpond/ingest/sparkplug.h"
#include "source_util.h"

namespace millpond::ingest {

namespace {

using source_util::NowMicros;

int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void InitLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

// A message the broker may send again: matched by packet id, topic and payload.
struct Recent {
  int64_t position = 0;
  uint16_t mid = 0;
  std::string topic;
  std::string payload;
};

}  // namespace

Status ParseBrokerUri(const std::string& uri, MqttOptions* options) {
  std::string rest = uri;
  for (const char* scheme : {"tcp://", "mqtt://"}) {
    if (rest.rfind(scheme, 0) == 0) rest = rest.substr(std::strlen(scheme));
  }
  if (rest.find("://") != std::string::npos) {
    return Status::Invalid("--broker ", uri, ": only tcp:// and mqtt:// are supported");
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  size_t colon = rest.rfind(':');
  std::string host = rest, port = "1883";
  if (colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return Status::Invalid("--broker ", uri, ": no host");
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
      port.size() > 5 || std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return Status::Invalid("--broker ", uri, ": bad port '", port, "'");
  }
  options->host = host;
  options->port = std::stoi(port);
  return Status::OK();
}

// The state of one Run: the libmosquitto client and what its callbacks share with the loop.
struct MqttSource::Client {
  MqttSource* self = nullptr;
  mosquitto* mosq = nullptr;
  Sink* sink = nullptr;
  WriteAheadLog* wal = nullptr;
  int64_t next_position = 1;
  int64_t birth_ms = 0;  // Sparkplug STATE timestamp (birth and will carry the same)
  Status error;
  bool connected = false;
  bool ever_connected = false;

  std::vector<SourceMessage> batch;  // read, appended to the log, not yet delivered
  // The newest messages with a packet id: after a (re)connect the broker resends those whose
  // acknowledgement it did not get; they are dropped, not logged twice.
  std::deque<Recent> recent;
  size_t recent_limit = 4000;
  std::unordered_multimap<uint16_t, const Recent*> redelivery;
  std::deque<Recent> redelivery_store;
  int64_t redelivery_budget = 0;  // messages after a connect during which resends are looked for
  std::map<std::string, WalRecord> state_records;  // newest birth per StateKey

  ~Client() {
    if (mosq) mosquitto_destroy(mosq);
  }

  void Remember(const WalRecord& rec) {
    if (rec.tag == 0) return;
    recent.push_back({rec.position, static_cast<uint16_t>(rec.tag), rec.address, rec.payload});
    while (recent.size() > recent_limit) recent.pop_front();
  }

  void ArmRedelivery() {
    redelivery.clear();
    redelivery_store = recent;
    for (const auto& r : redelivery_store) redelivery.emplace(r.mid, &r);
    redelivery_budget = static_cast<int64_t>(2 * recent_limit);
  }

  // True when the message is a resend of one already in the log.
  bool IsRedelivery(const mosquitto_message* msg) {
    if (redelivery.empty()) return false;
    if (--redelivery_budget <= 0) {
      redelivery.clear();
      redelivery_store.clear();
      return false;
    }
    auto range = redelivery.equal_range(static_cast<uint16_t>(msg->mid));
    for (auto it = range.first; it != range.second; ++it) {
      const Recent* r = it->second;
      if (r->topic == msg->topic && r->payload.size() == static_cast<size_t>(msg->payloadlen) &&
          std::memcmp(r->payload.data(), msg->payload, r->payload.size()) == 0) {
        redelivery.erase(it);
        return true;
      }
    }
    return false;
  }

  void OnMessage(const mosquitto_message* msg) {
    if (!error.ok()) return;
    if (msg->qos > 0 && IsRedelivery(msg)) return;  // libmosquitto acknowledges it again
    WalRecord rec;
    rec.position = next_position++;
    rec.received_micros = NowMicros();
    rec.tag = msg->qos > 0 ? static_cast<uint32_t>(msg->mid) : 0;
    rec.address = msg->topic;
    rec.payload.assign(static_cast<const char*>(msg->payload),
                       static_cast<size_t>(std::max(0, msg->payloadlen)));
    Status st = wal->Append(rec);
    if (!st.ok()) {
      error = st;
      return;
    }
    SourceMessage m;
    m.position = rec.position;
    m.received_micros = rec.received_micros;
    m.address = rec.address;
    m.payload = rec.payload;
    std::string key = sink->StateKey(m);
    if (!key.empty()) state_records[key] = rec;
    Remember(rec);
    batch.push_back(std::move(m));
  }

  void OnConnect(int rc, int flags) {
    if (rc != 0) {
      error = Status::IOError("broker ", self->options_.host, ":", self->options_.port,
                              " refused the connection: ", mosquitto_connack_string(rc));
      return;
    }
    connected = true;
    if (ever_connected && self->metrics_) self->metrics_->Reconnect();
    ever_connected = true;
    if (self->metrics_) self->metrics_->Connected(true);
    const bool session_present = (flags & 1) != 0;
    // A present session keeps its subscriptions; subscribing again would make the broker resend
    // retained messages, so only new topics are subscribed.
    std::set<std::string> known;
    std::string subs_path = self->options_.wal_dir + "/subscriptions";
    if (session_present) {
      std::ifstream in(subs_path);
      std::string line;
      while (std::getline(in, line)) known.insert(line);
    }
    std::ostringstream all;
    const std::set<std::string> wanted(self->options_.topics.begin(), self->options_.topics.end());
    for (const auto& t : wanted) {
      all << t << "\n";
      if (known.count(t)) continue;
      int src = mosquitto_subscribe(mosq, nullptr, t.c_str(), self->options_.qos);
      if (src != MOSQ_ERR_SUCCESS) {
        error = Status::IOError("cannot subscribe to ", t, ": ", mosquitto_strerror(src));
        return;
      }
    }
    for (const auto& t : known) {
      // A filter an earlier run subscribed and this one no longer asks for.
      if (!wanted.count(t)) mosquitto_unsubscribe(mosq, nullptr, t.c_str());
    }
    std::ofstream(subs_path, std::ios::trunc) << all.str();
    if (!self->options_.host_id.empty()) {
      std::string payload = sparkplug::StatePayload(true, birth_ms);
      std::string topic = sparkplug::StateTopic(self->options_.host_id);
      mosquitto_publish(mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                        payload.data(), 1, true);
    }
    ArmRedelivery();
  }
};

namespace {

extern "C" void OnMessageCb(mosquitto*, void* obj, const mosquitto_message* msg) {
  static_cast<MqttSource::Client*>(obj)->OnMessage(msg);
}

extern "C" void OnConnectCb(mosquitto*, void* obj, int rc, int flags) {
  static_cast<MqttSource::Client*>(obj)->OnConnect(rc, flags);
}

extern "C" void OnDisconnectCb(mosquitto*, void* obj, int) {
  static_cast<MqttSource::Client*>(obj)->connected = false;
}

}  // namespace

MqttSource::MqttSource(MqttOptions options, IngestMetrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {}

MqttSource::~MqttSource() = default;

Result<std::unique_ptr<MqttSource>> MqttSource::Make(MqttOptions options,
                                                     IngestMetrics* metrics) {
  if (options.topics.empty()) return Status::Invalid("--topic: at least one topic filter");
  for (const auto& t : options.topics) {
    if (mosquitto_sub_topic_check(t.c_str()) != MOSQ_ERR_SUCCESS) {
      return Status::Invalid("--topic '", t, "' is not a valid MQTT topic filter");
    }
  }
  if (options.qos < 0 || options.qos > 2) return Status::Invalid("--qos must be 0, 1 or 2");
  if (options.client_id.empty() || options.client_id.size() > 65535) {
    return Status::Invalid("the MQTT client id must be non-empty");
  }
  if (options.source_id.empty()) options.source_id = options.client_id;
  if (options.wal_dir.empty()) {
    return Status::Invalid("the MQTT source needs a write-ahead log folder");
  }
  if (options.max_read_batch < 1) options.max_read_batch = 1;
  return std::unique_ptr<MqttSource>(new MqttSource(std::move(options), metrics));
}

Status MqttSource::Run(int64_t position_floor, Sink* sink, const std::atomic<bool>& stop) {
  InitLibrary();
  ARROW_ASSIGN_OR_RAISE(auto wal, WriteAheadLog::Open(options_.wal_dir, options_.wal));
  Client c;
  c.self = this;
  c.sink = sink;
  c.wal = wal.get();
  c.recent_limit = static_cast<size_t>(2 * options_.max_read_batch);

  // 1. Replay the log: the pipeline drops what its tables already committed.
  Status st = source_util::ReplayWal(
      *wal, sink, stop, [&](const WalRecord& rec, const SourceMessage& m) {
        std::string key = sink->StateKey(m);
        if (!key.empty()) c.state_records[key] = rec;
        c.Remember(rec);
      });
  if (st.IsCancelled()) return Status::OK();
  ARROW_RETURN_NOT_OK(st);
  c.next_position = std::max(wal->last_position(), position_floor) + 1;

  // 2. Connect.
  c.mosq = mosquitto_new(options_.client_id.c_str(), /*clean_session=*/false, &c);
  if (!c.mosq) return Status::OutOfMemory("mosquitto_new failed");
  // Threaded mode: queued packets (our PUBACKs) are written only by mosquitto_loop_write.
  mosquitto_threaded_set(c.mosq, true);
  mosquitto_int_option(c.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_message_callback_set(c.mosq, OnMessageCb);
  mosquitto_connect_with_flags_callback_set(c.mosq, OnConnectCb);
  mosquitto_disconnect_callback_set(c.mosq, OnDisconnectCb);
  if (!options_.username.empty()) {
    mosquitto_username_pw_set(c.mosq, options_.username.c_str(),
                              options_.password.empty() ? nullptr : options_.password.c_str());
  }
  if (!options_.host_id.empty()) {
    c.birth_ms = NowMicros() / 1000;
    std::string will = sparkplug::StatePayload(false, c.birth_ms);
    std::string topic = sparkplug::StateTopic(options_.host_id);
    mosquitto_will_set(c.mosq, topic.c_str(), static_cast<int>(will.size()), will.data(), 1, true);
  }
  int rc = mosquitto_connect(c.mosq, options_.host.c_str(), options_.port, options_.keepalive_s);
  if (rc != MOSQ_ERR_SUCCESS) {
    return Status::IOError("cannot connect to MQTT broker ", options_.host, ":", options_.port,
                           ": ",
                           rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc));
  }

  // 3. The loop: read while the pipeline has room, log, deliver, then release the PUBACKs.
  int64_t truncated = 0;
  int64_t last_activity = SteadyMillis();
  int64_t reconnect_at = -1, backoff_ms = 100;  // reconnect_at >= 0: the connection is down
  int64_t last_wal_report = 0;
  std::vector<PeerCommand> commands;
  auto lost = [&](int code) {
    if (c.connected && metrics_) metrics_->Connected(false);
    c.connected = false;
    if (code == MOSQ_ERR_PROTOCOL || code == MOSQ_ERR_NOMEM) {
      c.error = Status::IOError("MQTT connection failed: ", mosquitto_strerror(code));
    }
    if (reconnect_at < 0) reconnect_at = SteadyMillis() + backoff_ms;
  };
  auto deliver = [&]() -> Status {
    if (c.batch.empty()) return Status::OK();
    ARROW_RETURN_NOT_OK(wal->Flush());
    for (auto& m : c.batch) ARROW_RETURN_NOT_OK(sink->Deliver(m, &commands));
    c.batch.clear();
    for (const auto& cmd : commands) {
      mosquitto_publish(c.mosq, nullptr, cmd.address.c_str(),
                        static_cast<int>(cmd.payload.size()), cmd.payload.data(), 0, false);
    }
    if (metrics_) metrics_->PeerCommands(static_cast<int64_t>(commands.size()));
    commands.clear();
    last_activity = SteadyMillis();
    return Status::OK();
  };

  while (!stop.load() && c.error.ok()) {
    // Forget what every table committed, keeping the newest messages for resend detection.
    int64_t committed = committed_.load();
    int64_t upto = std::min(committed, c.next_position - 1 - static_cast<int64_t>(c.recent_limit));
    if (upto > truncated) {
      std::vector<WalRecord> pinned;
      for (const auto& [key, rec] : c.state_records) {
        if (rec.position <= upto) pinned.push_back(rec);
      }
      ARROW_RETURN_NOT_OK(wal->Truncate(upto, pinned));
      truncated = upto;
    }
    int64_t now = SteadyMillis();
    if (metrics_ && now - last_wal_report > 1000) {
      metrics_->WalBytes(wal->bytes());
      last_wal_report = now;
    }
    if (reconnect_at >= 0) {
      if (now < reconnect_at) {
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::min<int64_t>(50, reconnect_at - now)));
        continue;
      }
      rc = mosquitto_reconnect(c.mosq);
      if (rc != MOSQ_ERR_SUCCESS) {
        backoff_ms = std::min<int64_t>(backoff_ms * 2, 5000);
        reconnect_at = SteadyMillis() + backoff_ms;
        continue;
      }
      backoff_ms = 100;
      reconnect_at = -1;
    }
    int fd = mosquitto_socket(c.mosq);
    if (fd < 0) {
      lost(MOSQ_ERR_NO_CONN);
      continue;
    }
    const bool room = sink->HasRoom();
    pollfd p{fd, 0, 0};
    if (room) p.events |= POLLIN;
    if (mosquitto_want_write(c.mosq)) p.events |= POLLOUT;
    if (p.events == 0) {
      sink->WaitForRoom(std::chrono::milliseconds(10));
    } else if (::poll(&p, 1, room ? 100 : 10) < 0 && errno != EINTR) {
      return Status::IOError("poll: ", std::strerror(errno));
    }
    if (room && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
      int n = 0;
      do {
        rc = mosquitto_loop_read(c.mosq, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
          lost(rc);
          break;
        }
      } while (++n < options_.max_read_batch &&
               static_cast<int>(c.batch.size()) < options_.max_read_batch && c.error.ok() &&
               sink->HasRoom() && Readable(fd));
    }
    if (!c.error.ok()) break;
    // Logged and flushed before the acknowledgements below go out.
    ARROW_RETURN_NOT_OK(deliver());
    if (reconnect_at < 0 && mosquitto_want_write(c.mosq)) {
      rc = mosquitto_loop_write(c.mosq, 1);
      if (rc != MOSQ_ERR_SUCCESS) lost(rc);
    }
    if (reconnect_at < 0) {
      rc = mosquitto_loop_misc(c.mosq);
      if (rc != MOSQ_ERR_SUCCESS) lost(rc);
    }
    if (options_.idle_exit_ms >= 0 && c.ever_connected &&
        SteadyMillis() - last_activity > options_.idle_exit_ms) {
      break;
    }
  }

  // 4. Shut down: what was read is delivered and acknowledged; the host says it is offline.
  Status final_st = deliver();
  ARROW_RETURN_NOT_OK(wal->Flush());
  if (c.connected) {
    if (!options_.host_id.empty()) {
      std::string payload = sparkplug::StatePayload(false, c.birth_ms);
      std::string topic = sparkplug::StateTopic(options_.host_id);
      mosquitto_publish(c.mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                        payload.data(), 1, true);
    }
    mosquitto_disconnect(c.mosq);
    int64_t deadline = SteadyMillis() + 2000;
    while (mosquitto_want_write(c.mosq) && SteadyMillis() < deadline) {
      if (mosquitto_loop_write(c.mosq, 1) != MOSQ_ERR_SUCCESS) break;
      if (mosquitto_want_write(c.mosq)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  if (metrics_) metrics_->Connected(false);
  ARROW_RETURN_NOT_OK(c.error);
  return final_st;
}

}  // namespace millpond::ingest
