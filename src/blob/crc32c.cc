// CRC-32C (Castagnoli) through ISA-L's crc32_iscsi, which picks the fastest kernel the CPU has
// (crc32 instruction streams, PCLMULQDQ or AVX-512 VPCLMULQDQ folding: ~30 GB/s, about twice a
// 3-way crc32-instruction loop). ISA-L neither inverts the initial value nor the result, so both
// inversions of the standard CRC-32C are done here.
#include "crc32c.h"

#include <isa-l/crc.h>

#include <climits>

namespace millpond::blob {

uint32_t Crc32c(const void* data, size_t n, uint32_t crc) {
  auto* p = static_cast<unsigned char*>(const_cast<void*>(data));  // ISA-L only reads it
  uint32_t r = ~crc;
  while (n > 0) {
    const size_t step = n > static_cast<size_t>(INT_MAX / 2) ? INT_MAX / 2 : n;
    r = crc32_iscsi(p, static_cast<int>(step), r);
    p += step;
    n -= step;
  }
  return ~r;
}

}  // namespace millpond::blob
