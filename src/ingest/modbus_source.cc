// ModbusSource (libmodbus, one poller thread per device) and ModbusMapper.
#include "millpond/ingest/modbus_source.h"

#include <modbus.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "millpond/ingest/metrics.h"
#include "source_util.h"

namespace millpond::ingest {

namespace {

using source_util::NowMicros;

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kQueueLimit = 4096;  // polls read and not yet taken by the source's thread
constexpr size_t kHeaderBytes = 9;    // status byte + poll time

// A Modbus exception response (the device answered): the connection stays usable.
bool IsModbusException(int err) {
  return err > MODBUS_ENOBASE && err <= MODBUS_ENOBASE + MODBUS_EXCEPTION_GATEWAY_TARGET;
}

}  // namespace

std::string EncodePollError(const std::string& error) { return std::string(1, '\1') + error; }

// One poll handed from a device thread to the source's thread.
struct PollItem {
  int device = 0;
  int64_t received_micros = 0;
  std::string payload;
};

// The queue between the device threads and the source's thread.
struct PollQueue {
  std::mutex mu;
  std::condition_variable cv;        // the source's thread waits for polls
  std::condition_variable space_cv;  // pollers wait for room in `items`
  std::deque<PollItem> items;
  int running = 0;  // device threads still polling
};

// One device's poll loop.
struct ModbusSource::Poller {
  ModbusSource* self = nullptr;
  const modbus::Device* device = nullptr;
  int index = 0;
  Sink* sink = nullptr;
  PollQueue* queue = nullptr;
  const std::atomic<bool>* stop = nullptr;
  modbus_t* ctx = nullptr;
  bool ever_connected = false;
  std::vector<uint16_t> regs;
  std::vector<uint8_t> bits;

  ~Poller() { Close(); }

  void Close() {
    if (ctx) {
      modbus_close(ctx);
      modbus_free(ctx);
      ctx = nullptr;
    }
  }

  // Connects when needed; the error text when it cannot.
  std::string Connect() {
    if (ctx) return {};
    std::string port = std::to_string(device->port);
    ctx = modbus_new_tcp_pi(device->host.c_str(), port.c_str());
    if (!ctx) return std::string("cannot create a Modbus context: ") + modbus_strerror(errno);
    const int64_t t = self->config_->timeout_ms;
    modbus_set_response_timeout(ctx, static_cast<uint32_t>(t / 1000),
                                static_cast<uint32_t>((t % 1000) * 1000));
    modbus_set_error_recovery(ctx, MODBUS_ERROR_RECOVERY_NONE);
    modbus_set_slave(ctx, device->unit_id);
    if (modbus_connect(ctx) != 0) {
      std::string err = modbus_strerror(errno);
      Close();
      return "cannot connect: " + err;
    }
    if (ever_connected) {
      self->stats_.reconnects.fetch_add(1);
      if (self->metrics_) self->metrics_->Reconnect();
    }
    ever_connected = true;
    return {};
  }

  // Reads every planned block: the payload of a complete poll, or of a failed one.
  std::string Poll(int64_t* received_micros) {
    std::string err = Connect();
    if (!err.empty()) return EncodePollError(err);
    std::string payload;
    payload.reserve(kHeaderBytes + device->payload_bytes);
    payload.push_back('\0');
    payload.append(8, '\0');
    for (const auto& b : device->blocks) {
      int rc = -1;
      if (modbus::IsBitArea(b.area)) {
        bits.resize(static_cast<size_t>(b.count));
        rc = b.area == modbus::Area::kCoil ? modbus_read_bits(ctx, b.address, b.count, bits.data())
                                           : modbus_read_input_bits(ctx, b.address, b.count,
                                                                    bits.data());
        if (rc == b.count) payload.append(reinterpret_cast<const char*>(bits.data()), bits.size());
      } else {
        regs.resize(static_cast<size_t>(b.count));
        rc = b.area == modbus::Area::kHolding
                 ? modbus_read_registers(ctx, b.address, b.count, regs.data())
                 : modbus_read_input_registers(ctx, b.address, b.count, regs.data());
        if (rc == b.count) {
          for (uint16_t r : regs) {
            payload.push_back(static_cast<char>(r >> 8));
            payload.push_back(static_cast<char>(r & 0xff));
          }
        }
      }
      if (rc != b.count) {
        int e = errno;
        std::string what = std::string("reading ") + modbus::AreaName(b.area) + " " +
                           std::to_string(b.address) + "+" + std::to_string(b.count) + ": " +
                           (rc < 0 ? modbus_strerror(e) : "short response");
        // After a timeout a late answer may still arrive: only a fresh connection is in step.
        if (rc >= 0 || !IsModbusException(e)) Close();
        return EncodePollError(what);
      }
    }
    *received_micros = NowMicros();
    int64_t t = *received_micros;
    for (int i = 0; i < 8; ++i) payload[1 + i] = static_cast<char>((t >> (8 * i)) & 0xff);
    self->stats_.points.fetch_add(static_cast<int64_t>(device->tags.size()));
    return payload;
  }

  bool Stopping() const { return stop->load(); }

  void Loop() {
    const auto interval = std::chrono::milliseconds(device->interval_ms);
    const int64_t max_polls = self->options_.max_polls;
    int64_t attempts = 0;
    int64_t backoff_ms = 0;
    auto next = SteadyClock::now();
    while (!Stopping() && (max_polls < 0 || attempts < max_polls)) {
      // Sleep to the tick in short steps, so that a stop is noticed.
      while (!Stopping()) {
        auto now = SteadyClock::now();
        if (now >= next) break;
        std::this_thread::sleep_for(std::min<SteadyClock::duration>(
            next - now, std::chrono::milliseconds(50)));
      }
      if (Stopping()) break;
      auto now = SteadyClock::now();
      next += interval;
      if (next < now) next = now;  // a slow poll: the missed ticks are not made up
      if (!sink->HasRoom()) {
        self->stats_.skipped.fetch_add(1);
        // Back to back polling would spin here: wait (a while at most) for the committer.
        if (device->interval_ms < 50) sink->WaitForRoom(std::chrono::milliseconds(50));
        continue;
      }
      {
        // The source's thread is behind: wait for it rather than read more.
        std::unique_lock<std::mutex> lk(queue->mu);
        queue->space_cv.wait_for(lk, std::chrono::milliseconds(100),
                                 [&] { return queue->items.size() < kQueueLimit; });
        if (queue->items.size() >= kQueueLimit) {
          self->stats_.skipped.fetch_add(1);
          continue;
        }
      }
      PollItem item;
      item.device = index;
      item.received_micros = NowMicros();
      item.payload = Poll(&item.received_micros);
      ++attempts;
      const bool ok = item.payload[0] == '\0';
      if (ok) {
        self->stats_.polls.fetch_add(1);
        backoff_ms = 0;
      } else {
        self->stats_.failed.fetch_add(1);
        if (!ctx) {
          // Down: try again after a growing pause (at least the interval).
          backoff_ms = std::min<int64_t>(std::max<int64_t>(backoff_ms * 2, 100),
                                         self->options_.max_backoff_ms);
          next = std::max(next, SteadyClock::now() + std::chrono::milliseconds(backoff_ms));
        }
      }
      {
        std::lock_guard<std::mutex> lk(queue->mu);
        queue->items.push_back(std::move(item));
      }
      queue->cv.notify_one();
    }
    Close();
    {
      std::lock_guard<std::mutex> lk(queue->mu);
      --queue->running;
    }
    queue->cv.notify_one();
  }
};

ModbusSource::ModbusSource(const modbus::Config* config, ModbusOptions options,
                           IngestMetrics* metrics)
    : config_(config), options_(std::move(options)), metrics_(metrics) {}

ModbusSource::~ModbusSource() = default;

Result<std::unique_ptr<ModbusSource>> ModbusSource::Make(const modbus::Config* config,
                                                         ModbusOptions options,
                                                         IngestMetrics* metrics) {
  if (config->devices.empty()) return Status::Invalid("no Modbus device to poll");
  for (const auto& d : config->devices) {
    if (d.blocks.empty()) return Status::Invalid("device ", d.name, ": reads not planned");
  }
  if (options.source_id.empty()) return Status::Invalid("the Modbus source needs an id");
  if (options.wal_dir.empty()) {
    return Status::Invalid("the Modbus source needs a write-ahead log folder");
  }
  return std::unique_ptr<ModbusSource>(new ModbusSource(config, std::move(options), metrics));
}

Status ModbusSource::Run(int64_t position_floor, Sink* sink, const std::atomic<bool>& stop) {
  ARROW_ASSIGN_OR_RAISE(auto wal, WriteAheadLog::Open(options_.wal_dir, options_.wal));
  // 1. Polls logged before a crash: the pipeline drops what its tables already committed.
  Status st = source_util::ReplayWal(*wal, sink, stop);
  if (st.IsCancelled()) return Status::OK();
  ARROW_RETURN_NOT_OK(st);
  int64_t next_position = std::max(wal->last_position(), position_floor) + 1;

  // 2. One poller per device.
  std::atomic<bool> halt{false};  // stop, the duration, or an error of this thread
  PollQueue queue;
  std::vector<std::unique_ptr<Poller>> pollers;
  for (size_t i = 0; i < config_->devices.size(); ++i) {
    auto p = std::make_unique<Poller>();
    p->self = this;
    p->device = &config_->devices[i];
    p->index = static_cast<int>(i);
    p->sink = sink;
    p->queue = &queue;
    p->stop = &halt;
    pollers.push_back(std::move(p));
  }
  queue.running = static_cast<int>(pollers.size());
  std::vector<std::thread> threads;
  for (auto& p : pollers) threads.emplace_back([raw = p.get()] { raw->Loop(); });
  if (metrics_) metrics_->Connected(true);

  // 3. Log and deliver what the pollers read.
  const auto deadline = options_.duration_ms >= 0
                            ? SteadyClock::now() + std::chrono::milliseconds(options_.duration_ms)
                            : SteadyClock::time_point::max();
  int64_t truncated = 0;
  auto last_report = SteadyClock::now();
  std::deque<PollItem> batch;
  Status error;
  auto drain = [&]() -> Status {
    if (batch.empty()) return Status::OK();
    std::vector<SourceMessage> msgs;
    msgs.reserve(batch.size());
    for (auto& item : batch) {
      WalRecord rec;
      rec.position = next_position++;
      rec.received_micros = item.received_micros;
      rec.tag = static_cast<uint32_t>(item.device);
      rec.address = config_->devices[static_cast<size_t>(item.device)].name;
      rec.payload = std::move(item.payload);
      ARROW_RETURN_NOT_OK(wal->Append(rec));
      SourceMessage m;
      m.position = rec.position;
      m.received_micros = rec.received_micros;
      m.address = std::move(rec.address);
      m.payload = std::move(rec.payload);
      msgs.push_back(std::move(m));
    }
    batch.clear();
    // Logged before it counts as received: a crash after this replays it.
    ARROW_RETURN_NOT_OK(wal->Flush());
    for (const auto& m : msgs) ARROW_RETURN_NOT_OK(sink->Deliver(m, nullptr));
    return Status::OK();
  };
  while (true) {
    bool finished = false;
    {
      std::unique_lock<std::mutex> lk(queue.mu);
      queue.cv.wait_for(lk, std::chrono::milliseconds(100),
                        [&] { return !queue.items.empty() || queue.running == 0; });
      batch.swap(queue.items);
      finished = queue.running == 0 && batch.empty();
    }
    queue.space_cv.notify_all();
    error = drain();
    if (!error.ok() || finished) break;
    if (stop.load() || SteadyClock::now() >= deadline) halt.store(true);
    int64_t committed = committed_.load();
    if (committed > truncated) {
      error = wal->Truncate(committed, {});
      if (!error.ok()) break;
      truncated = committed;
    }
    if (metrics_ && SteadyClock::now() - last_report > std::chrono::seconds(1)) {
      metrics_->WalBytes(wal->bytes());
      last_report = SteadyClock::now();
    }
  }
  // 4. Stop the pollers; what they read before stopping is still logged and delivered.
  halt.store(true);
  for (auto& t : threads) t.join();
  {
    std::lock_guard<std::mutex> lk(queue.mu);
    batch.swap(queue.items);
  }
  if (error.ok()) error = drain();
  if (metrics_) metrics_->Connected(false);
  return error;
}

// ---------------------------------------------------------------------------------------------
// ModbusMapper

ModbusMapper::ModbusMapper(const modbus::Config* config, std::unique_ptr<TagRows> rows)
    : config_(config), rows_(std::move(rows)) {
  for (const auto& d : config_->devices) devices_[d.name] = &d;
}

Result<std::unique_ptr<ModbusMapper>> ModbusMapper::Make(const modbus::Config* config,
                                                         TagRowsOptions options) {
  ARROW_ASSIGN_OR_RAISE(auto rows, TagRows::Make(std::move(options)));
  return std::unique_ptr<ModbusMapper>(new ModbusMapper(config, std::move(rows)));
}

Status ModbusMapper::Prepare(TableSet* tables) {
  ARROW_RETURN_NOT_OK(rows_->Prepare(tables));
  for (const auto& d : config_->devices) {
    for (const auto& t : d.tags) {
      auto h = rows_->Table(t.table);
      if (!h.ok()) return h.status().WithMessage("device ", d.name, " tag ", t.name, ": ",
                                                 h.status().message());
      tables_[&t] = *h;
    }
  }
  return Status::OK();
}

Status ModbusMapper::Map(const SourceMessage& m, MapOutput* out) {
  auto it = devices_.find(m.address);
  if (it == devices_.end()) {
    return rows_->DeadLetter(m, "poll of device " + m.address + ", which the map no longer has",
                             m.payload, out);
  }
  const modbus::Device& d = *it->second;
  if (m.payload.empty() || m.payload[0] != '\0') {
    std::string err = m.payload.empty() ? "empty poll" : m.payload.substr(1);
    return rows_->DeadLetter(m, "device " + d.name + ": " + err, "", out);
  }
  if (m.payload.size() != kHeaderBytes + d.payload_bytes) {
    return rows_->DeadLetter(m, "poll of device " + d.name + " does not match the map's reads",
                             m.payload, out);
  }
  const auto* p = reinterpret_cast<const unsigned char*>(m.payload.data());
  int64_t poll_micros = 0;
  for (int i = 7; i >= 0; --i) poll_micros = (poll_micros << 8) | p[1 + i];
  // Where each read's bytes begin.
  std::vector<size_t> starts;
  size_t at = kHeaderBytes;
  for (const auto& b : d.blocks) {
    starts.push_back(at);
    at += static_cast<size_t>(b.count) * (modbus::IsBitArea(b.area) ? 1 : 2);
  }
  TagSample s;
  s.device = d.name;
  s.ts = Timestamp{poll_micros};
  s.poll = m.position;
  uint16_t regs[4];
  for (const auto& t : d.tags) {
    const size_t base = starts[static_cast<size_t>(t.block)];
    s.tag = t.name;
    s.unit = t.unit;
    s.datatype = modbus::DataTypeName(t.format.type);
    if (modbus::IsBitArea(t.area)) {
      s.value = p[base + static_cast<size_t>(t.offset)] != 0;
    } else {
      const int n = modbus::RegisterCount(t.format.type);
      for (int i = 0; i < n; ++i) {
        size_t o = base + 2 * static_cast<size_t>(t.offset + i);
        regs[i] = static_cast<uint16_t>((p[o] << 8) | p[o + 1]);
      }
      auto v = modbus::DecodeRegisters(regs, t.format);
      if (!v.ok()) {
        ARROW_RETURN_NOT_OK(rows_->DeadLetter(
            m, "device " + d.name + " tag " + t.name + ": " + v.status().message(), "", out));
        continue;
      }
      s.value = std::move(*v);
    }
    ARROW_RETURN_NOT_OK(rows_->Emit(tables_[&t], s, t.limits, m, out));
  }
  for (const auto& r : d.raw) {
    const size_t base = starts[static_cast<size_t>(r.block)];
    const bool bit = modbus::IsBitArea(r.area);
    const size_t width = bit ? 1 : 2;
    std::string bytes = m.payload.substr(base + width * static_cast<size_t>(r.offset),
                                         width * static_cast<size_t>(r.count));
    std::string text;
    for (int i = 0; i < r.count; ++i) {
      size_t o = width * static_cast<size_t>(i);
      unsigned v = bit ? static_cast<unsigned char>(bytes[o])
                       : (static_cast<unsigned char>(bytes[o]) << 8) |
                             static_cast<unsigned char>(bytes[o + 1]);
      text += (i ? " " : "") + std::to_string(v);
    }
    std::string tag = std::string(modbus::AreaName(r.area)) + ":" + std::to_string(r.address) +
                      "+" + std::to_string(r.count);
    ARROW_RETURN_NOT_OK(rows_->Raw(m, d.name, tag, text, "registers not mapped", bytes, out));
  }
  return Status::OK();
}

}  // namespace millpond::ingest
