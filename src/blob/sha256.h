// SHA-256 through OpenSSL's EVP interface (SHA-NI where the CPU has it): one-shot digests and a
// streaming hasher. A Sha256 object is single-threaded; the free function is thread-safe.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <string_view>

namespace millpond::blob {

using Digest = std::array<uint8_t, 32>;

Digest Sha256Of(const void* data, size_t n);

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Reset();
  void Update(const void* data, size_t n);
  Digest Final();

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace millpond::blob
