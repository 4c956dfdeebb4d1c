// MQTT ingest benchmark tools (bench/mqtt_run.sh drives them):
//   mqtt_bench publish --port P --count N [--rate R] [--inflight W] [--qos 1]
//       A libmosquitto publisher at full rate (or R messages/s): JSON readings carrying their
//       sequence number and publish time ("t", microseconds since the epoch) over 64 topics.
//       Prints one JSON line: messages, seconds, rate.
//   mqtt_bench visible --warehouse W --table T
//       For every row: when it became visible (its APPEND snapshot's commit time) minus when it
//       was published. Prints one JSON line: rows, distinct seqs, publish-to-visible p50/p99/max,
//       the first publish and the last commit (microseconds since the epoch).
#include <mosquitto.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <arrow/api.h>
#include <arrow/compute/initialize.h>

#include "millpond/paimon/data_file.h"
#include "millpond/table/catalog.h"
#include "millpond/table/manifest_io.h"

namespace mp = millpond;

namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Arg(int argc, char** argv, const char* name, const char* dflt) {
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return dflt;
}

std::atomic<int64_t> g_acked{0};
std::atomic<bool> g_connected{false};

extern "C" void OnPublish(mosquitto*, void*, int) { g_acked.fetch_add(1); }
extern "C" void OnConnect(mosquitto*, void*, int rc) { g_connected.store(rc == 0); }

int Publish(int argc, char** argv) {
  const std::string host = Arg(argc, argv, "--host", "127.0.0.1");
  const int port = std::stoi(Arg(argc, argv, "--port", "1883"));
  const int64_t count = std::stoll(Arg(argc, argv, "--count", "100000"));
  const double rate = std::stod(Arg(argc, argv, "--rate", "0"));
  const int64_t window = std::stoll(Arg(argc, argv, "--inflight", "1000"));
  const int qos = std::stoi(Arg(argc, argv, "--qos", "1"));
  const std::string prefix = Arg(argc, argv, "--topic", "bench");
  mosquitto_lib_init();
  mosquitto* m = mosquitto_new(nullptr, true, nullptr);
  // One thread drives the client: queued PUBLISHes go out in batches on mosquitto_loop_write,
  // PUBACKs are read in batches (no wake-up of a loop thread per message).
  mosquitto_threaded_set(m, true);
  mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_max_inflight_messages_set(m, static_cast<unsigned>(window));
  mosquitto_publish_callback_set(m, OnPublish);
  mosquitto_connect_callback_set(m, OnConnect);
  if (mosquitto_connect(m, host.c_str(), port, 60) != MOSQ_ERR_SUCCESS) {
    std::fprintf(stderr, "mqtt_bench: cannot connect to %s:%d\n", host.c_str(), port);
    return 1;
  }
  auto pump = [&](int timeout_ms) -> bool {
    int fd = mosquitto_socket(m);
    pollfd p{fd, POLLIN, 0};
    if (mosquitto_want_write(m)) p.events |= POLLOUT;
    if (::poll(&p, 1, timeout_ms) < 0) return false;
    if (p.revents & POLLIN) {
      do {
        if (mosquitto_loop_read(m, 1) != MOSQ_ERR_SUCCESS) return false;
        p.revents = 0;
      } while (::poll(&p, 1, 0) > 0 && (p.revents & POLLIN));
    }
    if (mosquitto_want_write(m) && mosquitto_loop_write(m, 1) != MOSQ_ERR_SUCCESS) return false;
    return mosquitto_loop_misc(m) == MOSQ_ERR_SUCCESS;
  };
  while (!g_connected.load()) {
    if (!pump(100)) {
      std::fprintf(stderr, "mqtt_bench: connection failed\n");
      return 1;
    }
  }
  std::vector<std::string> topics;
  for (int i = 0; i < 64; ++i) {
    topics.push_back(prefix + "/L" + std::to_string(i % 8) + "/S" + std::to_string(i));
  }
  const int64_t start = NowMicros();
  char payload[256];
  int64_t i = 0;
  while (i < count || (qos > 0 && g_acked.load() < count)) {
    int64_t now = NowMicros();
    while (i < count && (qos == 0 || i - g_acked.load() < window)) {
      if (rate > 0 && start + static_cast<int64_t>(static_cast<double>(i) * 1e6 / rate) > now) {
        break;
      }
      int n = std::snprintf(payload, sizeof(payload),
                            "{\"seq\":%lld,\"t\":%lld,\"line\":\"L%d\",\"sensor\":\"S%d\","
                            "\"value\":%.3f,\"quality\":192}",
                            static_cast<long long>(i), static_cast<long long>(NowMicros()),
                            static_cast<int>(i % 8), static_cast<int>(i % 64),
                            static_cast<double>(i % 1000) / 7.0);
      const std::string& topic = topics[static_cast<size_t>(i % 64)];
      int rc = mosquitto_publish(m, nullptr, topic.c_str(), n, payload, qos, false);
      if (rc != MOSQ_ERR_SUCCESS) {
        std::fprintf(stderr, "mqtt_bench: publish failed: %s\n", mosquitto_strerror(rc));
        return 1;
      }
      ++i;
      if (qos == 0) g_acked.fetch_add(1);
      if (i % 256 == 0) break;  // let the socket drain now and then
    }
    if (!pump(i < count && (qos == 0 || i - g_acked.load() < window) ? 0 : 1)) {
      std::fprintf(stderr, "mqtt_bench: connection lost\n");
      return 1;
    }
  }
  while (mosquitto_want_write(m)) pump(1);
  const double secs = static_cast<double>(NowMicros() - start) / 1e6;
  mosquitto_disconnect(m);
  while (mosquitto_want_write(m) && mosquitto_loop_write(m, 1) == MOSQ_ERR_SUCCESS) {
  }
  mosquitto_destroy(m);
  std::printf("{\"what\":\"publish\",\"messages\":%lld,\"start_us\":%lld,\"seconds\":%.3f,"
              "\"rate\":%.0f}\n",
              static_cast<long long>(count), static_cast<long long>(start), secs,
              static_cast<double>(count) / secs);
  return 0;
}

mp::Status Visible(int argc, char** argv) {
  ARROW_RETURN_NOT_OK(arrow::compute::Initialize());
  ARROW_ASSIGN_OR_RAISE(auto catalog,
                        mp::table::Catalog::Open(Arg(argc, argv, "--warehouse", "wh"), false));
  ARROW_ASSIGN_OR_RAISE(auto table, catalog->GetTable(Arg(argc, argv, "--table", "bench.mqtt")));
  ARROW_ASSIGN_OR_RAISE(auto schema, table->LatestSchema());
  mp::table::ManifestIO io(table->file_system(), table->path(), mp::paimon::AvroCodec::kZstd,
                           mp::table::PartitionTypes(schema));
  std::vector<int64_t> latencies;
  std::set<int64_t> seqs;
  int64_t first_publish = INT64_MAX, last_commit = 0;
  ARROW_ASSIGN_OR_RAISE(auto ids, table->snapshots().ListSnapshotIds());
  for (int64_t id : ids) {
    ARROW_ASSIGN_OR_RAISE(auto s, table->snapshots().ReadSnapshot(id));
    if (s.commit_kind != "APPEND") continue;
    const int64_t visible = s.time_millis * 1000;
    last_commit = std::max(last_commit, visible);
    ARROW_ASSIGN_OR_RAISE(auto metas, io.ReadManifestList(s.delta_manifest_list));
    for (const auto& meta : metas) {
      ARROW_ASSIGN_OR_RAISE(auto entries, io.ReadManifest(meta.file_name));
      for (const auto& e : entries) {
        if (e.kind != mp::paimon::FileKind::kAdd) continue;
        ARROW_ASSIGN_OR_RAISE(auto path, mp::table::DataFilePath(schema, table->path(), e));
        ARROW_ASSIGN_OR_RAISE(auto data, mp::paimon::ReadDataFile(*table->file_system(), path,
                                                                  "parquet", {"seq", "t"}));
        ARROW_ASSIGN_OR_RAISE(data, data->CombineChunks());
        auto seq = std::static_pointer_cast<arrow::Int64Array>(data->column(0)->chunk(0));
        auto t = std::static_pointer_cast<arrow::Int64Array>(data->column(1)->chunk(0));
        for (int64_t i = 0; i < data->num_rows(); ++i) {
          latencies.push_back(visible - t->Value(i));
          first_publish = std::min(first_publish, t->Value(i));
          seqs.insert(seq->Value(i));
        }
      }
    }
  }
  if (latencies.empty()) return mp::Status::Invalid("no rows in the table");
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    size_t i = static_cast<size_t>(p * static_cast<double>(latencies.size() - 1));
    return static_cast<double>(latencies[i]) / 1e6;
  };
  std::printf("{\"what\":\"visible\",\"rows\":%zu,\"distinct\":%zu,\"p50_s\":%.3f,\"p99_s\":%.3f,"
              "\"max_s\":%.3f,\"first_publish_us\":%lld,\"last_commit_us\":%lld,"
              "\"snapshots\":%zu}\n",
              latencies.size(), seqs.size(), pct(0.5), pct(0.99), pct(1.0),
              static_cast<long long>(first_publish), static_cast<long long>(last_commit),
              ids.size());
  return mp::Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "publish") return Publish(argc, argv);
  if (mode == "visible") {
    auto st = Visible(argc, argv);
    if (!st.ok()) {
      std::fprintf(stderr, "mqtt_bench: %s\n", st.ToString().c_str());
      return 1;
    }
    return 0;
  }
  std::fprintf(stderr, "usage: mqtt_bench publish|visible [options] (see bench/mqtt_bench.cc)\n");
  return 2;
}
