// Modbus register decoding: which area a tag reads (holding/input registers, coils, discrete
// inputs), how many 16-bit registers its type spans, and how the bytes of those registers make a
// value (byte order inside a register, word order across registers; "ABCD", "CDAB", "BADC",
// "DCBA"), then scale and offset. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "millpond/common/status.h"
#include "millpond/ingest/value.h"

namespace millpond::ingest::modbus {

enum class Area { kHolding, kInput, kCoil, kDiscrete };
enum class DataType {
  kBool, kInt16, kUint16, kInt32, kUint32, kInt64, kUint64, kFloat32, kFloat64
};

/// "holding" (or "holding_register"), "input", "coil", "discrete" (or "discrete_input").
Result<Area> ParseArea(const std::string& text);
const char* AreaName(Area area);
/// Bit areas hold coils and discrete inputs (one bit each); the others 16-bit registers.
inline bool IsBitArea(Area area) { return area == Area::kCoil || area == Area::kDiscrete; }

/// "bool", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32" ("float"),
/// "float64" ("double").
Result<DataType> ParseDataType(const std::string& text);
const char* DataTypeName(DataType type);
/// Registers a value of `type` spans (bool: 1 register or 1 bit).
int RegisterCount(DataType type);

/// How the bytes of a value lie in its registers. Modbus sends each register high byte first;
/// `byte_swap` says a device put the low byte first, `word_swap` that the low register comes
/// first. "ABCD" (the default: big-endian) is neither, "CDAB" word swap, "BADC" byte swap,
/// "DCBA" both.
struct RegisterFormat {
  DataType type = DataType::kUint16;
  bool byte_swap = false;
  bool word_swap = false;
  double scale = 1.0;
  double offset = 0.0;
  /// Scale or offset given: the value becomes a double (raw * scale + offset).
  bool scaled() const { return scale != 1.0 || offset != 0.0; }
};

/// Parses "big"/"little" into `*swap` (little = swapped).
Status ParseEndianness(const std::string& text, const std::string& what, bool* swap);
/// Parses "ABCD", "CDAB", "BADC" or "DCBA" into the two swaps.
Status ParseByteOrder(const std::string& text, RegisterFormat* format);

/// Decodes `RegisterCount(format.type)` registers (as libmodbus returns them: one uint16 per
/// register, its value the two wire bytes read high byte first). Integers come out as int64 (a
/// uint64 above 2^63-1 is an error), floats as double, bool (a register) as "not zero"; with a
/// scale or offset, as double.
Result<Value> DecodeRegisters(const uint16_t* registers, const RegisterFormat& format);

/// The registers that hold `v` in `format` (tests and simulators; no scale or offset applied).
void EncodeRegisters(const Value& v, const RegisterFormat& format, uint16_t* registers);

}  // namespace millpond::ingest::modbus
