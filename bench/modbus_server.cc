// A Modbus TCP simulator for bench/modbus_run.sh: N devices on consecutive loopback ports, each
// served by its own thread (libmodbus server mode), holding registers 0..R-1 = 0, 1, 2, ...
// Usage: modbus_server --base-port P --devices N [--registers R]; prints "ready" when listening
// and serves until killed.
#include <modbus.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

void Serve(int port, modbus_mapping_t* mapping, int listen_fd, modbus_t* ctx) {
  std::vector<uint8_t> query(MODBUS_TCP_MAX_ADU_LENGTH);
  while (true) {
    int fd = listen_fd;
    if (modbus_tcp_accept(ctx, &fd) < 0) continue;
    while (true) {
      int rc = modbus_receive(ctx, query.data());
      if (rc > 0) {
        modbus_reply(ctx, query.data(), rc, mapping);
      } else if (rc < 0) {
        break;  // the client went away
      }
    }
    close(modbus_get_socket(ctx));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int base_port = 15500, devices = 50, registers = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (a == "--base-port") base_port = v;
    else if (a == "--devices") devices = v;
    else if (a == "--registers") registers = v;
  }
  modbus_mapping_t* mapping = modbus_mapping_new(registers, registers, registers, registers);
  for (int i = 0; i < registers; ++i) {
    mapping->tab_registers[i] = static_cast<uint16_t>(i);
    mapping->tab_input_registers[i] = static_cast<uint16_t>(i);
  }
  std::vector<std::thread> threads;
  for (int d = 0; d < devices; ++d) {
    modbus_t* ctx = modbus_new_tcp("127.0.0.1", base_port + d);
    int fd = ctx ? modbus_tcp_listen(ctx, 1) : -1;
    if (fd < 0) {
      std::fprintf(stderr, "modbus_server: cannot listen on port %d: %s\n", base_port + d,
                   modbus_strerror(errno));
      std::_Exit(1);  // the serving threads never end

    }
    threads.emplace_back(Serve, base_port + d, mapping, fd, ctx);
  }
  std::printf("ready\n");
  std::fflush(stdout);
  for (auto& t : threads) t.join();
  return 0;
}
