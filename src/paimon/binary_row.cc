// BinaryRow encoding and decoding. Mirrors org.apache.paimon.data.BinaryRow, BinaryRowWriter,
// AbstractBinaryWriter, BinaryArray(Writer), BinaryMap, RowHelper (nulls of non-compact decimals and
// timestamps keep their reserved variable-length space), SerializationUtils.serializeBinaryRow and
// MurmurHashUtils.hashBytes (seed 42). All multi-byte values are little-endian, as Paimon Java writes
// them on every platform it runs on (x86, ARM).
#include "millpond/paimon/binary_row.h"

#include <bit>
#include <cstring>
#include <mutex>

#include <arrow/array.h>
#include <arrow/array/builder_base.h>
#include <arrow/compute/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/record_batch.h>
#include <arrow/scalar.h>
#include <arrow/util/checked_cast.h>
#include <arrow/util/decimal.h>

namespace millpond::paimon {

static_assert(std::endian::native == std::endian::little,
              "BinaryRow codec assumes a little-endian host (Paimon's byte order)");

namespace {

using arrow::internal::checked_cast;

constexpr int kHeaderSizeInBits = 8;
constexpr int kMaxFixPartDataSize = 7;
constexpr uint64_t kHighestFirstBit = 0x80ULL << 56;
constexpr uint64_t kHighestSecondToEighthBit = 0x7FULL << 56;

int NullBitsSizeInBytes(int64_t arity) {
  return static_cast<int>(((arity + 63 + kHeaderSizeInBits) / 64) * 8);
}
int64_t RoundToWord(int64_t n) { return (n + 7) & ~int64_t{7}; }
bool IsCompactDecimal(int precision) { return precision <= 18; }
bool IsCompactTimestamp(int precision) { return precision <= 3; }
bool IsTimestamp(const DataType& t) {
  return t.root == TypeRoot::kTimestamp || t.root == TypeRoot::kLocalZonedTimestamp;
}

template <typename T>
void Put(std::string* buf, int64_t offset, T value) {
  std::memcpy(buf->data() + offset, &value, sizeof(T));
}
template <typename T>
T Get(std::string_view data, int64_t offset) {
  T value;
  std::memcpy(&value, data.data() + offset, sizeof(T));
  return value;
}

/// Width of an element slot in a BinaryArray (BinaryArray.calculateFixLengthPartSize).
int ArrayElementSize(const DataType& t) {
  switch (t.root) {
    case TypeRoot::kBoolean:
    case TypeRoot::kTinyInt:
      return 1;
    case TypeRoot::kSmallInt:
      return 2;
    case TypeRoot::kInt:
    case TypeRoot::kFloat:
    case TypeRoot::kDate:
    case TypeRoot::kTime:
      return 4;
    default:
      return 8;
  }
}

void EnsureComputeInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { (void)arrow::compute::Initialize(); });
}

bool IsBinaryLike(arrow::Type::type id) {
  switch (id) {
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::BINARY_VIEW:
    case arrow::Type::FIXED_SIZE_BINARY:
      return true;
    default:
      return false;
  }
}

std::string_view BinaryView(const arrow::Array& arr, int64_t i) {
  switch (arr.type_id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
      return checked_cast<const arrow::BinaryArray&>(arr).GetView(i);
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY:
      return checked_cast<const arrow::LargeBinaryArray&>(arr).GetView(i);
    case arrow::Type::STRING_VIEW:
    case arrow::Type::BINARY_VIEW:
      return checked_cast<const arrow::BinaryViewArray&>(arr).GetView(i);
    case arrow::Type::FIXED_SIZE_BINARY:
      return checked_cast<const arrow::FixedSizeBinaryArray&>(arr).GetView(i);
    default:
      return {};
  }
}

/// Cheap check (no allocation) that `t` is already ToArrowType(type) for the atomic types.
bool MatchesExactly(const arrow::DataType& t, const DataType& type) {
  switch (type.root) {
    case TypeRoot::kBoolean:
      return t.id() == arrow::Type::BOOL;
    case TypeRoot::kTinyInt:
      return t.id() == arrow::Type::INT8;
    case TypeRoot::kSmallInt:
      return t.id() == arrow::Type::INT16;
    case TypeRoot::kInt:
      return t.id() == arrow::Type::INT32;
    case TypeRoot::kBigInt:
      return t.id() == arrow::Type::INT64;
    case TypeRoot::kFloat:
      return t.id() == arrow::Type::FLOAT;
    case TypeRoot::kDouble:
      return t.id() == arrow::Type::DOUBLE;
    case TypeRoot::kDate:
      return t.id() == arrow::Type::DATE32;
    case TypeRoot::kTime:
      return t.id() == arrow::Type::TIME32 &&
             checked_cast<const arrow::Time32Type&>(t).unit() == arrow::TimeUnit::MILLI;
    case TypeRoot::kDecimal:
      return t.id() == arrow::Type::DECIMAL128 &&
             checked_cast<const arrow::Decimal128Type&>(t).precision() == type.precision &&
             checked_cast<const arrow::Decimal128Type&>(t).scale() == type.scale;
    default:
      return false;
  }
}

/// Brings an Arrow array into the shape the encoder reads for `type`: binary-like arrays and
/// timestamps of any unit are read as they are, nested arrays are checked here and their children
/// normalized when encoded, anything else is cast to ToArrowType(type).
Result<std::shared_ptr<arrow::Array>> Normalize(const std::shared_ptr<arrow::Array>& arr,
                                                const DataType& type) {
  const arrow::Type::type id = arr->type_id();
  switch (type.root) {
    case TypeRoot::kChar:
    case TypeRoot::kVarChar:
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary:
    case TypeRoot::kBlob:
      if (IsBinaryLike(id)) return arr;
      break;
    case TypeRoot::kTimestamp:
    case TypeRoot::kLocalZonedTimestamp:
      if (id == arrow::Type::TIMESTAMP) return arr;
      break;
    case TypeRoot::kArray:
      if (id == arrow::Type::LIST) return arr;
      break;
    case TypeRoot::kMap:
      if (id == arrow::Type::MAP) return arr;
      break;
    case TypeRoot::kRow:
      if (id == arrow::Type::STRUCT && arr->type()->num_fields() ==
                                           static_cast<int>(type.fields.size())) {
        return arr;
      }
      break;
    case TypeRoot::kMultiset:
      return arrow::Status::NotImplemented("BinaryRow: MULTISET values are not supported");
    default:
      break;
  }
  if (MatchesExactly(*arr->type(), type)) return arr;
  std::shared_ptr<arrow::DataType> want = ToArrowType(type);
  if (arr->type()->Equals(*want)) return arr;
  if (type.IsNested()) {
    return arrow::Status::Invalid("BinaryRow: Arrow type ", arr->type()->ToString(),
                                  " does not match Paimon type ", type.ToString());
  }
  EnsureComputeInitialized();
  auto cast = arrow::compute::Cast(*arr, want);
  if (!cast.ok()) {
    return arrow::Status::Invalid("BinaryRow: cannot read Arrow ", arr->type()->ToString(),
                                  " as Paimon ", type.ToString(), ": ", cast.status().message());
  }
  return cast.MoveValueUnsafe();
}

// ------------------------------------------------------------------------------------------
// Encoding
// ------------------------------------------------------------------------------------------

Status EncodeRow(const std::vector<std::shared_ptr<arrow::Array>>& cols, int64_t row,
                 const std::vector<DataTypePtr>& types, std::string* out);
Status EncodeArray(const std::shared_ptr<arrow::Array>& values, int64_t begin, int64_t length,
                   const DataType& elem_type, std::string* out);

/// Appends `bytes` to the variable-length part of `buf` (8-byte aligned, zero padded) and
/// returns its offset.
int64_t AppendVar(std::string* buf, std::string_view bytes) {
  int64_t cursor = static_cast<int64_t>(buf->size());
  buf->append(bytes.data(), bytes.size());
  buf->resize(cursor + RoundToWord(static_cast<int64_t>(bytes.size())), '\0');
  return cursor;
}

void PutOffsetAndSize(std::string* buf, int64_t slot, int64_t offset, uint64_t size) {
  Put<uint64_t>(buf, slot, (static_cast<uint64_t>(offset) << 32) | size);
}

void WriteBytes(std::string* buf, int64_t slot, std::string_view bytes) {
  if (bytes.size() <= static_cast<size_t>(kMaxFixPartDataSize)) {
    // AbstractBinaryWriter.writeBytesToFixLenPart: data in the low bytes, 0x80|len in the top byte.
    uint64_t word = (static_cast<uint64_t>(0x80 | bytes.size())) << 56;
    for (size_t i = 0; i < bytes.size(); ++i) {
      word |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (i * 8);
    }
    Put<uint64_t>(buf, slot, word);
  } else {
    int64_t offset = AppendVar(buf, bytes);
    PutOffsetAndSize(buf, slot, offset, bytes.size());
  }
}

/// Big-endian two's-complement bytes of minimal length, as BigInteger.toByteArray().
std::string UnscaledBytes(const arrow::Decimal128& v) {
  uint8_t le[16];
  v.ToBytes(le);
  int n = 16;
  // Drop redundant sign-extension bytes.
  while (n > 1) {
    uint8_t top = le[n - 1];
    uint8_t next = le[n - 2];
    if ((top == 0x00 && (next & 0x80) == 0) || (top == 0xFF && (next & 0x80) != 0)) {
      --n;
    } else {
      break;
    }
  }
  std::string out(n, '\0');
  for (int i = 0; i < n; ++i) out[i] = static_cast<char>(le[n - 1 - i]);
  return out;
}

/// Epoch millis and nano-of-millisecond of a timestamp value in `unit`.
void SplitTimestamp(int64_t v, arrow::TimeUnit::type unit, int64_t* millis, int32_t* nano) {
  switch (unit) {
    case arrow::TimeUnit::SECOND:
      *millis = v * 1000;
      *nano = 0;
      return;
    case arrow::TimeUnit::MILLI:
      *millis = v;
      *nano = 0;
      return;
    case arrow::TimeUnit::MICRO: {
      int64_t rem = v % 1000;  // no v - millis * 1000: it can overflow near the int64 limits
      *millis = v / 1000 - (rem < 0 ? 1 : 0);
      *nano = static_cast<int32_t>((rem < 0 ? rem + 1000 : rem) * 1000);
      return;
    }
    case arrow::TimeUnit::NANO: {
      int64_t rem = v % 1000000;
      *millis = v / 1000000 - (rem < 0 ? 1 : 0);
      *nano = static_cast<int32_t>(rem < 0 ? rem + 1000000 : rem);
      return;
    }
  }
}

/// Writes the non-null value arr[i] into the slot at `slot` of `buf` (a row or an array whose
/// variable-length part is the end of `buf`).
Status EncodeValue(const std::shared_ptr<arrow::Array>& input, int64_t i, const DataType& type,
                   int64_t slot, std::string* buf) {
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Array> arr, Normalize(input, type));
  switch (type.root) {
    case TypeRoot::kBoolean:
      (*buf)[slot] = checked_cast<const arrow::BooleanArray&>(*arr).Value(i) ? 1 : 0;
      return Status::OK();
    case TypeRoot::kTinyInt:
      Put<int8_t>(buf, slot, checked_cast<const arrow::Int8Array&>(*arr).Value(i));
      return Status::OK();
    case TypeRoot::kSmallInt:
      Put<int16_t>(buf, slot, checked_cast<const arrow::Int16Array&>(*arr).Value(i));
      return Status::OK();
    case TypeRoot::kInt:
      Put<int32_t>(buf, slot, checked_cast<const arrow::Int32Array&>(*arr).Value(i));
      return Status::OK();
    case TypeRoot::kDate:
      Put<int32_t>(buf, slot, checked_cast<const arrow::Date32Array&>(*arr).Value(i));
      return Status::OK();
    case TypeRoot::kTime:
      Put<int32_t>(buf, slot, checked_cast<const arrow::Time32Array&>(*arr).Value(i));
      return Status::OK();
    case TypeRoot::kBigInt:
      Put<int64_t>(buf, slot, checked_cast<const arrow::Int64Array&>(*arr).Value(i));
      return Status::OK();
    case TypeRoot::kFloat:
      Put<float>(buf, slot, checked_cast<const arrow::FloatArray&>(*arr).Value(i));
      return Status::OK();
    case TypeRoot::kDouble:
      Put<double>(buf, slot, checked_cast<const arrow::DoubleArray&>(*arr).Value(i));
      return Status::OK();
    case TypeRoot::kDecimal: {
      arrow::Decimal128 v(checked_cast<const arrow::Decimal128Array&>(*arr).GetValue(i));
      if (IsCompactDecimal(type.precision)) {
        Put<int64_t>(buf, slot, static_cast<int64_t>(v.low_bits()));
        return Status::OK();
      }
      // Non-compact: 16 reserved bytes in the variable part, unscaled big-endian bytes.
      std::string bytes = UnscaledBytes(v);
      int64_t offset = static_cast<int64_t>(buf->size());
      buf->resize(offset + 16, '\0');
      std::memcpy(buf->data() + offset, bytes.data(), bytes.size());
      PutOffsetAndSize(buf, slot, offset, bytes.size());
      return Status::OK();
    }
    case TypeRoot::kChar:
    case TypeRoot::kVarChar:
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary:
    case TypeRoot::kBlob:
      WriteBytes(buf, slot, BinaryView(*arr, i));
      return Status::OK();
    case TypeRoot::kTimestamp:
    case TypeRoot::kLocalZonedTimestamp: {
      const auto& ts = checked_cast<const arrow::TimestampArray&>(*arr);
      const auto& ts_type = checked_cast<const arrow::TimestampType&>(*ts.type());
      int64_t millis = 0;
      int32_t nano = 0;
      SplitTimestamp(ts.Value(i), ts_type.unit(), &millis, &nano);
      if (IsCompactTimestamp(type.precision)) {
        Put<int64_t>(buf, slot, millis);
        return Status::OK();
      }
      int64_t offset = static_cast<int64_t>(buf->size());
      buf->resize(offset + 8, '\0');
      Put<int64_t>(buf, offset, millis);
      PutOffsetAndSize(buf, slot, offset, static_cast<uint32_t>(nano));
      return Status::OK();
    }
    case TypeRoot::kArray: {
      const auto& list = checked_cast<const arrow::ListArray&>(*arr);
      std::string nested;
      ARROW_RETURN_NOT_OK(EncodeArray(list.values(), list.value_offset(i), list.value_length(i),
                                      *type.element, &nested));
      PutOffsetAndSize(buf, slot, AppendVar(buf, nested), nested.size());
      return Status::OK();
    }
    case TypeRoot::kMap: {
      const auto& map = checked_cast<const arrow::MapArray&>(*arr);
      std::string keys, values;
      ARROW_RETURN_NOT_OK(
          EncodeArray(map.keys(), map.value_offset(i), map.value_length(i), *type.key, &keys));
      ARROW_RETURN_NOT_OK(EncodeArray(map.items(), map.value_offset(i), map.value_length(i),
                                      *type.value, &values));
      // BinaryMap.valueOf: 4-byte key-array size, key array, value array.
      std::string nested(4, '\0');
      Put<int32_t>(&nested, 0, static_cast<int32_t>(keys.size()));
      nested += keys;
      nested += values;
      PutOffsetAndSize(buf, slot, AppendVar(buf, nested), nested.size());
      return Status::OK();
    }
    case TypeRoot::kRow: {
      const auto& st = checked_cast<const arrow::StructArray&>(*arr);
      std::vector<DataTypePtr> field_types;
      for (const auto& f : type.fields) field_types.push_back(f.type);
      std::string nested;
      ARROW_RETURN_NOT_OK(EncodeRow(st.fields(), i, field_types, &nested));
      PutOffsetAndSize(buf, slot, AppendVar(buf, nested), nested.size());
      return Status::OK();
    }
    case TypeRoot::kMultiset:
      break;
  }
  return arrow::Status::NotImplemented("BinaryRow: type ", type.ToString(), " is not supported");
}

/// Encodes row `row` of `cols` as BinaryRow bytes (RowKind INSERT, no arity prefix).
Status EncodeRow(const std::vector<std::shared_ptr<arrow::Array>>& cols, int64_t row,
                 const std::vector<DataTypePtr>& types, std::string* out) {
  const int64_t arity = static_cast<int64_t>(types.size());
  const int null_bits = NullBitsSizeInBytes(arity);
  out->assign(null_bits + 8 * arity, '\0');
  for (int64_t f = 0; f < arity; ++f) {
    const DataType& type = *types[f];
    const int64_t slot = null_bits + 8 * f;
    const arrow::Array& col = *cols[f];
    // A struct child's validity does not include its parent's; the caller only passes valid rows.
    if (col.IsNull(row)) {
      int bit = static_cast<int>(f) + kHeaderSizeInBits;
      (*out)[bit / 8] = static_cast<char>((*out)[bit / 8] | (1 << (bit % 8)));
      // RowHelper/codegen: nulls of non-compact decimals and timestamps keep their var-part space.
      if (type.root == TypeRoot::kDecimal && !IsCompactDecimal(type.precision)) {
        int64_t offset = static_cast<int64_t>(out->size());
        out->resize(offset + 16, '\0');
        PutOffsetAndSize(out, slot, offset, 0);
      } else if (IsTimestamp(type) && !IsCompactTimestamp(type.precision)) {
        int64_t offset = static_cast<int64_t>(out->size());
        out->resize(offset + 8, '\0');
        PutOffsetAndSize(out, slot, offset, 0);
      }
      continue;
    }
    ARROW_RETURN_NOT_OK(EncodeValue(cols[f], row, type, slot, out));
  }
  return Status::OK();
}

/// Encodes values[begin, begin+length) as a BinaryArray (BinaryArrayWriter layout: 4-byte size,
/// null bits in 4-byte words, element slots, fixed part rounded to 8, then the variable part).
Status EncodeArray(const std::shared_ptr<arrow::Array>& values, int64_t begin, int64_t length,
                   const DataType& elem_type, std::string* out) {
  const int64_t header = 4 + ((length + 31) / 32) * 4;
  const int elem_size = ArrayElementSize(elem_type);
  out->assign(RoundToWord(header + elem_size * length), '\0');
  Put<int32_t>(out, 0, static_cast<int32_t>(length));
  for (int64_t j = 0; j < length; ++j) {
    if (values->IsNull(begin + j)) {
      (*out)[4 + j / 8] = static_cast<char>((*out)[4 + j / 8] | (1 << (j % 8)));
      continue;
    }
    ARROW_RETURN_NOT_OK(EncodeValue(values, begin + j, elem_type, header + elem_size * j, out));
  }
  return Status::OK();
}

std::string WithArityPrefix(int32_t arity, std::string_view row) {
  std::string out(4, '\0');
  uint32_t be = static_cast<uint32_t>(arity);
  out[0] = static_cast<char>(be >> 24);
  out[1] = static_cast<char>(be >> 16);
  out[2] = static_cast<char>(be >> 8);
  out[3] = static_cast<char>(be);
  out.append(row);
  return out;
}

// ------------------------------------------------------------------------------------------
// Decoding
// ------------------------------------------------------------------------------------------

Result<std::vector<std::shared_ptr<arrow::Scalar>>> DecodeRow(
    std::string_view row, int64_t arity, const std::vector<DataTypePtr>& types);

/// Reads the (offset, size) a slot points at and checks it lies inside `data`.
Result<std::string_view> VarPart(std::string_view data, uint64_t word, const char* what) {
  uint64_t offset = word >> 32;
  uint64_t size = word & 0xFFFFFFFFULL;
  if (offset > data.size() || size > data.size() - offset) {
    return arrow::Status::Invalid("BinaryRow: ", what, " at offset ", offset, " size ", size,
                                  " exceeds the ", data.size(), "-byte row");
  }
  return data.substr(offset, size);
}

Result<std::string_view> ReadBytes(std::string_view data, int64_t slot) {
  uint64_t word = Get<uint64_t>(data, slot);
  if (word & kHighestFirstBit) {
    size_t len = static_cast<size_t>((word & kHighestSecondToEighthBit) >> 56);
    if (len > static_cast<size_t>(kMaxFixPartDataSize)) {
      return arrow::Status::Invalid("BinaryRow: inline string length ", len, " > 7");
    }
    return data.substr(slot, len);
  }
  return VarPart(data, word, "string/binary");
}

Result<std::shared_ptr<arrow::Scalar>> DecodeArrayScalar(std::string_view bytes,
                                                         const DataType& elem_type,
                                                         std::shared_ptr<arrow::Array>* out_array);

Result<std::shared_ptr<arrow::Scalar>> DecodeValue(std::string_view data, int64_t slot,
                                                   int width, const DataType& type) {
  if (slot < 0 || slot + width > static_cast<int64_t>(data.size())) {
    return arrow::Status::Invalid("BinaryRow: field slot at ", slot, " exceeds the ", data.size(),
                                  "-byte row");
  }
  std::shared_ptr<arrow::DataType> arrow_type = ToArrowType(type);
  switch (type.root) {
    case TypeRoot::kBoolean:
      return std::make_shared<arrow::BooleanScalar>(data[slot] != 0);
    case TypeRoot::kTinyInt:
      return std::make_shared<arrow::Int8Scalar>(Get<int8_t>(data, slot));
    case TypeRoot::kSmallInt:
      return std::make_shared<arrow::Int16Scalar>(Get<int16_t>(data, slot));
    case TypeRoot::kInt:
      return std::make_shared<arrow::Int32Scalar>(Get<int32_t>(data, slot));
    case TypeRoot::kDate:
      return std::make_shared<arrow::Date32Scalar>(Get<int32_t>(data, slot));
    case TypeRoot::kTime:
      return std::make_shared<arrow::Time32Scalar>(Get<int32_t>(data, slot), arrow_type);
    case TypeRoot::kBigInt:
      return std::make_shared<arrow::Int64Scalar>(Get<int64_t>(data, slot));
    case TypeRoot::kFloat:
      return std::make_shared<arrow::FloatScalar>(Get<float>(data, slot));
    case TypeRoot::kDouble:
      return std::make_shared<arrow::DoubleScalar>(Get<double>(data, slot));
    case TypeRoot::kDecimal: {
      if (type.precision < 1 || type.precision > 38) {
        return arrow::Status::NotImplemented("BinaryRow: DECIMAL precision ", type.precision);
      }
      if (IsCompactDecimal(type.precision)) {
        return std::make_shared<arrow::Decimal128Scalar>(
            arrow::Decimal128(Get<int64_t>(data, slot)), arrow_type);
      }
      ARROW_ASSIGN_OR_RAISE(std::string_view be, VarPart(data, Get<uint64_t>(data, slot), "decimal"));
      if (be.empty() || be.size() > 16) {
        return arrow::Status::Invalid("BinaryRow: decimal of ", be.size(), " bytes");
      }
      uint8_t le[16];
      uint8_t sign = (static_cast<uint8_t>(be[0]) & 0x80) ? 0xFF : 0x00;
      std::memset(le, sign, sizeof(le));
      for (size_t k = 0; k < be.size(); ++k) le[k] = static_cast<uint8_t>(be[be.size() - 1 - k]);
      return std::make_shared<arrow::Decimal128Scalar>(arrow::Decimal128(le), arrow_type);
    }
    case TypeRoot::kChar:
    case TypeRoot::kVarChar: {
      ARROW_ASSIGN_OR_RAISE(std::string_view s, ReadBytes(data, slot));
      return std::make_shared<arrow::StringScalar>(std::string(s));
    }
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary:
    case TypeRoot::kBlob: {
      ARROW_ASSIGN_OR_RAISE(std::string_view s, ReadBytes(data, slot));
      return std::make_shared<arrow::BinaryScalar>(std::string(s));
    }
    case TypeRoot::kTimestamp:
    case TypeRoot::kLocalZonedTimestamp: {
      const auto unit = checked_cast<const arrow::TimestampType&>(*arrow_type).unit();
      int64_t millis;
      int64_t nano = 0;
      if (IsCompactTimestamp(type.precision)) {
        millis = Get<int64_t>(data, slot);
      } else {
        uint64_t word = Get<uint64_t>(data, slot);
        nano = static_cast<int32_t>(word & 0xFFFFFFFFULL);
        ARROW_ASSIGN_OR_RAISE(std::string_view ms,
                              VarPart(data, (word & ~0xFFFFFFFFULL) | 8, "timestamp"));
        millis = Get<int64_t>(ms, 0);
        if (nano < 0 || nano >= 1000000) {
          return arrow::Status::Invalid("BinaryRow: nano-of-millisecond ", nano, " out of range");
        }
      }
      __int128 wide = millis;
      if (unit == arrow::TimeUnit::MICRO) {
        wide = wide * 1000 + nano / 1000;
      } else if (unit == arrow::TimeUnit::NANO) {
        wide = wide * 1000000 + nano;
      }
      const int64_t value = static_cast<int64_t>(wide);
      if (wide != value) {
        return arrow::Status::Invalid("BinaryRow: timestamp ", millis,
                                      " ms does not fit Arrow's ", arrow_type->ToString());
      }
      return std::make_shared<arrow::TimestampScalar>(value, arrow_type);
    }
    case TypeRoot::kArray: {
      ARROW_ASSIGN_OR_RAISE(std::string_view bytes, VarPart(data, Get<uint64_t>(data, slot), "array"));
      std::shared_ptr<arrow::Array> values;
      ARROW_RETURN_NOT_OK(DecodeArrayScalar(bytes, *type.element, &values).status());
      return std::make_shared<arrow::ListScalar>(values, arrow_type);
    }
    case TypeRoot::kMap: {
      ARROW_ASSIGN_OR_RAISE(std::string_view bytes, VarPart(data, Get<uint64_t>(data, slot), "map"));
      if (bytes.size() < 4) return arrow::Status::Invalid("BinaryRow: map of ", bytes.size(), " bytes");
      int32_t key_bytes = Get<int32_t>(bytes, 0);
      if (key_bytes < 0 || static_cast<size_t>(key_bytes) > bytes.size() - 4) {
        return arrow::Status::Invalid("BinaryRow: map key array size ", key_bytes, " exceeds map");
      }
      std::shared_ptr<arrow::Array> keys, values;
      ARROW_RETURN_NOT_OK(DecodeArrayScalar(bytes.substr(4, key_bytes), *type.key, &keys).status());
      ARROW_RETURN_NOT_OK(
          DecodeArrayScalar(bytes.substr(4 + key_bytes), *type.value, &values).status());
      if (keys->length() != values->length() || keys->null_count() != 0) {
        return arrow::Status::Invalid("BinaryRow: map with ", keys->length(), " keys (",
                                      keys->null_count(), " null) and ", values->length(),
                                      " values");
      }
      const auto& map_type = checked_cast<const arrow::MapType&>(*arrow_type);
      ARROW_ASSIGN_OR_RAISE(auto entries,
                            arrow::StructArray::Make({keys, values},
                                                     {map_type.key_field(), map_type.item_field()}));
      return std::make_shared<arrow::MapScalar>(entries, arrow_type);
    }
    case TypeRoot::kRow: {
      ARROW_ASSIGN_OR_RAISE(std::string_view bytes, VarPart(data, Get<uint64_t>(data, slot), "row"));
      std::vector<DataTypePtr> field_types;
      for (const auto& f : type.fields) field_types.push_back(f.type);
      ARROW_ASSIGN_OR_RAISE(auto fields,
                            DecodeRow(bytes, static_cast<int64_t>(field_types.size()), field_types));
      return std::make_shared<arrow::StructScalar>(std::move(fields), arrow_type);
    }
    case TypeRoot::kMultiset:
      break;
  }
  return arrow::Status::NotImplemented("BinaryRow: type ", type.ToString(), " is not supported");
}

/// Decodes a BinaryArray into an Arrow array of ToArrowType(elem_type).
Result<std::shared_ptr<arrow::Scalar>> DecodeArrayScalar(std::string_view bytes,
                                                         const DataType& elem_type,
                                                         std::shared_ptr<arrow::Array>* out_array) {
  if (bytes.size() < 4) return arrow::Status::Invalid("BinaryRow: array of ", bytes.size(), " bytes");
  int32_t n = Get<int32_t>(bytes, 0);
  const int elem_size = ArrayElementSize(elem_type);
  if (n < 0 ||
      4 + ((static_cast<int64_t>(n) + 31) / 32) * 4 + static_cast<int64_t>(elem_size) * n >
          static_cast<int64_t>(bytes.size())) {
    return arrow::Status::Invalid("BinaryRow: array of ", n, " elements exceeds its ",
                                  bytes.size(), " bytes");
  }
  const int64_t header = 4 + ((static_cast<int64_t>(n) + 31) / 32) * 4;
  std::shared_ptr<arrow::DataType> arrow_type = ToArrowType(elem_type);
  ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::ArrayBuilder> builder, arrow::MakeBuilder(arrow_type));
  for (int64_t j = 0; j < n; ++j) {
    bool is_null = (static_cast<uint8_t>(bytes[4 + j / 8]) >> (j % 8)) & 1;
    if (is_null) {
      ARROW_RETURN_NOT_OK(builder->AppendNull());
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto scalar, DecodeValue(bytes, header + elem_size * j, elem_size, elem_type));
    ARROW_RETURN_NOT_OK(builder->AppendScalar(*scalar));
  }
  ARROW_ASSIGN_OR_RAISE(*out_array, builder->Finish());
  return std::shared_ptr<arrow::Scalar>();
}

Result<std::vector<std::shared_ptr<arrow::Scalar>>> DecodeRow(
    std::string_view row, int64_t arity, const std::vector<DataTypePtr>& types) {
  const int null_bits = NullBitsSizeInBytes(arity);
  if (static_cast<int64_t>(row.size()) < null_bits + 8 * arity) {
    return arrow::Status::Invalid("BinaryRow: ", row.size(), " bytes is shorter than the ",
                                  null_bits + 8 * arity, "-byte fixed part of arity ", arity);
  }
  std::vector<std::shared_ptr<arrow::Scalar>> out;
  out.reserve(types.size());
  for (size_t f = 0; f < types.size(); ++f) {
    const DataType& type = *types[f];
    const int bit = static_cast<int>(f) + kHeaderSizeInBits;
    if (static_cast<int64_t>(f) >= arity || ((static_cast<uint8_t>(row[bit / 8]) >> (bit % 8)) & 1)) {
      out.push_back(arrow::MakeNullScalar(ToArrowType(type)));
      continue;
    }
    auto value = DecodeValue(row, null_bits + 8 * static_cast<int64_t>(f), 8, type);
    if (!value.ok()) {
      return value.status().WithMessage(value.status().message(), " (field ", f, ", ",
                                        type.ToString(), ")");
    }
    out.push_back(value.MoveValueUnsafe());
  }
  return out;
}

int32_t MixK1(int32_t k1) {
  uint32_t k = static_cast<uint32_t>(k1) * 0xcc9e2d51U;
  k = std::rotl(k, 15);
  return static_cast<int32_t>(k * 0x1b873593U);
}
int32_t MixH1(int32_t h1, int32_t k1) {
  uint32_t h = static_cast<uint32_t>(h1) ^ static_cast<uint32_t>(k1);
  h = std::rotl(h, 13);
  return static_cast<int32_t>(h * 5 + 0xe6546b64U);
}
int32_t Fmix(int32_t h1, int32_t length) {
  uint32_t h = static_cast<uint32_t>(h1) ^ static_cast<uint32_t>(length);
  h ^= h >> 16;
  h *= 0x85ebca6bU;
  h ^= h >> 13;
  h *= 0xc2b2ae35U;
  h ^= h >> 16;
  return static_cast<int32_t>(h);
}

/// MurmurHashUtils.hashBytes with seed 42: 4-byte little-endian words, then single
/// (sign-extended) tail bytes, then the finalization mix with the length.
int32_t MurmurHashBytes(std::string_view bytes) {
  const int32_t len = static_cast<int32_t>(bytes.size());
  const int32_t aligned = len - len % 4;
  int32_t h1 = 42;
  for (int32_t i = 0; i < aligned; i += 4) h1 = MixH1(h1, MixK1(Get<int32_t>(bytes, i)));
  for (int32_t i = aligned; i < len; ++i) h1 = MixH1(h1, MixK1(static_cast<int8_t>(bytes[i])));
  return Fmix(h1, len);
}

}  // namespace

Result<std::string> SerializeBinaryRow(const std::vector<std::shared_ptr<arrow::Scalar>>& values,
                                       const std::vector<DataTypePtr>& types) {
  if (values.size() != types.size()) {
    return arrow::Status::Invalid("SerializeBinaryRow: ", values.size(), " values for ",
                                  types.size(), " types");
  }
  std::vector<std::shared_ptr<arrow::Array>> cols;
  cols.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (types[i] == nullptr) return arrow::Status::Invalid("SerializeBinaryRow: type ", i, " is null");
    std::shared_ptr<arrow::Array> col;
    if (values[i] == nullptr || !values[i]->is_valid) {
      ARROW_ASSIGN_OR_RAISE(col, arrow::MakeArrayOfNull(ToArrowType(*types[i]), 1));
    } else {
      ARROW_ASSIGN_OR_RAISE(col, arrow::MakeArrayFromScalar(*values[i], 1));
    }
    cols.push_back(std::move(col));
  }
  std::string row;
  ARROW_RETURN_NOT_OK(EncodeRow(cols, 0, types, &row));
  return WithArityPrefix(static_cast<int32_t>(types.size()), row);
}

Result<std::vector<std::shared_ptr<arrow::Scalar>>> DeserializeBinaryRow(
    std::string_view bytes, const std::vector<DataTypePtr>& types) {
  if (bytes.size() < 4) {
    return arrow::Status::Invalid("DeserializeBinaryRow: ", bytes.size(),
                                  " bytes, need at least the 4-byte arity");
  }
  const uint32_t arity = (static_cast<uint32_t>(static_cast<uint8_t>(bytes[0])) << 24) |
                         (static_cast<uint32_t>(static_cast<uint8_t>(bytes[1])) << 16) |
                         (static_cast<uint32_t>(static_cast<uint8_t>(bytes[2])) << 8) |
                         static_cast<uint32_t>(static_cast<uint8_t>(bytes[3]));
  if (arity > types.size()) {
    return arrow::Status::Invalid("DeserializeBinaryRow: row has arity ", arity, " but only ",
                                  types.size(), " field types were given");
  }
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] == nullptr) return arrow::Status::Invalid("DeserializeBinaryRow: type ", i, " is null");
  }
  return DecodeRow(bytes.substr(4), arity, types);
}

std::string EmptySerializedBinaryRow() { return WithArityPrefix(0, std::string(8, '\0')); }

int32_t BinaryRowHash(std::string_view serialized_row) {
  return MurmurHashBytes(serialized_row.size() >= 4 ? serialized_row.substr(4) : std::string_view());
}

int32_t BucketOf(std::string_view serialized_bucket_key_row, int32_t num_buckets) {
  if (num_buckets <= 0) return 0;
  int32_t r = BinaryRowHash(serialized_bucket_key_row) % num_buckets;
  return r < 0 ? -r : r;
}

Result<std::vector<int32_t>> ComputeBuckets(const arrow::RecordBatch& batch,
                                            const std::vector<int>& key_columns,
                                            const std::vector<DataTypePtr>& key_types,
                                            int32_t num_buckets) {
  if (key_columns.size() != key_types.size()) {
    return arrow::Status::Invalid("ComputeBuckets: ", key_columns.size(), " key columns but ",
                                  key_types.size(), " key types");
  }
  if (num_buckets <= 0) {
    return arrow::Status::Invalid("ComputeBuckets: bucket count ", num_buckets,
                                  " (fixed-bucket tables need bucket > 0)");
  }
  std::vector<std::shared_ptr<arrow::Array>> cols;
  for (size_t k = 0; k < key_columns.size(); ++k) {
    int c = key_columns[k];
    if (c < 0 || c >= batch.num_columns()) {
      return arrow::Status::Invalid("ComputeBuckets: key column index ", c, " outside the ",
                                    batch.num_columns(), "-column batch");
    }
    if (key_types[k] == nullptr) return arrow::Status::Invalid("ComputeBuckets: key type ", k, " is null");
    auto col = Normalize(batch.column(c), *key_types[k]);
    if (!col.ok()) {
      return col.status().WithMessage("ComputeBuckets: column ", batch.schema()->field(c)->name(),
                                      ": ", col.status().message());
    }
    cols.push_back(col.MoveValueUnsafe());
  }
  std::vector<int32_t> buckets(batch.num_rows());
  std::string row;
  for (int64_t r = 0; r < batch.num_rows(); ++r) {
    ARROW_RETURN_NOT_OK(EncodeRow(cols, r, key_types, &row));
    int32_t h = MurmurHashBytes(row) % num_buckets;
    buckets[r] = h < 0 ? -h : h;
  }
  return buckets;
}

}  // namespace millpond::paimon
