// Modbus register decoding.
#include "millpond/ingest/modbus_decode.h"

#include <cstring>
#include <limits>

namespace millpond::ingest::modbus {

Result<Area> ParseArea(const std::string& text) {
  if (text == "holding" || text == "holding_register" || text == "holding_registers") {
    return Area::kHolding;
  }
  if (text == "input" || text == "input_register" || text == "input_registers") return Area::kInput;
  if (text == "coil" || text == "coils") return Area::kCoil;
  if (text == "discrete" || text == "discrete_input" || text == "discrete_inputs") {
    return Area::kDiscrete;
  }
  return Status::Invalid("register area must be holding, input, coil or discrete, not '", text,
                         "'");
}

const char* AreaName(Area area) {
  switch (area) {
    case Area::kHolding: return "holding";
    case Area::kInput: return "input";
    case Area::kCoil: return "coil";
    case Area::kDiscrete: return "discrete";
  }
  return "holding";
}

namespace {
struct TypeName {
  const char* name;
  DataType type;
};
constexpr TypeName kTypeNames[] = {
    {"bool", DataType::kBool},       {"int16", DataType::kInt16},
    {"uint16", DataType::kUint16},   {"int32", DataType::kInt32},
    {"uint32", DataType::kUint32},   {"int64", DataType::kInt64},
    {"uint64", DataType::kUint64},   {"float32", DataType::kFloat32},
    {"float64", DataType::kFloat64}, {"float", DataType::kFloat32},
    {"double", DataType::kFloat64},  {"boolean", DataType::kBool}};
}  // namespace

Result<DataType> ParseDataType(const std::string& text) {
  for (const auto& t : kTypeNames) {
    if (text == t.name) return t.type;
  }
  return Status::Invalid("Modbus type must be bool, int16, uint16, int32, uint32, int64, uint64, "
                         "float32 or float64, not '", text, "'");
}

const char* DataTypeName(DataType type) {
  for (const auto& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "uint16";
}

int RegisterCount(DataType type) {
  switch (type) {
    case DataType::kBool:
    case DataType::kInt16:
    case DataType::kUint16: return 1;
    case DataType::kInt32:
    case DataType::kUint32:
    case DataType::kFloat32: return 2;
    case DataType::kInt64:
    case DataType::kUint64:
    case DataType::kFloat64: return 4;
  }
  return 1;
}

Status ParseEndianness(const std::string& text, const std::string& what, bool* swap) {
  if (text == "big") {
    *swap = false;
  } else if (text == "little") {
    *swap = true;
  } else {
    return Status::Invalid(what, " must be big or little, not '", text, "'");
  }
  return Status::OK();
}

Status ParseByteOrder(const std::string& text, RegisterFormat* format) {
  if (text == "ABCD") {
    format->byte_swap = false, format->word_swap = false;
  } else if (text == "CDAB") {
    format->byte_swap = false, format->word_swap = true;
  } else if (text == "BADC") {
    format->byte_swap = true, format->word_swap = false;
  } else if (text == "DCBA") {
    format->byte_swap = true, format->word_swap = true;
  } else {
    return Status::Invalid("order must be ABCD, CDAB, BADC or DCBA, not '", text, "'");
  }
  return Status::OK();
}

namespace {

// The value's bytes, most significant first.
uint64_t Assemble(const uint16_t* regs, int n, const RegisterFormat& f) {
  uint64_t bits = 0;
  for (int i = 0; i < n; ++i) {
    uint16_t r = regs[f.word_swap ? n - 1 - i : i];
    if (f.byte_swap) r = static_cast<uint16_t>((r >> 8) | (r << 8));
    bits = (bits << 16) | r;
  }
  return bits;
}

}  // namespace

Result<Value> DecodeRegisters(const uint16_t* registers, const RegisterFormat& format) {
  const int n = RegisterCount(format.type);
  const uint64_t bits = Assemble(registers, n, format);
  Value v;
  switch (format.type) {
    case DataType::kBool: v = bits != 0; break;
    case DataType::kInt16: v = static_cast<int64_t>(static_cast<int16_t>(bits)); break;
    case DataType::kUint16: v = static_cast<int64_t>(static_cast<uint16_t>(bits)); break;
    case DataType::kInt32: v = static_cast<int64_t>(static_cast<int32_t>(bits)); break;
    case DataType::kUint32: v = static_cast<int64_t>(static_cast<uint32_t>(bits)); break;
    case DataType::kInt64: v = static_cast<int64_t>(bits); break;
    case DataType::kUint64:
      if (bits > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        if (format.scaled()) {
          v = static_cast<double>(bits);
          break;
        }
        return Status::Invalid("uint64 value ", bits, " does not fit a BIGINT");
      }
      v = static_cast<int64_t>(bits);
      break;
    case DataType::kFloat32: {
      uint32_t b = static_cast<uint32_t>(bits);
      float fl;
      std::memcpy(&fl, &b, sizeof(fl));
      v = static_cast<double>(fl);
      break;
    }
    case DataType::kFloat64: {
      double d;
      std::memcpy(&d, &bits, sizeof(d));
      v = d;
      break;
    }
  }
  if (!format.scaled() || format.type == DataType::kBool) return v;
  double d = 0;
  if (auto* i = std::get_if<int64_t>(&v)) {
    d = static_cast<double>(*i);
  } else {
    d = std::get<double>(v);
  }
  return Value(d * format.scale + format.offset);
}

void EncodeRegisters(const Value& v, const RegisterFormat& format, uint16_t* registers) {
  const int n = RegisterCount(format.type);
  uint64_t bits = 0;
  if (format.type == DataType::kFloat32) {
    float fl = 0;
    if (auto* d = std::get_if<double>(&v)) fl = static_cast<float>(*d);
    if (auto* i = std::get_if<int64_t>(&v)) fl = static_cast<float>(*i);
    uint32_t b;
    std::memcpy(&b, &fl, sizeof(b));
    bits = b;
  } else if (format.type == DataType::kFloat64) {
    double d = 0;
    if (auto* p = std::get_if<double>(&v)) d = *p;
    if (auto* i = std::get_if<int64_t>(&v)) d = static_cast<double>(*i);
    std::memcpy(&bits, &d, sizeof(bits));
  } else if (auto* i = std::get_if<int64_t>(&v)) {
    bits = static_cast<uint64_t>(*i);
  } else if (auto* b = std::get_if<bool>(&v)) {
    bits = *b ? 1 : 0;
  }
  for (int i = 0; i < n; ++i) {
    // Register i of the big-endian layout holds bits [16*(n-1-i), 16*(n-i)).
    uint16_t r = static_cast<uint16_t>(bits >> (16 * (n - 1 - i)));
    if (format.byte_swap) r = static_cast<uint16_t>((r >> 8) | (r << 8));
    registers[format.word_swap ? n - 1 - i : i] = r;
  }
}

}  // namespace millpond::ingest::modbus
