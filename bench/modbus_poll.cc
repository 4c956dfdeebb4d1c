// The raw libmodbus poll rate for bench/modbus_run.sh: one thread per device reads the same
// registers `millpond ingest modbus` reads, back to back, for a fixed time, without the pipeline.
// Usage: modbus_poll --base-port P --devices N --registers R --seconds S
// Prints one JSON line: {"polls":..., "points":..., "seconds":..., "points_per_s":...}.
#include <modbus.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  int base_port = 15500, devices = 50, registers = 20;
  double seconds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--base-port") base_port = std::atoi(argv[i + 1]);
    else if (a == "--devices") devices = std::atoi(argv[i + 1]);
    else if (a == "--registers") registers = std::atoi(argv[i + 1]);
    else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
  }
  std::atomic<int64_t> polls{0}, failures{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  auto start = std::chrono::steady_clock::now();
  for (int d = 0; d < devices; ++d) {
    threads.emplace_back([&, d] {
      std::string port = std::to_string(base_port + d);
      modbus_t* ctx = modbus_new_tcp_pi("127.0.0.1", port.c_str());
      if (!ctx || modbus_connect(ctx) != 0) {
        failures.fetch_add(1);
        return;
      }
      std::vector<uint16_t> regs(static_cast<size_t>(registers));
      int64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (modbus_read_registers(ctx, 0, registers, regs.data()) == registers) {
          ++n;
        } else {
          failures.fetch_add(1);
        }
      }
      polls.fetch_add(n);
      modbus_close(ctx);
      modbus_free(ctx);
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int64_t points = polls.load() * registers;
  std::printf("{\"polls\": %lld, \"points\": %lld, \"failures\": %lld, \"seconds\": %.3f, "
              "\"points_per_s\": %.1f}\n",
              static_cast<long long>(polls.load()), static_cast<long long>(points),
              static_cast<long long>(failures.load()), secs, points / secs);
  return failures.load() == 0 ? 0 : 1;
}
